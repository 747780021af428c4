"""Every check passes against the reference server and fails against its mutant.

A mutant is the reference server started (in harness mode, as a process) with
one deliberate fault. A check that no mutant can make fail proves nothing, so
a registered check without a mutant here fails the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance.checks import REGISTRY, Outcome
from conformance.runner import run_checks, select_checks
from conformance.target import EmbeddedTarget

#: check id → the fault that must make it fail.
MUTANTS: dict[str, str] = {
    "algorithm-codes-accepted-at-controlled-times": "counter_32bit",
    "algorithm-provisioning-declares-parameters": "short_secret",
    "algorithm-other-hash-refused": "any_hash_accepted",
    "algorithm-code-format-is-strict": "lenient_code_format",
    "replay-same-code-twice": "no_replay_guard",
    "replay-older-step-after-newer": "no_replay_guard",
    "replay-parallel-race": "no_replay_guard",
    "replay-setup-code-not-reusable-for-login": "reusable_setup_code",
}


def test_every_registered_check_has_a_mutant() -> None:
    assert set(REGISTRY) <= set(MUTANTS), sorted(set(REGISTRY) - set(MUTANTS))


@pytest.fixture(scope="module")
def reference_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("reference")
    with EmbeddedTarget() as target:
        summary = run_checks(target, select_checks(), out / "results.jsonl")
    return {r.check.id: r for r in summary.results}


@pytest.mark.parametrize("check_id", sorted(MUTANTS))
def test_passes_against_the_reference_server(
    reference_results: dict[str, object], check_id: str
) -> None:
    result = reference_results[check_id]
    assert result.outcome is Outcome.PASSED, result.reason  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def mutant_targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EmbeddedTarget]]:
    folder = tmp_path_factory.mktemp("mutants")
    targets: dict[str, EmbeddedTarget] = {}
    try:
        for fault in sorted(set(MUTANTS.values())):
            policy = folder / f"{fault}.yaml"
            policy.write_text(yaml.safe_dump({"faults": [fault]}))
            targets[fault] = EmbeddedTarget(policy_file=policy)
        yield targets
    finally:
        for target in targets.values():
            target.close()


@pytest.mark.parametrize("check_id", sorted(MUTANTS))
def test_fails_against_its_mutant(
    mutant_targets: dict[str, EmbeddedTarget], check_id: str, tmp_path: Path
) -> None:
    fault = MUTANTS[check_id]
    target = mutant_targets[fault]
    assert fault in target.harness.policy()["faults"]  # type: ignore[union-attr]
    [result] = run_checks(target, select_checks(check_ids=[check_id]), tmp_path / "r.jsonl").results
    assert result.outcome is Outcome.FAILED, (fault, result.outcome, result.reason)
