"""Every shipped scenario passes against the reference server and fails against its mutant."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from conformance.replay import replay, shipped_scenarios, step_requirements
from conformance.scenario_file import Scenario, load_scenario
from conformance.target import EmbeddedTarget, Target
from records import Outcome
from tests.mutants import started_mutants

#: Shipped scenario → the server fault (reference_server/faults/) it catches.
SCENARIO_MUTANTS: Final = {
    "cloud-backup-restore": "no_replay_guard",
    "fast-drifting-clock": "no_drift_tracking",
    "lost-phone-reenrollment": "partial_token_hosts",
    "old-code-after-reenrollment": "old_device_survives",
    "reenroll-while-locked": "no_throttle",
    "reenrollment-abandoned": "old_device_retired_early",
    "seat-without-2fa": "remote_support_seat_ungated",
    "two-factor-switched-on": "no_version_gating",
}
#: Further faults a shipped scenario catches too: (scenario, fault).
ALSO_CAUGHT: Final = [
    ("old-code-after-reenrollment", "reusable_setup_code"),
    ("fast-drifting-clock", "undeclared_wide_window"),
]


def _load(name: str) -> Scenario:
    return next(load_scenario(p) for p in shipped_scenarios() if p.stem == name)


def test_every_shipped_scenario_has_a_mutant() -> None:
    shipped = {path.stem for path in shipped_scenarios()}
    assert len(shipped) >= 8
    assert shipped == set(SCENARIO_MUTANTS), "a shipped scenario without a mutant, or a stale entry"


@pytest.fixture(scope="module")
def reference() -> Iterator[EmbeddedTarget]:
    target = EmbeddedTarget()
    try:
        yield target
    finally:
        target.close()


def test_every_shipped_scenario_passes_against_the_reference_server(
    reference: EmbeddedTarget, tmp_path: Path
) -> None:
    scenarios = [load_scenario(path) for path in shipped_scenarios()]
    summary = replay(reference, scenarios, tmp_path)
    failed = {r.check.id: r.reason for r in summary.results if r.outcome is not Outcome.PASSED}
    assert failed == {}
    assert summary.exit_status == 0
    trace = (tmp_path / "trace.jsonl").read_text().splitlines()
    assert len(trace) == sum(len(s.steps) for s in scenarios)


@pytest.fixture(scope="module")
def mutants() -> Iterator[dict[str, Target]]:
    faults = set(SCENARIO_MUTANTS.values()) | {fault for _, fault in ALSO_CAUGHT}
    with started_mutants(faults) as started:
        yield started


@pytest.mark.parametrize(("name", "fault"), sorted(SCENARIO_MUTANTS.items()) + ALSO_CAUGHT)
def test_each_scenario_fails_against_its_mutant(
    mutants: dict[str, Target], name: str, fault: str, tmp_path: Path
) -> None:
    target = mutants[fault]
    assert fault in target.harness.policy()["faults"]  # type: ignore[union-attr]
    summary = replay(target, [_load(name)], tmp_path)
    (result,) = summary.results
    assert result.outcome is Outcome.FAILED, result.reason
    assert summary.exit_status == 1
    assert any(step.outcome is Outcome.FAILED for step in result.steps)


def _defined_seed_ids() -> set[str]:
    text = (Path(__file__).parents[2] / "docs" / "conformance.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| (SEED-\d\d) \|", text, flags=re.MULTILINE))


@pytest.mark.parametrize("name", sorted(SCENARIO_MUTANTS))
def test_every_step_of_a_shipped_scenario_names_its_requirements(name: str) -> None:
    scenario = _load(name)
    found = step_requirements(scenario)
    assert len(found) == len(scenario.steps)
    seeds = _defined_seed_ids()
    for step, ids in zip(scenario.steps, found, strict=True):
        assert ids, f"line {step.line}: {step.do} names no requirement"
        for requirement in ids:
            assert re.fullmatch(r"(SEED|ENR|RPL|THR|WIN|URI)-\d\d", requirement), requirement
            if requirement.startswith("SEED-"):
                assert requirement in seeds, f"{requirement} is not defined in docs/conformance.md"


def test_step_requirements_follow_what_the_step_exercises() -> None:
    by_line = dict(
        zip(
            (s.line for s in _load("old-code-after-reenrollment").steps),
            step_requirements(_load("old-code-after-reenrollment")),
            strict=True,
        )
    )
    scenario = _load("old-code-after-reenrollment")
    retired_log_ins = [
        s for s in scenario.steps if s.do == "log_in" and s.args["device"] == "old_phone"
    ]
    replaced = next(s for s in scenario.steps if s.do == "confirm_reenrollment")
    after = [s for s in retired_log_ins if s.line > replaced.line]
    before = [s for s in retired_log_ins if s.line < replaced.line]
    assert after
    assert before
    assert all("ENR-07" in by_line[s.line] for s in after)
    assert all("ENR-07" not in by_line[s.line] for s in before)
    assert all("RPL-01" in by_line[s.line] for s in after if s.args.get("code") == "last")
    drifting = _load("fast-drifting-clock")
    for step, ids in zip(drifting.steps, step_requirements(drifting), strict=True):
        if step.do == "log_in" and drifting.devices[step.args["device"]].skew:
            assert "WIN-05" in ids
    locked = _load("reenroll-while-locked")
    for step, ids in zip(locked.steps, step_requirements(locked), strict=True):
        if step.expect is not None and step.expect.kind == "locked" and step.do == "log_in":
            assert "THR-01" in ids


def test_the_trace_and_the_report_carry_each_steps_requirements(tmp_path: Path) -> None:
    scenario = _load("seat-without-2fa")
    with EmbeddedTarget() as target:
        summary = replay(target, [scenario], tmp_path)
    assert summary.exit_status == 0
    records = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    wanted = step_requirements(scenario)
    assert [tuple(r["requirements"]) for r in records] == wanted
    steps = summary.results[0].steps
    assert [s.requirements for s in steps] == wanted
    set_seat = [r for r in records if r["do"] == "set_seat"]
    assert set_seat
    assert all(r["requirements"] == ["SEED-01"] for r in set_seat)
