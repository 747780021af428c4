"""Every shipped scenario passes against the reference server and fails against its mutant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from conformance.checks import Outcome
from conformance.replay import replay, shipped_scenarios
from conformance.scenario_file import Scenario, load_scenario
from conformance.target import EmbeddedTarget
from tests.mutants import started_mutants

#: Shipped scenario → the server fault (reference_server/policy.py KNOWN_FAULTS) it catches.
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
def mutants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EmbeddedTarget]]:
    faults = set(SCENARIO_MUTANTS.values()) | {fault for _, fault in ALSO_CAUGHT}
    with started_mutants(tmp_path_factory.mktemp("scenario-mutants"), faults) as started:
        yield started


@pytest.mark.parametrize(("name", "fault"), sorted(SCENARIO_MUTANTS.items()) + ALSO_CAUGHT)
def test_each_scenario_fails_against_its_mutant(
    mutants: dict[str, EmbeddedTarget], name: str, fault: str, tmp_path: Path
) -> None:
    target = mutants[fault]
    assert fault in target.harness.policy()["faults"]  # type: ignore[union-attr]
    summary = replay(target, [_load(name)], tmp_path)
    (result,) = summary.results
    assert result.outcome is Outcome.FAILED, result.reason
    assert summary.exit_status == 1
    assert any(step.outcome is Outcome.FAILED for step in result.steps)
