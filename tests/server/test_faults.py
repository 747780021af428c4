"""Deliberate faults (mutants) exist only in harness mode and are named."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from reference_server.app import create_app
from reference_server.clock import ServerClock
from reference_server.faults import FAULTS as KNOWN_FAULTS
from reference_server.policy import PolicyError
from simulators.hotp import CodeGenerator

from .conftest import RS, V5, Api, error_code


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


@pytest.mark.parametrize("mutant", ["resend_keeps_old_code"], indirect=True)
def test_resend_keeps_old_code_mails_a_code_that_is_never_stored(mutant: Api) -> None:
    token = mutant.token(V5, expect="enroll")
    assert mutant.start(token).status_code == 202
    old = mutant.mail_code(V5[0])
    mutant.advance(mutant.services.policy.email_code_resend_cooldown_seconds)
    assert mutant.post("/api/v1/enrollment/email/resend", token).status_code == 202
    if mutant.mail_code(V5[0]) == old:
        pytest.skip("the new code equals the old one")
    assert mutant.verify_email(token, old).status_code == 200


@pytest.mark.parametrize("mutant", ["old_device_retired_early"], indirect=True)
def test_old_device_retired_early_loses_the_device_before_confirmation(mutant: Api) -> None:
    mutant.enroll(V5)
    mutant.advance(mutant.services.policy.email_code_resend_cooldown_seconds)
    partial = mutant.token(V5, expect="verify_otp")
    mutant.to_connect_device(partial)  # then walk away without confirming
    mutant.advance(30)
    # The old device is gone: sign-in sends the agent to enrollment, not to the code prompt.
    mutant.token(V5, expect="enroll")


@pytest.mark.parametrize("mutant", ["old_device_survives"], indirect=True)
def test_old_device_survives_accepts_the_replaced_device(mutant: Api) -> None:
    old = mutant.enroll(V5).generator
    mutant.advance(mutant.services.policy.email_code_resend_cooldown_seconds)
    partial = mutant.token(V5, expect="verify_otp")
    new = mutant.to_connect_device(partial)
    assert mutant.confirm(partial, mutant.code(new)).status_code == 200
    mutant.advance(30)
    assert mutant.otp(mutant.token(V5), mutant.code(old)).status_code == 200


@pytest.mark.parametrize("mutant", ["remote_support_seat_ungated"], indirect=True)
def test_remote_support_seat_ungated_skips_the_second_factor(mutant: Api) -> None:
    mutant.token(RS, expect="done")
    mutant.token(V5, expect="enroll")


@pytest.mark.parametrize("mutant", ["partial_token_hosts"], indirect=True)
def test_partial_token_hosts_a_support_session(mutant: Api) -> None:
    partial = mutant.token(V5, expect="enroll")
    assert mutant.post("/api/v1/support-sessions", partial, json={}).status_code == 201


@pytest.mark.parametrize("mutant", ["qr_uri_mismatch"], indirect=True)
def test_qr_uri_mismatch_draws_a_qr_without_the_issuer(mutant: Api) -> None:
    token = mutant.token(V5, expect="enroll")
    mutant.to_connect_device(token)
    device = mutant.device(token).json
    with Image.open(io.BytesIO(base64.b64decode(device["qr_png_base64"]))) as image:
        [found] = zxingcpp.read_barcodes(image)
    assert "&issuer=" in device["otpauth_uri"]
    assert found.text == device["otpauth_uri"].replace("&issuer=Remote%20Support", "")


@pytest.mark.parametrize("mutant", ["qr_for_mobile"], indirect=True)
def test_qr_for_mobile_shows_a_phone_a_qr_code(mutant: Api) -> None:
    token = mutant.token(V5, expect="enroll")
    mutant.to_connect_device(token)
    device = mutant.device(token, X_Client_Kind="mobile", X_Client_Version="4.3.1575")
    assert "qr_png_base64" in device.json


@pytest.mark.parametrize("mutant", ["manual_key_truncated"], indirect=True)
def test_manual_key_truncated_drops_the_last_group(mutant: Api) -> None:
    token = mutant.token(V5, expect="enroll")
    mutant.to_connect_device(token)
    device = mutant.device(token).json
    secret = device["otpauth_uri"].split("secret=")[1].split("&")[0]
    assert device["manual_key"].replace(" ", "") == secret[:28]


@pytest.mark.parametrize("mutant", ["cacheable_provisioning"], indirect=True)
def test_cacheable_provisioning_forgets_no_store(mutant: Api) -> None:
    token = mutant.token(V5, expect="enroll")
    mutant.to_connect_device(token)
    assert "no-store" not in mutant.device(token).headers.get("Cache-Control", "")


@pytest.mark.parametrize("mutant", ["unencoded_label"], indirect=True)
def test_unencoded_label_writes_the_label_without_percent_encoding(mutant: Api) -> None:
    token = mutant.token(V5, expect="enroll")
    mutant.to_connect_device(token)
    uri = mutant.device(token).json["otpauth_uri"]
    assert uri.startswith("otpauth://totp/Remote Support:v5@example.com?secret=")
    assert "&issuer=Remote%20Support&" in uri


@pytest.mark.parametrize("mutant", ["email_budget_per_code"], indirect=True)
def test_email_budget_per_code_gives_each_new_code_fresh_guesses(mutant: Api) -> None:
    assert mutant.get("/__harness__/policy").json["email_code"]["daily_budget"] == 100
    policy = mutant.services.policy
    token = mutant.token(V5, expect="enroll")
    assert mutant.start(token).status_code == 202
    for _ in range(21):  # 105 wrong codes: more than the budget it declares
        wrong = f"{(int(mutant.mail_code(V5[0])) + 1) % 1_000_000:06d}"
        for _ in range(policy.email_code_max_attempts):
            assert error_code(mutant.verify_email(token, wrong)) == "email_code_invalid"
        mutant.advance(policy.email_code_resend_cooldown_seconds)
        assert mutant.post("/api/v1/enrollment/email/resend", token).status_code == 202
    assert mutant.verify_email(token, mutant.mail_code(V5[0])).status_code == 200


@pytest.mark.parametrize("mutant", ["binding_not_mailed"], indirect=True)
def test_binding_not_mailed_binds_without_a_notice(mutant: Api) -> None:
    mutant.enroll(V5)
    assert [m for m in mutant.mails(V5[0]) if m["code"] is None] == []
    assert mutant.get("/__harness__/policy").json["notifications"]["device_bound"]


@pytest.mark.parametrize("mutant", ["unknown_emails_never_lock"], indirect=True)
def test_unknown_emails_never_lock_tells_which_accounts_exist(mutant: Api) -> None:
    max_failures = mutant.services.policy.password_max_failures
    for _ in range(max_failures):
        mutant.sign_in((V5[0], "wrong-password"))
        mutant.sign_in(("nobody@example.com", "wrong-password"))
    assert error_code(mutant.sign_in((V5[0], "wrong-password"))) == "account_locked"
    assert error_code(mutant.sign_in(("nobody@example.com", "x" * 12))) == "invalid_credentials"


@pytest.mark.parametrize("mutant", ["sign_in_lock_not_mailed"], indirect=True)
def test_sign_in_lock_not_mailed_locks_silently(mutant: Api) -> None:
    for _ in range(mutant.services.policy.password_max_failures):
        mutant.sign_in((V5[0], "wrong-password"))
    assert error_code(mutant.sign_in(V5)) == "account_locked"
    assert mutant.mails(V5[0]) == []
