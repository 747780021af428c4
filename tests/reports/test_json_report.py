"""The JSON report: the whole log plus a summary computed from the check records."""

from __future__ import annotations

import json
from pathlib import Path

from reports import load_log, render_json
from tests.reports.records import (
    MIXED_UNEXPECTED,
    check_record,
    end_record,
    mixed_log,
    run_record,
    write_log,
)


def test_summary_counts_by_outcome_plan_and_requirement(tmp_path: Path) -> None:
    document = json.loads(render_json(load_log(mixed_log(tmp_path))))
    summary = document["extra"]["summary"]
    assert summary["total"] == 8
    assert summary["counts"] == {
        "passed": 2,
        "failed": 2,
        "warning": 1,
        "skipped": 1,
        "not_applicable": 1,
        "error": 1,
    }
    assert summary["by_plan"]["algorithm"]["passed"] == 1
    assert summary["by_plan"]["window"] == {
        "passed": 0,
        "failed": 1,
        "warning": 0,
        "skipped": 1,
        "not_applicable": 0,
        "error": 0,
    }
    assert summary["by_plan"]["replay"]["failed"] == 1
    # Step requirement ids count for the check too.
    assert summary["by_requirement"]["WIN-04"]["checks"] == ["window-fail"]
    assert summary["by_requirement"]["RPL-01"]["counts"]["failed"] == 1
    assert list(summary["by_requirement"])[:2] == ["ALG-01", "ALG-02"]
    assert summary["unexpected"] == MIXED_UNEXPECTED
    assert summary["expected_failures"] == ["replay-expected-fail"]
    assert summary["complete"] is True
    assert summary["verdict"] == "failed"
    assert summary["end_agrees"] is True
    assert summary["duration_seconds"] == 42.0


def test_document_holds_run_checks_and_end_in_a_stable_order(tmp_path: Path) -> None:
    log = load_log(mixed_log(tmp_path))
    text = render_json(log)
    assert text == render_json(load_log(log.path))
    document = json.loads(text)
    assert list(document) == ["reportFormat", "specVersion", "generatedBy", "results", "extra"]
    document = document["extra"]
    assert list(document) == [
        "report",
        "run",
        "targets",
        "measured",
        "declared",
        "checks",
        "end",
        "summary",
    ]
    assert document["run"]["variant"] == {"algorithm": "SHA1", "digits": 6, "period": 30}
    window = next(c for c in document["checks"] if c["id"] == "window-fail")
    assert window["charts"][0]["data"]["declared"] == {"back": 1, "forward": 1}
    assert [s["outcome"] for s in window["steps"]] == ["passed", "failed"]
    assert window["unexpected"] is True
    replay = next(c for c in document["checks"] if c["id"] == "replay-expected-fail")
    assert replay["attachments"][0]["path"] == "evidence/qr.png"
    assert replay["unexpected"] is False
    assert document["end"]["exit_status"] == 1
    assert text.startswith('{\n  "reportFormat": "CTRF",')


def test_interrupted_log_has_null_end_and_says_incomplete(tmp_path: Path) -> None:
    passed = check_record("a", "replay", "passed")
    document = json.loads(render_json(load_log(write_log(tmp_path, [run_record(), passed]))))
    document = document["extra"]
    assert document["end"] is None
    assert document["summary"]["complete"] is False
    assert document["summary"]["verdict"] == "interrupted"
    assert document["summary"]["end_agrees"] is None


def test_unexpected_is_computed_and_a_lying_end_record_is_flagged(tmp_path: Path) -> None:
    failed = check_record("a", "replay", "failed")
    path = write_log(tmp_path, [run_record(), failed, end_record([failed], [])])
    summary = json.loads(render_json(load_log(path)))["extra"]["summary"]
    assert summary["unexpected"] == ["a"]
    assert summary["end_agrees"] is False


def test_expected_outcome_rules(tmp_path: Path) -> None:
    expected = {"outcome": "failed", "comment": "why"}
    checks = [
        check_record("fail-as-expected", "p", "failed", expected=expected),
        check_record("passed-unexpectedly", "p", "passed", expected=expected),
        check_record("skipped-instead", "p", "skipped", expected=expected),
        check_record("plain-warning", "p", "warning"),
        check_record("plain-skip", "p", "skipped"),
        check_record("plain-error", "p", "error"),
    ]
    path = write_log(tmp_path, [run_record(plans=["p"]), *checks])
    summary = json.loads(render_json(load_log(path)))["extra"]["summary"]
    assert summary["unexpected"] == ["passed-unexpectedly", "skipped-instead", "plain-error"]


def test_verdict_passed_with_warnings(tmp_path: Path) -> None:
    checks = [check_record("a", "p", "passed"), check_record("b", "p", "warning")]
    path = write_log(tmp_path, [run_record(plans=["p"]), *checks, end_record(checks, [])])
    summary = json.loads(render_json(load_log(path)))["extra"]["summary"]
    assert summary["verdict"] == "passed_with_warnings"


def _strict(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def test_lone_surrogates_and_nan_still_give_valid_utf8_json(tmp_path: Path) -> None:
    check = check_record("a", "p", "passed")
    check["steps"][0]["evidence"] = {"body": "\ud800 broken", "ratio": float("nan")}
    path = tmp_path / "results.jsonl"
    # json.dumps writes "\ud800" and NaN, both of which Python's reader accepts.
    path.write_text(json.dumps(run_record()) + "\n" + json.dumps(check) + "\n", encoding="utf-8")
    text = render_json(load_log(path))
    text.encode("utf-8")  # would raise on a lone surrogate
    document = json.loads(text, parse_constant=_strict)
    evidence = document["extra"]["checks"][0]["steps"][0]["evidence"]
    assert evidence == {"body": "\\ud800 broken", "ratio": "NaN"}
