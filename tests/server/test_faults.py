"""Deliberate faults (mutants) exist only in harness mode and are named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reference_server.app import create_app
from reference_server.clock import ServerClock
from reference_server.policy import KNOWN_FAULTS, PolicyError
from simulators.hotp import CodeGenerator

from .conftest import V5, Api, error_code


def test_faults_are_refused_outside_harness_mode(app_config: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match="harness mode only"):
        create_app({**app_config, "HARNESS": False, "FAULTS": frozenset({"no_replay_guard"})})


def test_unknown_faults_are_refused(app_config: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match="unknown faults"):
        create_app({**app_config, "FAULTS": frozenset({"no_such_fault"})})


@pytest.mark.parametrize("fault", sorted(KNOWN_FAULTS))
def test_a_harness_server_declares_its_faults(app_config: dict[str, Any], fault: str) -> None:
    app = create_app({**app_config, "FAULTS": frozenset({fault})})
    try:
        policy = app.test_client().get("/__harness__/policy").get_json()
        assert policy["faults"] == [fault]
    finally:
        app.extensions["twofa"].engine.dispose()


@pytest.fixture
def mutant(
    request: pytest.FixtureRequest, app_config: dict[str, Any], clock: ServerClock
) -> Iterator[Api]:
    """An ``Api`` over a harness server with the fault named by the test's parameter."""
    app = create_app({**app_config, "FAULTS": frozenset({request.param})})
    api = Api(app.test_client(), app, clock)
    api.reset()
    yield api
    app.extensions["twofa"].engine.dispose()


def accepted(api: Api, generator: CodeGenerator, steps: int) -> bool:
    """Sign in and submit the code ``steps`` steps from now; move on past that step."""
    response = api.otp(api.token(V5), api.code(generator, steps))
    api.advance(30 * (abs(steps) + 3))
    return bool(response.status_code == 200)


@pytest.mark.parametrize("mutant", ["undeclared_wide_window"], indirect=True)
def test_undeclared_wide_window_accepts_two_steps_away_but_declares_one(mutant: Api) -> None:
    assert mutant.get("/__harness__/policy").json["window"] == {"back": 1, "forward": 1}
    generator = mutant.enroll(V5).generator
    assert accepted(mutant, generator, 2)
    assert accepted(mutant, generator, 0)  # back to no drift
    assert accepted(mutant, generator, -2)


@pytest.mark.parametrize("mutant", ["undeclared_narrow_window"], indirect=True)
def test_undeclared_narrow_window_refuses_the_declared_next_step(mutant: Api) -> None:
    assert mutant.get("/__harness__/policy").json["window"]["forward"] == 1
    generator = mutant.enroll(V5).generator
    assert not accepted(mutant, generator, 1)
    assert accepted(mutant, generator, -1)


@pytest.mark.parametrize("mutant", ["no_drift_tracking"], indirect=True)
def test_no_drift_tracking_declares_tracking_but_never_moves_the_window(mutant: Api) -> None:
    assert mutant.get("/__harness__/policy").json["drift"]["tracking"] is True
    generator = mutant.enroll(V5).generator
    assert accepted(mutant, generator, 1)
    assert not accepted(mutant, generator, 2)  # tracking would have centred on +1


@pytest.mark.parametrize("mutant", ["unbounded_drift"], indirect=True)
def test_unbounded_drift_follows_a_clock_past_max_steps(mutant: Api) -> None:
    max_steps = mutant.get("/__harness__/policy").json["drift"]["max_steps"]
    generator = mutant.enroll(V5).generator
    for ahead in range(1, max_steps + 4):
        assert accepted(mutant, generator, ahead), ahead


@pytest.mark.parametrize("mutant", ["email_code_never_expires"], indirect=True)
def test_email_code_never_expires_accepts_a_code_past_its_lifetime(mutant: Api) -> None:
    token = mutant.token(V5, expect="enroll")
    assert mutant.start(token).status_code == 202
    mutant.advance(mutant.services.policy.email_code_ttl_seconds + 1)
    assert mutant.verify_email(token, mutant.mail_code(V5[0])).status_code == 200


@pytest.mark.parametrize("mutant", ["no_email_attempt_limit"], indirect=True)
def test_no_email_attempt_limit_keeps_checking_after_the_limit(mutant: Api) -> None:
    token = mutant.token(V5, expect="enroll")
    assert mutant.start(token).status_code == 202
    code = mutant.mail_code(V5[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(mutant.services.policy.email_code_max_attempts + 3):
        assert error_code(mutant.verify_email(token, wrong)) == "email_code_invalid"
    assert mutant.verify_email(token, code).status_code == 200


@pytest.mark.parametrize("mutant", ["reusable_email_code"], indirect=True)
def test_reusable_email_code_verifies_a_used_code_again_in_its_lifetime(mutant: Api) -> None:
    mutant.enroll(V5)
    used = mutant.mail_code(V5[0])
    mutant.advance(mutant.services.policy.email_code_resend_cooldown_seconds)
    partial = mutant.token(V5, expect="verify_otp")
    assert mutant.start(partial).status_code == 202
    if mutant.mail_code(V5[0]) == used:
        pytest.skip("the new code equals the used one")
    assert mutant.verify_email(partial, used).status_code == 200


def test_the_reference_server_refuses_a_used_email_code(api: Api) -> None:
    api.enroll(V5)
    used = api.mail_code(V5[0])
    api.advance(api.services.policy.email_code_resend_cooldown_seconds)
    partial = api.token(V5, expect="verify_otp")
    assert api.start(partial).status_code == 202
    if api.mail_code(V5[0]) == used:
        pytest.skip("the new code equals the used one")
    assert error_code(api.verify_email(partial, used)) == "email_code_invalid"
