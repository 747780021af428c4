"""Logs of several targets: target and measured records, check keys, the summary by target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reports import ResultLogError, load_log, summarize
from reports.summary import case_names
from tests.reports.records import (
    FAILED_TO_START,
    MULTI_UNEXPECTED,
    PEER_DECLARED,
    PEER_MEASURED,
    PEER_SOURCES,
    REFERENCE_MEASURED,
    START_ERROR,
    check_record,
    embedded_description,
    end_record,
    measured_record,
    mixed_log,
    multi_run_record,
    multi_target_log,
    multi_target_records,
    run_record,
    target_checks,
    target_record,
    write_log,
)


def test_targets_come_in_run_order_with_their_descriptions_and_measurements(
    tmp_path: Path,
) -> None:
    log = load_log(multi_target_log(tmp_path))
    assert [t.name for t in log.targets] == ["embedded", "privacyidea", FAILED_TO_START]
    assert log.several_targets
    embedded, peer, broken = log.targets
    assert embedded.description is not None
    assert (embedded.description.kind, embedded.description.clock) == (
        "embedded",
        "/__harness__/clock",
    )
    assert peer.description is not None
    assert peer.description.title is not None
    assert peer.description.title.startswith("privacyIDEA 3.14")
    assert peer.description.options == {"timeWindow": 60}
    assert peer.description.capabilities == ("clock", "declared_policy", "verifier")
    assert peer.measured is not None
    assert peer.measured.measured == PEER_MEASURED
    assert peer.measured.declared == PEER_DECLARED
    assert peer.measured.sources == PEER_SOURCES
    assert peer.measured.line == 9
    assert (embedded.started, peer.started, broken.started) == (True, True, False)
    assert broken.description is not None
    assert broken.description.error == START_ERROR
    assert broken.measured is None
    assert log.run.target_names == ("embedded", "privacyidea", FAILED_TO_START)


def test_checks_name_their_target_and_are_keyed_target_check(tmp_path: Path) -> None:
    log = load_log(multi_target_log(tmp_path))
    assert [c.target for c in log.checks[:3]] == ["embedded", "embedded", "privacyidea"]
    assert [log.key(c) for c in log.checks][2:4] == [
        "privacyidea::window-measured-matches-declared",
        "privacyidea::replay-same-code-twice",
    ]
    assert [c.id for c in log.checks_of(FAILED_TO_START)] == [
        "window-measured-matches-declared",
        "replay-same-code-twice",
    ]


def test_one_target_keeps_plain_ids_even_when_checks_name_it(tmp_path: Path) -> None:
    checks = target_checks("embedded", {"replay-same-code-twice": "failed"})
    records = [
        multi_run_record(["embedded"]),
        target_record(embedded_description()),
        *checks,
        measured_record("embedded", REFERENCE_MEASURED, None),
        end_record(checks, ["replay-same-code-twice"]),
    ]
    log = load_log(write_log(tmp_path, records))
    assert not log.several_targets
    assert log.key(log.checks[0]) == "replay-same-code-twice"
    summary = summarize(log)
    assert summary.unexpected == ("replay-same-code-twice",)
    assert summary.end_agrees is True
    assert case_names(log) == ["replay-same-code-twice"]


def test_a_log_from_before_several_targets_has_one_target_from_the_run_record(
    tmp_path: Path,
) -> None:
    log = load_log(mixed_log(tmp_path))
    assert [t.name for t in log.targets] == ["embedded"]
    assert log.targets[0].description is log.run.target
    assert log.targets[0].started is True
    assert log.targets[0].measured is None
    assert log.checks[0].target is None
    assert log.target_of(log.checks[0]) == "embedded"
    assert log.key(log.checks[0]) == "alg-pass"
    remote = run_record(target={"kind": "remote", "url": "http://10.0.0.5:5000", "harness": True})
    old = load_log(write_log(tmp_path, [remote], "remote.jsonl"))
    assert [t.name for t in old.targets] == ["http://10.0.0.5:5000"]  # as the runner names it


def test_an_interrupted_run_lists_the_targets_it_never_reached(tmp_path: Path) -> None:
    records = multi_target_records(complete=False)
    # Stop inside the peer's checks: no measured record for it, nothing of pam-oath.
    cut = next(i for i, r in enumerate(records) if r.get("target") == "privacyidea")
    log = load_log(write_log(tmp_path, records[: cut + 1]))
    assert not log.complete
    assert [t.name for t in log.targets] == ["embedded", "privacyidea", FAILED_TO_START]
    assert [t.started for t in log.targets] == [True, True, None]
    assert log.targets[1].measured is None
    assert log.targets[2].description is None
    summary = summarize(log)
    assert summary.verdict == "failed"  # the peer's first check failed unexpectedly
    assert summary.by_target[FAILED_TO_START]["error"] == 0
    assert summary.end_agrees is None


def test_summary_keys_unexpected_results_like_the_end_record(tmp_path: Path) -> None:
    summary = summarize(load_log(multi_target_log(tmp_path)))
    assert list(summary.unexpected) == MULTI_UNEXPECTED
    assert summary.end_agrees is True
    assert summary.by_target["embedded"]["passed"] == 2
    assert summary.by_target["privacyidea"]["failed"] == 2
    assert summary.by_target[FAILED_TO_START]["error"] == 2
    assert summary.counts["error"] == 2
    assert summary.by_requirement["RPL-01"].checks[:2] == (
        "embedded::window-measured-matches-declared",
        "embedded::replay-same-code-twice",
    )


def test_an_end_record_with_plain_ids_for_several_targets_disagrees(tmp_path: Path) -> None:
    records = multi_target_records()
    records[-1]["unexpected"] = [key.split("::")[1] for key in MULTI_UNEXPECTED]
    summary = summarize(load_log(write_log(tmp_path, records)))
    assert summary.end_agrees is False


def test_case_names_are_unique_across_targets_and_variants(tmp_path: Path) -> None:
    checks = [
        check_record("alg-digits", "algorithm", "passed", target="embedded", variant={"digits": 6}),
        check_record("alg-digits", "algorithm", "passed", target="embedded", variant={"digits": 8}),
        check_record("alg-digits", "algorithm", "passed", target="peer", variant={"digits": 6}),
        check_record("alg-other", "algorithm", "passed", target="peer"),
    ]
    log = load_log(write_log(tmp_path, [multi_run_record(["embedded", "peer"]), *checks]))
    assert case_names(log) == [
        "embedded::alg-digits [digits=6]",
        "embedded::alg-digits [digits=8]",
        "peer::alg-digits",
        "peer::alg-other",
    ]


def _log_with(tmp_path: Path, *extra: dict[str, Any]) -> Path:
    return write_log(tmp_path, [multi_run_record(["embedded", "peer"]), *extra])


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (
            check_record("a", "window", "passed", target="elsewhere"),
            "a 'check' record names target 'elsewhere', which the run record does not list",
        ),
        (
            check_record("a", "window", "passed"),
            "a 'check' record without 'target' in a run of several targets",
        ),
        (
            target_record({"name": "ghost", "kind": "peer"}),
            "a 'target' record names target 'ghost'",
        ),
        ({"record": "target", "kind": "peer"}, "a 'target' record: field 'name' is missing"),
        (
            target_record({"name": "peer", "capabilities": "clock"}),
            "field 'capabilities' must be a list",
        ),
        (
            {**measured_record("peer", {}, None), "real_time": "no"},
            "field 'real_time' must be true or false",
        ),
        (
            measured_record("peer", {}, None, sources={"window": 3}),  # type: ignore[dict-item]
            "field 'sources.window' must be a string",
        ),
        ({**measured_record("peer", {}, None), "measured": [1]}, "'measured' must be an object"),
        (measured_record("ghost", {}, None), "a 'measured' record names target 'ghost'"),
    ],
)
def test_bad_target_and_measured_records_name_the_line_and_the_problem(
    tmp_path: Path, record: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ResultLogError) as info:
        load_log(_log_with(tmp_path, record))
    assert info.value.line == 2
    assert problem in str(info.value)


def test_a_target_or_its_measurements_twice_is_an_error(tmp_path: Path) -> None:
    twice = target_record({"name": "peer", "kind": "peer"})
    with pytest.raises(ResultLogError, match="line 3: a second 'target' record for 'peer'"):
        load_log(_log_with(tmp_path, twice, twice))
    measured = measured_record("peer", {}, None)
    with pytest.raises(ResultLogError, match="line 3: a second 'measured' record for 'peer'"):
        load_log(_log_with(tmp_path, measured, measured))


def test_targets_listed_twice_or_after_the_end_are_errors(tmp_path: Path) -> None:
    path = write_log(tmp_path, [multi_run_record(["peer", "peer"])])
    with pytest.raises(ResultLogError, match="line 1: field 'targets' lists 'peer' twice"):
        load_log(path)
    late = _log_with(tmp_path, end_record([], []), measured_record("peer", {}, None))
    with pytest.raises(ResultLogError, match="line 3: a 'measured' record after the 'end'"):
        load_log(late)


def test_unknown_fields_of_target_and_measured_records_are_ignored(tmp_path: Path) -> None:
    path = _log_with(
        tmp_path,
        target_record({"name": "peer", "kind": "peer", "firmware": {"v": 2}}),
        {**measured_record("peer", {"window": {"back": 1}}, None), "new_field": True},
        {"record": "target-heartbeat", "name": "peer"},
    )
    log = load_log(path)
    peer = log.targets[1]
    assert peer.description is not None
    assert peer.description.kind == "peer"
    assert peer.measured is not None
    assert peer.measured.measured == {"window": {"back": 1}}
    assert log.targets[0].started is None  # listed, never described


def test_a_target_that_could_not_start_is_described_as_such(tmp_path: Path) -> None:
    log = load_log(multi_target_log(tmp_path))
    broken = log.targets[2].description
    assert broken is not None
    assert broken.describe() == f"{FAILED_TO_START} (could not be started)"
    peer = log.targets[1].description
    assert peer is not None
    assert peer.describe() == "privacyidea: peer http://127.0.0.1:5001"
