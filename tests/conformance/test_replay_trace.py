"""``twofa replay --trace``: a recording replays identically, a mutant differs, bad ones exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance.cli import main
from conformance.replay import shipped_scenarios
from conformance.target import EmbeddedTarget


def replay(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["replay", *args])
    return int(exited.value.code or 0)


@pytest.fixture(scope="module")
def reference() -> Iterator[EmbeddedTarget]:
    with EmbeddedTarget() as target:
        yield target


@pytest.fixture(scope="module")
def recording(reference: EmbeddedTarget, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trace of two shipped scenarios against the reference server."""
    out = tmp_path_factory.mktemp("recording")
    stories = [
        p
        for p in shipped_scenarios()
        if p.stem in ("lost-phone-reenrollment", "reenroll-while-locked")
    ]
    with pytest.raises(SystemExit) as exited:
        main(["replay", *map(str, stories), "--target", reference.base_url, "--out", str(out)])
    assert exited.value.code == 0
    return (out / "latest" / "trace.jsonl").resolve()


def test_a_recorded_trace_replays_with_identical_outcomes(
    reference: EmbeddedTarget, recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [json.loads(line) for line in recording.read_text().splitlines()]
    assert [r["step"] for r in records if r["scenario"] == "lost-phone-reenrollment"] == list(
        range(1, 10)
    )
    assert all(("setup" in r) == (r["step"] == 1) for r in records)
    assert (
        replay(["--trace", str(recording), "--target", reference.base_url, "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert f"IDENTICAL to {recording}: {len(records)} steps of 2 scenarios" in out
    again = [
        json.loads(line) for line in (tmp_path / "latest" / "trace.jsonl").read_text().splitlines()
    ]
    keys = ("scenario", "step", "at", "do", "args", "server_time", "status", "error_code", "held")
    assert [[r[k] for k in keys] for r in again] == [[r[k] for k in keys] for r in records]


def test_against_a_mutant_the_first_differing_step_is_named(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "mutant.yaml"
    policy.write_text(yaml.safe_dump({"faults": ["partial_token_hosts"]}))
    with EmbeddedTarget(policy_file=policy) as mutant:
        args = ["--trace", str(recording), "--target", mutant.base_url, "--out", str(tmp_path)]
        assert replay(args) == 1
    out = capsys.readouterr().out
    assert (
        f"DIFFERS from {recording}: lost-phone-reenrollment step 5 "
        "(scenario line 27: +2d host agent=alice): "
        "recorded 403 second_factor_required, expectation held, server time 2000172820.0; "
        "now 201, expectation did not hold, server time 2000172820.0"
    ) in out


def _lines(recording: Path) -> list[str]:
    return recording.read_text().splitlines()


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda ls: [*ls[:2], "{not json", *ls[3:]], ":3: not JSON: "),
        (lambda ls: [*ls[:1], "[1, 2]", *ls[2:]], ":2: a trace record is a JSON object"),
        (
            lambda ls: ls[:2] + ls[3:],
            ":3: lost-phone-reenrollment step 4 out of order (expected step 3)",
        ),
        (
            lambda ls: [
                json.dumps({k: v for k, v in json.loads(ls[0]).items() if k != "setup"}),
                *ls[1:],
            ],
            ":1: step 1 of ",
        ),
        (
            lambda ls: [ls[0], ls[1].replace('"do": "log_in"', '"do": "dance"'), *ls[2:]],
            ":2: unknown step 'dance'",
        ),
        (
            lambda ls: [ls[0].replace('"alice": {"seat"', '"bob": {"seat"'), *ls[1:]],
            ":1: step enroll: agent: no agent 'alice' among the actors",
        ),
        (lambda ls: [], ":1: the trace has no step records"),
        (
            lambda ls: [ls[0], ls[1].replace('"status": ', '"stat": '), *ls[2:]],
            ":2: a step record lacks status",
        ),
    ],
)
def test_a_malformed_trace_is_file_line_message_and_exit_2(
    recording: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    mangle: object,
    message: str,
) -> None:
    bad = tmp_path / "trace.jsonl"
    bad.write_text("\n".join(mangle(_lines(recording))) + "\n")  # type: ignore[operator]
    assert replay(["--trace", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"twofa: error: {bad}{message}" in err
    assert "nothing was run" in err
    assert not (tmp_path / "out").exists()


def test_trace_and_scenario_files_do_not_mix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(["--shipped", "--trace", str(tmp_path / "t.jsonl")]) == 2
    assert "not both" in capsys.readouterr().err
