"""JUnit XML: counts a JUnit consumer reads, and CI failing only on unexpected results."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from reports import load_log, render_junit
from tests.reports.records import (
    COMMIT,
    HOSTILE,
    RUN_ID,
    check_record,
    end_record,
    mixed_log,
    run_record,
    step,
    write_log,
)


def _parse(text: str) -> ET.Element:
    # Parsing our own output, as a CI server would; nothing untrusted is parsed here.
    return ET.fromstring(text)  # noqa: S314


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in root.iter("testcase")}


def test_suites_cases_and_counts(tmp_path: Path) -> None:
    root = _parse(render_junit(load_log(mixed_log(tmp_path))))
    assert root.tag == "testsuites"
    # 8 checks: window-fail and replay-expected-fail-but-passed fail, replay-error errors,
    # skipped and not_applicable skip; the expected failure and the warning pass.
    assert {k: root.attrib[k] for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "8",
        "failures": "2",
        "errors": "1",
        "skipped": "2",
    }
    suites = {s.attrib["name"]: s for s in root.iter("testsuite")}
    assert list(suites) == ["algorithm", "window", "replay"]
    assert suites["window"].attrib["tests"] == "2"
    assert suites["window"].attrib["failures"] == "1"
    assert suites["window"].attrib["skipped"] == "1"
    assert suites["replay"].attrib["errors"] == "1"
    for suite in suites.values():
        cases = suite.findall("testcase")
        assert int(suite.attrib["tests"]) == len(cases)
        assert int(suite.attrib["failures"]) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.attrib["skipped"]) == sum(c.find("skipped") is not None for c in cases)
    case = _cases(root)["window-fail"]
    assert case.attrib["classname"] == "twofa.window"
    assert case.attrib["time"] == "0.250"


def test_outcome_mapping(tmp_path: Path) -> None:
    cases = _cases(_parse(render_junit(load_log(mixed_log(tmp_path)))))
    failure = cases["window-fail"].find("failure")
    assert failure is not None
    assert failure.attrib["message"] == "reason for window-fail"
    assert "step 2 failed: Step 2 [WIN-04]" in (failure.text or "")
    assert "step +2 accepted" in (failure.text or "")
    assert "Step 1" not in (failure.text or "")  # only the failing steps
    error = cases["replay-error"].find("error")
    assert error is not None
    assert cases["replay-error"].find("failure") is None
    skipped = cases["alg-na"].find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"].startswith("not applicable: ")
    assert cases["window-skip"].find("skipped") is not None
    warning = cases["alg-warn"]
    assert [child.tag for child in warning] == ["properties", "system-out"]
    assert "warning: reason for alg-warn" in (warning.findtext("system-out") or "")


def test_expected_failure_that_failed_is_a_pass_with_a_note(tmp_path: Path) -> None:
    case = _cases(_parse(render_junit(load_log(mixed_log(tmp_path)))))["replay-expected-fail"]
    assert case.find("failure") is None
    assert case.find("error") is None
    assert case.find("skipped") is None
    out = case.findtext("system-out") or ""
    assert "known bug #42" in out
    assert "as expected" in out


def test_expected_failure_that_passed_is_a_failure(tmp_path: Path) -> None:
    case = _cases(_parse(render_junit(load_log(mixed_log(tmp_path)))))[
        "replay-expected-fail-but-passed"
    ]
    failure = case.find("failure")
    assert failure is not None
    assert failure.attrib["message"] == "expected to fail but passed: guard not shipped yet"


def test_requirements_are_properties(tmp_path: Path) -> None:
    case = _cases(_parse(render_junit(load_log(mixed_log(tmp_path)))))["window-fail"]
    reqs = [p.attrib["value"] for p in case.iter("property") if p.attrib["name"] == "requirement"]
    assert reqs == ["WIN-02", "WIN-04"]


def test_hostile_text_and_control_characters_stay_valid_xml(tmp_path: Path) -> None:
    nasty = HOSTILE + ' "quoted" & \x00\x1b]0;title\x07 \ud800 ]]>'
    check = check_record(
        "nasty", "replay", "failed", reason=nasty, steps=[step(1, "failed", message=nasty)]
    )
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(run_record()) + "\n" + json.dumps(check) + "\n", encoding="utf-8")
    text = render_junit(load_log(path))
    text.encode("utf-8")
    case = _cases(_parse(text))["nasty"]
    failure = case.find("failure")
    assert failure is not None
    assert failure.attrib["message"].startswith(HOSTILE + ' "quoted" & \\u0000\\u001b]0;title')
    assert "\\ud800 ]]>" in (failure.text or "")


def test_interrupted_run_is_an_error_case(tmp_path: Path) -> None:
    passed = check_record("a", "replay", "passed")
    root = _parse(render_junit(load_log(write_log(tmp_path, [run_record(), passed]))))
    assert root.attrib["errors"] == "1"
    assert root.attrib["tests"] == "2"
    error = _cases(root)["run-complete"].find("error")
    assert error is not None
    assert "interrupted" in error.attrib["message"]


def test_a_clean_run_has_no_failures(tmp_path: Path) -> None:
    checks = [check_record("a", "replay", "passed"), check_record("b", "replay", "warning")]
    path = write_log(tmp_path, [run_record(plans=["replay"]), *checks, end_record(checks, [])])
    root = _parse(render_junit(load_log(path)))
    assert (root.attrib["failures"], root.attrib["errors"], root.attrib["tests"]) == ("0", "0", "2")


def test_one_test_case_per_check_and_variant(tmp_path: Path) -> None:
    checks = [
        check_record("alg-digits", "algorithm", "passed", variant={"digits": 6}),
        check_record("alg-digits", "algorithm", "failed", variant={"digits": 8}),
        check_record("alg-other", "algorithm", "passed"),
    ]
    records = [run_record(), *checks, end_record(checks, ["alg-digits"])]
    root = _parse(render_junit(load_log(write_log(tmp_path, records))))
    cases = _cases(root)
    assert list(cases) == ["alg-digits [digits=6]", "alg-digits [digits=8]", "alg-other"]
    assert cases["alg-digits [digits=8]"].find("failure") is not None
    props = {
        p.attrib["name"]: p.attrib["value"] for p in cases["alg-digits [digits=8]"].iter("property")
    }
    assert (props["check"], props["variant.digits"]) == ("alg-digits", "8")


def test_suites_carry_the_run_id_and_git_commit(tmp_path: Path) -> None:
    root = _parse(render_junit(load_log(mixed_log(tmp_path))))
    suite = next(root.iter("testsuite"))
    props = {p.attrib["name"]: p.attrib["value"] for p in suite.find("properties") or []}
    assert props["run_id"] == RUN_ID
    assert props["git_commit"] == COMMIT
