"""report.json is a CTRF document and validates against docs/report.schema.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reports import load_log, render_json
from tests.reports.records import (
    COMMIT,
    RUN_ID,
    T0,
    check_record,
    mixed_log,
    run_record,
    write_log,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "docs" / "report.schema.json"
SAMPLE = Path(__file__).parent / "data" / "sample-results.jsonl"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def _document(path: Path) -> dict[str, Any]:
    return json.loads(render_json(load_log(path)))  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["mixed", "interrupted", "sample", "old-log", "empty"])
def test_rendered_reports_validate_against_the_schema(
    validator: jsonschema.protocols.Validator, tmp_path: Path, kind: str
) -> None:
    if kind == "mixed":
        path = mixed_log(tmp_path)
    elif kind == "interrupted":
        path = mixed_log(tmp_path, complete=False)
    elif kind == "sample":
        path = SAMPLE
    elif kind == "old-log":  # written before the provenance fields existed
        old = run_record()
        for key in ("run_id", "git_commit", "git_dirty", "policy", "seed"):
            del old[key]
        path = write_log(tmp_path, [old, check_record("a", "p", "passed")])
    else:
        path = write_log(tmp_path, [run_record(plans=[])])
    assert _errors(validator, _document(path)) == []


def test_the_schema_is_strict_enough_to_catch_mistakes(
    validator: jsonschema.protocols.Validator, tmp_path: Path
) -> None:
    good = _document(mixed_log(tmp_path))
    broken = []
    missing_start = copy.deepcopy(good)
    del missing_start["results"]["summary"]["start"]
    broken.append(missing_start)
    status = copy.deepcopy(good)
    status["results"]["tests"][0]["status"] = "error"  # not a CTRF status
    broken.append(status)
    stray = copy.deepcopy(good)
    stray["summary"] = {}  # CTRF allows no other top-level keys
    broken.append(stray)
    float_ms = copy.deepcopy(good)
    float_ms["results"]["tests"][0]["duration"] = 250.5
    broken.append(float_ms)
    outcome = copy.deepcopy(good)
    outcome["extra"]["checks"][0]["outcome"] = "great"
    broken.append(outcome)
    for document in broken:
        assert _errors(validator, document), document


def test_ctrf_summary_and_tests_map_the_outcomes(tmp_path: Path) -> None:
    document = _document(mixed_log(tmp_path))
    assert document["reportFormat"] == "CTRF"
    assert document["generatedBy"] == "twofa-harness 0.1.0"
    results = document["results"]
    assert results["tool"] == {"name": "twofa-harness", "version": "0.1.0"}
    # passed 2, failed 2 + error 1, warning is "other", skipped + not_applicable are "skipped".
    assert results["summary"] == {
        "tests": 8,
        "passed": 2,
        "failed": 3,
        "skipped": 2,
        "pending": 0,
        "other": 1,
        "suites": 3,
        "start": int(T0 * 1000),
        "stop": int((T0 + 42) * 1000),
        "duration": 42_000,
    }
    tests = {t["name"]: t for t in results["tests"]}
    assert list(tests) == [c["id"] for c in document["extra"]["checks"]]
    error = tests["replay-error"]
    assert (error["status"], error["rawStatus"], error["labels"]["unexpected"]) == (
        "failed",
        "error",
        True,
    )
    expected = tests["replay-expected-fail"]
    assert expected["status"] == "failed"
    assert expected["labels"] == {
        "check": "replay-expected-fail",
        # The log names no target (written before several targets): the run record's one.
        "target": "embedded",
        "plan": "replay",
        "severity": "error",
        "unexpected": False,
        "expected": "failed",
    }
    assert expected["attachments"][0] == {
        "name": "QR code",
        "contentType": "image/png",
        "path": "evidence/qr.png",
    }
    window = tests["window-fail"]
    assert window["tags"] == ["WIN-02", "WIN-04"]
    assert window["suite"] == ["window"]
    assert (window["start"], window["duration"], window["stop"]) == (
        int((T0 + 1) * 1000),
        250,
        int((T0 + 1) * 1000) + 250,
    )
    assert window["message"] == "reason for window-fail"
    assert [s["status"] for s in window["steps"]] == ["passed", "failed"]
    assert window["parameters"] == {"algorithm": "SHA1", "digits": 6, "period": 30}
    assert results["environment"]["commit"] == COMMIT
    assert results["environment"]["reportName"] == f"twofa-harness run {RUN_ID}"
    assert results["environment"]["healthy"] is False


def test_an_interrupted_run_stops_at_its_last_check(tmp_path: Path) -> None:
    summary = _document(mixed_log(tmp_path, complete=False))["results"]["summary"]
    assert summary["stop"] == int((T0 + 1.25) * 1000)  # last check: started T0+1, took 250 ms


def test_a_check_run_per_variant_is_one_test_each(tmp_path: Path) -> None:
    checks = [
        check_record("alg-digits", "algorithm", "passed", variant={"digits": 6}),
        check_record("alg-digits", "algorithm", "failed", variant={"digits": 8}),
    ]
    document = _document(write_log(tmp_path, [run_record(plans=["algorithm"]), *checks]))
    names = [t["name"] for t in document["results"]["tests"]]
    assert names == ["alg-digits [digits=6]", "alg-digits [digits=8]"]
    assert [t["parameters"] for t in document["results"]["tests"]] == [
        {"digits": 6},
        {"digits": 8},
    ]
