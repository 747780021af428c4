"""Scenario files: the format loads, and every kind of mistake is FILE:LINE: message, exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.replay import shipped_scenarios
from conformance.scenario_file import ScenarioError, load_scenario, parse_time

GOOD = """\
title: A phone enrolls and logs in
actors:
  agents:
    alice: {seat: remote_support_v5}
    boss: {seat: account_admin, role: admin}
  devices:
    phone: {profile: lastpass-authenticator, skew: 5, drift_ppm: 20}
    spare: {profile: lastpass-authenticator}
  clients:
    desk: {kind: desktop, version: 4.3.1575}
timeline:
  - at: +0s
    do: enroll
    agent: alice
    device: phone
    client: desk
    by: key
  - at: +1h30m
    do: log_in
    agent: alice
    device: phone
    expect: "refused: otp_reused"
  - do: lose_device
    device: phone
  - do: restore_device
    device: spare
    from: phone
  - at: +2d
    do: set_two_factor
    agent: boss
    required: false
    expect: locked
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "story.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_file_loads_with_its_times_and_expectations(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    assert scenario.name == "story"
    assert [s.at for s in scenario.steps] == [0, 5400, 5400, 5400, 172_800]
    assert scenario.duration == 172_800
    assert scenario.steps[1].expect is not None
    assert scenario.steps[1].expect.describe() == "refused: otp_reused"
    assert scenario.steps[2].expect is None  # losing a phone gets no answer
    assert scenario.devices["phone"].drift_ppm == 20.0
    assert scenario.agents["alice"].email == "alice@scenario.test"
    seed = scenario.seed("pw")
    assert [a["email"] for a in seed["agents"]] == ["alice@scenario.test", "boss@scenario.test"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("+0s", 0), ("+90s", 90), ("+15m", 900), ("+2h", 7200), ("+1d", 86_400), ("+1h30m", 5400)],
)
def test_times(text: str, seconds: int) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["+", "2h", "+2x", "+1m1h", "-1s", "+1.5h", ""])
def test_malformed_times(text: str) -> None:
    assert parse_time(text) is None


#: (what to replace in GOOD, with what, the line the error names, a piece of its message)
MISTAKES = [
    ("title: A phone", "titel: A phone", 1, "unknown key 'titel'"),
    ("    by: key\n", "    by: key\n    colour: red\n", 18, "unknown key 'colour'"),
    ("skew: 5,", "skew: fast,", 7, "skew must be a number"),
    ("required: false", "required: maybe", 31, "required must be true or false"),
    ("lastpass-authenticator, skew", "no-such-app, skew", 7, "unknown profile 'no-such-app'"),
    ("do: enroll", "do: teleport", 13, "unknown step 'teleport'"),
    ("at: +1h30m", "at: +1.5h", 18, "is not a time like"),
    ("at: +2d", "at: +1h", 28, "time never goes back"),
    (
        "agent: alice\n    device: phone\n    client",
        "agent: zoe\n    device: phone\n    client",
        14,
        "no agent 'zoe'",
    ),
    ("client: desk", "client: tablet", 16, "no client 'tablet'"),
    ("kind: desktop", "kind: fax", 10, "kind must be one of"),
    ('expect: "refused: otp_reused"', "expect: rejected", 22, "expect must be accepted"),
    (
        "    device: phone\n  - do: restore_device",
        "    device: phone\n    expect: accepted\n  - do: restore_device",
        25,
        "gets no answer",
    ),
    ("    agent: boss\n    required", "    agent: alice\n    required", 30, "not an admin"),
    ("alice: {seat: remote_support_v5}", "alice: [remote_support_v5]", 4, "must be a mapping"),
    (
        "    alice: {seat: remote_support_v5}",
        "    alice: {seat: remote_support_v5, seat: x}",
        4,
        "'seat' given twice",
    ),
    ("title: A phone enrolls and logs in", "title: [a", 2, "not valid YAML"),
    (
        '    expect: "refused: otp_reused"',
        '    steps: 1.5\n    expect: "refused: otp_reused"',
        22,
        "steps must be an integer",
    ),
    (
        '    expect: "refused: otp_reused"',
        '    steps: -3000\n    expect: "refused: otp_reused"',
        22,
        "at most 2880 periods",
    ),
    (
        "do: set_two_factor\n    agent: boss\n    required: false\n    expect: locked",
        "do: set_seat\n    agent: boss\n    who: x\n    seat: rescue_lens",
        31,
        "no agent 'x'",
    ),
    (
        "do: set_two_factor\n    agent: boss\n    required: false\n    expect: locked",
        "do: set_seat\n    agent: boss\n    who: alice\n    seat: Rescue Lens",
        32,
        "a seat is a lower-case name",
    ),
]


@pytest.mark.parametrize(("old", "new", "line", "message"), MISTAKES)
def test_each_mistake_names_its_line(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert message in raised.value.message
    assert str(raised.value).startswith(f"{path}:{line}: ")


def test_a_device_used_after_it_was_lost(tmp_path: Path) -> None:
    text = GOOD + "  - do: log_in\n    agent: alice\n    device: phone\n"
    with pytest.raises(ScenarioError, match=r":35: step log_in: device: phone was lost at line 23"):
        load_scenario(write(tmp_path, text))


def test_a_restore_needs_a_cloud_backup(tmp_path: Path) -> None:
    text = GOOD.replace("lastpass-authenticator, skew", "aegis, skew").replace(
        "spare: {profile: lastpass-authenticator}", "spare: {profile: aegis}"
    )
    with pytest.raises(ScenarioError, match=r":27: restore_device: Aegis.* has no cloud backup"):
        load_scenario(write(tmp_path, text))


def test_the_command_reports_file_line_and_exits_2_without_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD.replace("do: enroll", "do: teleport"))
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    with pytest.raises(SystemExit) as exited:
        main(["replay", str(good), str(path), "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{path}:13: unknown step 'teleport'" in err
    assert "nothing was run" in err
    assert not (tmp_path / "out").exists()


def test_the_command_needs_files(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["replay"])
    assert exited.value.code == 2
    assert "give scenario files, or --shipped" in capsys.readouterr().err


def test_the_shipped_scenarios_are_package_data_and_load() -> None:
    paths = shipped_scenarios()
    assert len(paths) >= 8
    for path in paths:
        assert load_scenario(path).steps


def test_the_file_name_is_the_check_id_so_it_is_kebab_case(tmp_path: Path) -> None:
    path = tmp_path / "My Story.yaml"
    path.write_text(GOOD)
    with pytest.raises(ScenarioError, match=r"My Story.yaml:1: name the file in kebab-case"):
        load_scenario(path)


def test_two_scenarios_with_one_name_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "story.yaml").write_text(GOOD)
    with pytest.raises(SystemExit) as exited:
        main(["replay", str(tmp_path / "a/story.yaml"), str(tmp_path / "b/story.yaml")])
    assert exited.value.code == 2
    assert "another scenario is also named 'story'" in capsys.readouterr().err
