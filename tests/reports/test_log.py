"""Reading result logs: typed records, tolerance for growth, precise errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports import ResultLogError, load_log
from tests.reports.records import (
    COMMIT,
    POLICY,
    RUN_ID,
    SEED,
    check_record,
    end_record,
    mixed_log,
    run_record,
    write_log,
)


def test_loads_every_record_typed(tmp_path: Path) -> None:
    log = load_log(mixed_log(tmp_path))
    assert log.complete
    assert log.run.command == "run"
    assert log.run.target.url == "http://127.0.0.1:43121"
    assert log.run.target.harness is True
    assert log.run.variant == {"algorithm": "SHA1", "digits": 6, "period": 30}
    assert [c.id for c in log.checks][:3] == ["alg-pass", "alg-warn", "alg-na"]
    fail = next(c for c in log.checks if c.id == "window-fail")
    assert [s.outcome for s in fail.steps] == ["passed", "failed"]
    assert fail.all_requirements == ("WIN-02", "WIN-04")
    assert fail.charts[0].kind == "window"
    assert fail.line == 5
    expected = next(c for c in log.checks if c.id == "replay-expected-fail")
    assert expected.expected is not None
    assert expected.expected.comment == "known bug #42"
    assert log.end is not None
    assert log.end.exit_status == 1


def test_provenance_fields_are_read(tmp_path: Path) -> None:
    run = load_log(mixed_log(tmp_path)).run
    assert (run.run_id, run.git_commit, run.git_dirty) == (RUN_ID, COMMIT, False)
    assert (run.policy, run.seed) == (POLICY, SEED)
    assert run.target.describe() == "embedded http://127.0.0.1:43121 (harness mode)"


def test_a_log_from_before_the_provenance_fields_still_loads(tmp_path: Path) -> None:
    old = run_record()
    for key in ("run_id", "git_commit", "git_dirty", "policy", "seed"):
        del old[key]
    run = load_log(write_log(tmp_path, [old])).run
    assert (run.run_id, run.git_commit, run.git_dirty, run.policy, run.seed) == (None,) * 5


def test_unknown_fields_and_record_kinds_are_ignored(tmp_path: Path) -> None:
    check = check_record("a", "replay", "passed", brand_new_field={"x": 1})
    check["steps"][0]["also_new"] = True
    records = [run_record(extra="yes"), {"record": "heartbeat", "at": 1.0}, check]
    log = load_log(write_log(tmp_path, [*records, end_record([check], [])]))
    assert [c.id for c in log.checks] == ["a"]
    assert log.complete


def test_log_without_end_is_interrupted(tmp_path: Path) -> None:
    log = load_log(mixed_log(tmp_path, complete=False))
    assert not log.complete
    assert log.end is None
    assert len(log.checks) == 8


def test_a_last_line_cut_off_mid_write_is_left_out(tmp_path: Path) -> None:
    path = mixed_log(tmp_path, complete=False)
    with path.open("a", encoding="utf-8") as f:
        f.write('{"record": "check", "id": "half-writ')
    log = load_log(path)
    assert log.truncated_tail
    assert len(log.checks) == 8


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = mixed_log(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = "{not json\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ResultLogError, match=r"results\.jsonl line 4: not JSON") as info:
        load_log(path)
    assert info.value.line == 4
    assert info.value.path == path


def test_cut_off_line_in_a_complete_log_is_an_error(tmp_path: Path) -> None:
    # Only an interrupted writer leaves half a line; after an end record it is corruption.
    path = mixed_log(tmp_path)
    with path.open("a", encoding="utf-8") as f:
        f.write('{"record": "chec')
    with pytest.raises(ResultLogError, match="line 11"):
        load_log(path)


def _without(record: dict[str, object], key: str) -> dict[str, object]:
    return {k: v for k, v in record.items() if k != key}


_CHECK = check_record("x", "p", "passed")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (
            {**_CHECK, "outcome": "great"},
            "a 'check' record: field 'outcome' is 'great', expected 'passed', 'failed',",
        ),
        ({**_CHECK, "id": 7}, "a 'check' record: field 'id' must be a string"),
        (_without(_CHECK, "id"), "a 'check' record: field 'id' is missing"),
        (_without(_CHECK, "steps"), "field 'steps' is missing"),
        ({**_CHECK, "steps": [3]}, "field 'steps[1]' must be an object"),
        (
            {**_CHECK, "steps": [{**_CHECK["steps"][0], "outcome": "not_applicable"}]},  # type: ignore[dict-item]
            "field 'steps[1].outcome': a step is never not_applicable",
        ),
        ({**_CHECK, "requirements": "A"}, "field 'requirements' must be a list"),
        ({**_CHECK, "requirements": ["A", 1]}, "field 'requirements[2]' must be a string"),
        (["not", "an", "object"], "not a JSON object"),
        ({"no_record_field": 1}, "no 'record' field"),
        ({"record": "run", "command": "run", "started_at": 1.0}, "a second 'run' record"),
        ({**_CHECK, "started_at": "soon"}, "field 'started_at' must be a number"),
        ({**_CHECK, "duration_ms": 1e999}, "field 'duration_ms' must be a finite number"),
        ({**_CHECK, "variant": "SHA1"}, "field 'variant' must be an object"),
        ({**_CHECK, "severity": "fatal"}, "field 'severity' is 'fatal', expected 'error' or"),
        (
            {**end_record([], []), "counts": {"passed": 1.5}},
            "an 'end' record: field 'counts.passed' must be an integer",
        ),
        (_without(end_record([], []), "finished_at"), "field 'finished_at' is missing"),
    ],
)
def test_bad_records_name_the_line_and_the_problem(
    tmp_path: Path, record: object, problem: str
) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(run_record()) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(ResultLogError) as info:
        load_log(path)
    assert info.value.line == 2
    assert problem in str(info.value)


def test_first_record_must_be_run(tmp_path: Path) -> None:
    path = write_log(tmp_path, [check_record("a", "p", "passed")])
    with pytest.raises(ResultLogError, match="line 1: the first record must be a 'run'"):
        load_log(path)


def test_check_after_end_is_an_error(tmp_path: Path) -> None:
    check = check_record("a", "p", "passed")
    path = write_log(tmp_path, [run_record(), end_record([], []), check])
    with pytest.raises(ResultLogError, match="line 3: a 'check' record after the 'end'"):
        load_log(path)


def test_missing_empty_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ResultLogError, match="no such file"):
        load_log(tmp_path / "absent.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ResultLogError, match="no 'run' record"):
        load_log(empty)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(run_record()).encode() + b'\n{"record": "caf\xe9"}\n')
    with pytest.raises(ResultLogError, match="line 2: not UTF-8"):
        load_log(latin)
