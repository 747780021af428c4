"""``twofa replay``: progress per step, the reports of a run, a trace, and the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.replay import shipped_scenarios
from conformance.scenario_file import load_scenario
from conformance.session import PASSWORD
from tests.result_log import assert_valid_log

BROKEN_EXPECTATION = """\
title: An expectation that does not hold
actors:
  agents:
    alice: {seat: remote_support_v5}
  devices:
    phone: {profile: rfc-reference}
timeline:
  - do: enroll
    agent: alice
    device: phone
  - at: +1h
    do: log_in
    agent: alice
    device: phone
    expect: {refused: otp_invalid}
  - at: +2h
    do: log_in
    agent: alice
    device: phone
"""


def replay(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["replay", *args])
    return int(exited.value.code or 0)


def test_a_replay_prints_each_step_and_writes_the_reports_and_a_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lost = next(p for p in shipped_scenarios() if p.stem == "lost-phone-reenrollment")
    assert replay([str(lost), "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "PASS lost-phone-reenrollment: Lost phone" in err
    assert "PASS +2d host agent=alice → refused: second_factor_required" in err
    assert out.startswith("PASSED: 1 checks")
    folder = (tmp_path / "latest").resolve()
    for name in ("results.jsonl", "trace.jsonl", "report.json", "junit.xml", "index.html"):
        assert (folder / name).is_file(), name
    assert_valid_log(folder / "results.jsonl")
    records = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    assert records[0]["record"] == "run"
    assert records[0]["command"] == "replay"
    (check,) = [r for r in records if r["record"] == "check"]
    assert (check["plan"], check["id"], check["outcome"]) == ("scenarios", lost.stem, "passed")
    assert len(check["steps"]) == len(load_scenario(lost).steps) == 9
    enroll = check["steps"][0]["evidence"]
    assert enroll["server_time"] == 2_000_000_020
    assert enroll["device_code"] == "<6-digit code>"  # no one-time code in a log
    assert [e["url"] for e in enroll["http"]][-1] == "/api/v1/enrollment/confirm"
    trace = [json.loads(line) for line in (folder / "trace.jsonl").read_text().splitlines()]
    assert [t["do"] for t in trace][:3] == ["enroll", "log_in", "lose_device"]
    assert trace[1]["server_time"] == 2_000_000_020 + 7200
    assert all(t["held"] for t in trace)
    for path in folder.iterdir():
        assert PASSWORD not in path.read_text(errors="replace"), path.name


def test_an_expectation_that_does_not_hold_exits_1_and_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    story = tmp_path / "broken.yaml"
    story.write_text(BROKEN_EXPECTATION)
    assert replay([str(story), "--out", str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    assert "FAIL +1h log in agent=alice device=phone → refused: otp_invalid: " in err
    assert "expected refused: otp_invalid, answered 200" in err
    assert "PASS +2h log in" in err  # later steps still run
    assert "unexpected: scenarios/broken" in out


def test_a_target_without_harness_endpoints_exits_2_with_a_reason(
    server_without_harness: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--shipped", "--target", server_without_harness, "--out", str(tmp_path)]
    assert replay(args) == 2
    err = capsys.readouterr().err
    assert "has no /__harness__ endpoints" in err
    assert "cannot run there" in err
    assert not any(tmp_path.iterdir())


def test_a_bad_target_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay(["--shipped", "--target", "ftp://x", "--out", str(tmp_path)]) == 2
    assert "--target must be 'embedded' or an http(s) URL" in capsys.readouterr().err


def test_a_scenario_the_harness_cannot_play_is_an_error_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    story = tmp_path / "no-session.yaml"
    story.write_text(
        "title: Re-enrollment without a session\n"
        "actors: {agents: {alice: {seat: remote_support_v5}}}\n"
        "timeline:\n  - {do: start_reenrollment, agent: alice}\n"
    )
    assert replay([str(story), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "ERR  no-session" in err
    assert "harness error: alice@scenario.test has no session: sign in or log in first" in err
