"""The outside fuzzer (schemathesis) against a real server process, at a CI budget.

``make fuzz`` runs the same at 10,000 requests or more (``openapi_fuzz.py``).
What counts as a failure is ``fuzz_rules.py``; its rules are shown failing here
on made-up answers, and the whole run is shown failing against a mutant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .fuzz_rules import (
    Snapshot,
    changes,
    forbidden_changes,
    refusal_problem,
    world_damage,
)
from .openapi_fuzz import CI_EXAMPLES, FuzzResult, run

#: Operations whose success needs a secret the fuzzer cannot know (a code): reaching
#: them means a documented answer past authentication.
SECRET_GATED = {
    "POST /api/v1/auth/otp",
    "POST /api/v1/enrollment/email/verify",
    "POST /api/v1/enrollment/confirm",
}


#: Its tests are one xdist group: the fuzz run takes about 40 s, once per test process
#: that has one of them.
@pytest.fixture(scope="module")
def ci_run(tmp_path_factory: pytest.TempPathFactory) -> FuzzResult:
    return run(CI_EXAMPLES, workdir=tmp_path_factory.mktemp("fuzz"))


@pytest.mark.xdist_group("fuzz-ci-run-once")
@pytest.mark.slow
def test_schemathesis_finds_nothing_at_the_ci_budget(ci_run: FuzzResult) -> None:
    failures = ci_run.tally["failures"]
    assert ci_run.exit_code == 0, ci_run.output[-6000:]
    assert ci_run.server_errors == 0
    assert failures == []
    assert ci_run.requests >= 1500
    assert ci_run.tally["positive_checked"] >= 300  # allowed requests judged by our rule
    assert ci_run.tally["refused_checked"] >= 1000  # refusals whose state was compared


@pytest.mark.xdist_group("fuzz-ci-run-once")
@pytest.mark.slow
def test_every_operation_is_reached_with_its_token(ci_run: FuzzResult) -> None:
    """Past authentication: each operation answers success or a documented state refusal."""
    outcomes: dict[str, dict[str, int]] = ci_run.tally["outcomes"]
    document_operations = 25
    assert len(outcomes) == document_operations
    for operation, seen in outcomes.items():
        successes = sum(n for outcome, n in seen.items() if outcome.startswith("2"))
        if operation in SECRET_GATED:
            assert seen.get("otp_invalid", 0) + seen.get("email_code_invalid", 0) > 0, seen
        else:
            assert successes > 0, (operation, seen)


@pytest.mark.slow
def test_the_fuzzer_kills_a_server_that_counts_malformed_codes(tmp_path: Path) -> None:
    """The run can fail: a mutant that reads numbers and spaces as codes is caught."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("faults: [lenient_code_format]\n", encoding="utf-8")
    result = run(5, workdir=tmp_path / "run", policy=policy, include_path="/api/v1/auth/otp")
    assert result.exit_code != 0
    checks = {f["check"] for f in result.tally["failures"]}
    assert checks == {"refusal_changes_nothing"}, result.tally["failures"]


@pytest.mark.slow
def test_the_run_is_deterministic(tmp_path: Path) -> None:
    first = run(4, workdir=tmp_path / "a", include_path="/api/v1/admin/device-groups")
    second = run(4, workdir=tmp_path / "b", include_path="/api/v1/admin/device-groups")
    assert first.exit_code == second.exit_code == 0
    assert first.tally["outcomes"] == second.tally["outcomes"]
    assert first.requests == second.requests > 50


# -- the rules, on made-up answers -----------------------------------------------------

BEFORE: Snapshot = {
    "agents": {(1,): {"id": 1, "seat": "remote_support", "otp_failures": 0}},
    "tokens": {(7,): {"id": 7, "stage": "verify_otp", "ended_at": None}},
}


def _with(table: str, key: tuple[int], **values: object) -> Snapshot:
    after = {name: {k: dict(row) for k, row in rows.items()} for name, rows in BEFORE.items()}
    after[table][key].update(values)
    return after


def test_a_refusal_may_change_nothing() -> None:
    found = changes(BEFORE, _with("agents", (1,), otp_failures=1))
    assert forbidden_changes(found, "wrong_stage", body_allowed=True)
    assert forbidden_changes({}, "wrong_stage", body_allowed=True) == []


def test_an_attempt_may_change_its_counters_only() -> None:
    counted = changes(BEFORE, _with("agents", (1,), otp_failures=1))
    assert forbidden_changes(counted, "otp_invalid", body_allowed=True) == []
    moved = changes(BEFORE, _with("agents", (1,), seat="ops"))
    assert forbidden_changes(moved, "otp_invalid", body_allowed=True)
    ended = changes(BEFORE, _with("tokens", (7,), ended_at=1.0))
    assert forbidden_changes(ended, "otp_invalid", body_allowed=True)


def test_a_malformed_body_is_never_an_attempt() -> None:
    counted = changes(BEFORE, _with("agents", (1,), otp_failures=1))
    assert forbidden_changes(counted, "otp_invalid", body_allowed=False)


def test_the_world_is_repaired_or_rebuilt_when_what_its_tokens_stand_on_moves() -> None:
    world = {"tokens": {(7,)}, "agents": {(1,)}}
    moved = _with("tokens", (7,), stage="verify_email")
    assert world_damage(BEFORE, moved, world) == {"rebuild"}
    assert world_damage(BEFORE, _with("agents", (1,), seat="ops"), world) == {"agent:1"}
    assert world_damage(BEFORE, _with("agents", (1,), otp_failures=3), world) == set()
    assert world_damage(BEFORE, moved, {"tokens": set(), "agents": {(1,)}}) == set()


DOCUMENTED = {
    "400": ["malformed_request", "malformed_client_version"],
    "409": ["wrong_stage"],
    "413": ["payload_too_large"],
}


@pytest.mark.parametrize(
    ("status", "code", "headers", "body_bytes", "failure"),
    [
        (200, None, {}, 10, False),
        (409, "wrong_stage", {}, 10, False),
        (409, "email_taken", {}, 10, True),  # not documented for this operation
        (401, "unauthenticated", {}, 10, True),  # no 401 documented here
        (400, "malformed_request", {}, 10, True),
        (413, "payload_too_large", {}, 70_000, False),
        (413, "payload_too_large", {}, 10, True),
        (400, "malformed_client_version", {"X-Client-Kind": "desktop"}, 10, False),
        (400, "malformed_client_version", {"X-Client-Kind": "web"}, 10, True),
        (500, "internal_error", {}, 10, True),
    ],
)
def test_what_a_schema_valid_request_may_be_answered(
    status: int, code: str | None, headers: dict[str, str], body_bytes: int, failure: bool
) -> None:
    problem = refusal_problem(status, code, DOCUMENTED, body_bytes=body_bytes, headers=headers)
    assert (problem is not None) is failure, problem
