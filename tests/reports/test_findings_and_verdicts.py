"""Finding records and matrix-verdict expectations (check-authenticator) in every report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reports import ResultLogError, load_log, render_html, render_json, render_junit, summarize
from reports.markdown import render_markdown
from tests.reports.records import HOSTILE, check_record, end_record, run_record, write_log

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())


def case(case_id: str, verdict: str, expected: dict[str, Any] | None = None) -> dict[str, Any]:
    outcome = "passed" if verdict == "compatible" else "failed"
    return check_record(
        case_id,
        "algorithm",
        outcome,
        matrix=[{"parameter": "algorithm", "value": case_id, "verdict": verdict}],
        expected=expected,
    )


def finding(text: str, severity: str = "error", checks: list[str] | None = None) -> dict[str, Any]:
    return {
        "record": "finding",
        "severity": severity,
        "text": text,
        "checks": checks or [],
        "count": len(checks or []),
    }


def vendor_log(tmp_path: Path, checks: list[dict[str, Any]], found: list[dict[str, Any]]) -> Path:
    unexpected = [c["id"] for c in checks if c["outcome"] == "failed" and not c["expected"]]
    records = [run_record(command="check-authenticator"), *checks, *found]
    return write_log(tmp_path, [*records, end_record(checks, unexpected)])


def test_findings_are_read_and_shown_in_every_report(tmp_path: Path) -> None:
    sentence = "SHA256 accepted but codes computed with SHA1: servers will lock users out."
    checks = [case("sha1", "compatible"), case("sha256", "silently_wrong")]
    log = load_log(
        vendor_log(
            tmp_path, checks, [finding(sentence, checks=["sha256"]), finding(HOSTILE, "info")]
        )
    )
    assert [f.text for f in log.findings] == [sentence, HOSTILE]
    assert log.findings[0].checks == ("sha256",)
    html = render_html(log)
    assert sentence in html
    assert HOSTILE not in html
    assert "href='#" in html.split("id='findings'")[1].split("</ul>")[0]
    markdown = render_markdown(log)
    assert "### Findings" in markdown
    assert sentence in markdown
    assert "### Compatibility matrix" in markdown
    assert "`sha256` \u2717 silently wrong" in markdown
    document = json.loads(render_json(log))
    jsonschema.validate(document, SCHEMA)
    assert document["extra"]["findings"][0] == {
        "severity": "error",
        "text": sentence,
        "checks": ["sha256"],
        "count": 1,
    }


def test_a_log_without_findings_has_no_findings_key(tmp_path: Path) -> None:
    log = load_log(vendor_log(tmp_path, [case("sha1", "compatible")], []))
    assert "findings" not in json.loads(render_json(log))["extra"]
    assert "id='findings'" not in render_html(log)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"record": "finding", "severity": "fatal", "text": "x"}, "severity"),
        ({"record": "finding", "severity": "error"}, "text"),
        ({"record": "finding", "severity": "error", "text": "x", "checks": "a"}, "checks"),
    ],
)
def test_a_malformed_finding_names_its_line(
    tmp_path: Path, record: dict[str, Any], problem: str
) -> None:
    path = write_log(tmp_path, [run_record(), record])
    with pytest.raises(ResultLogError, match=f"line 2: .*{problem}"):
        load_log(path)


def test_an_expected_verdict_is_met_only_by_that_verdict(tmp_path: Path) -> None:
    refused = {"outcome": "failed", "comment": "SHA512 is not offered", "verdict": "refused"}
    checks = [
        case("as-expected", "refused", refused),
        case("wrong-kind", "silently_wrong", refused),
    ]
    log = load_log(vendor_log(tmp_path, checks, []))
    summary = summarize(log)
    assert summary.unexpected == ("wrong-kind",)
    assert summary.expected_failures == ("as-expected",)
    junit = ET.fromstring(render_junit(log))  # noqa: S314 - our own output
    failures = {c.get("name"): c.find("failure") for c in junit.iter("testcase")}
    assert failures["as-expected"] is None
    wrong = failures["wrong-kind"]
    assert wrong is not None
    assert wrong.get("message", "").startswith("expected refused but silently wrong")
    document = json.loads(render_json(log))
    jsonschema.validate(document, SCHEMA)
    by_id = {c["id"]: c for c in document["extra"]["checks"]}
    assert by_id["wrong-kind"]["expected"]["verdict"] == "refused"
    assert by_id["wrong-kind"]["unexpected"] is True
    assert by_id["as-expected"]["expected_failure"] is True
