"""Window edges, drift tracking, replay and throttling (RFC 6238 §5.2, §6; RFC 4226 §7.3)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from reference_server.app import create_app

from .conftest import ADMIN, V5, Api, Enrolled, error_code


@pytest.fixture
def enrolled(api: Api) -> Enrolled:
    """Enrolled, and one more step on: the whole window (now-1 .. now+1) is unused."""
    done = api.enroll(V5)
    api.advance(30)
    return done


@pytest.mark.parametrize(
    ("steps", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_window_edges(api: Api, enrolled: Enrolled, steps: int, accepted: bool) -> None:
    partial = api.token(V5, expect="verify_otp")
    response = api.otp(partial, api.code(enrolled.generator, steps))
    assert (response.status_code == 200) is accepted
    if not accepted:
        assert error_code(response) == "otp_invalid"


def test_code_generated_at_end_of_step_accepted_two_seconds_later(
    api: Api, enrolled: Enrolled
) -> None:
    api.advance(29)  # 30k + 29
    code = api.code(enrolled.generator)
    partial = api.token(V5)
    api.advance(2)  # 30k + 31: the code is now one step old
    assert api.otp(partial, code).status_code == 200


def test_code_for_the_current_step_at_its_last_second(api: Api, enrolled: Enrolled) -> None:
    api.advance(29.999)
    partial = api.token(V5)
    assert api.otp(partial, api.code(enrolled.generator)).status_code == 200


def test_drift_is_recorded_and_recentres_the_window(api: Api, enrolled: Enrolled) -> None:
    generator = enrolled.generator
    # The device runs one step behind: its code is the previous step's.
    assert api.otp(api.token(V5), api.code(generator, -1)).status_code == 200
    api.advance(60)
    # Centred on now - 1, the window is now-2 .. now: two steps back is accepted ...
    assert api.otp(api.token(V5), api.code(generator, -2)).status_code == 200
    api.advance(30)
    # ... and one step ahead of the server is no longer accepted.
    assert error_code(api.otp(api.token(V5), api.code(generator, 1))) == "otp_invalid"


def test_drift_is_bounded(api: Api, enrolled: Enrolled) -> None:
    generator = enrolled.generator
    for behind in (1, 2, 3):
        assert api.otp(api.token(V5), api.code(generator, -behind)).status_code == 200
        api.advance(60)
    # recorded drift is clamped to -2 steps, so the window is now-3 .. now-1
    assert error_code(api.otp(api.token(V5), api.code(generator, -4))) == "otp_invalid"
    assert api.otp(api.token(V5), api.code(generator, -3)).status_code == 200


def test_without_drift_tracking_the_window_stays_put(
    app_config: dict[str, Any], clock: Any
) -> None:
    app: Flask = create_app({**app_config, "POLICY": {"drift": {"tracking": False}}})
    api = Api(app.test_client(), app, clock)
    api.reset()
    generator = api.enroll(V5).generator
    api.advance(30)
    assert api.otp(api.token(V5), api.code(generator, -1)).status_code == 200
    api.advance(60)
    assert error_code(api.otp(api.token(V5), api.code(generator, -2))) == "otp_invalid"
    policy = api.get("/__harness__/policy").json
    assert policy["drift"]["tracking"] is False
    app.extensions["twofa"].engine.dispose()


def test_same_code_twice_is_a_replay(api: Api, enrolled: Enrolled) -> None:
    code = api.code(enrolled.generator)
    assert api.otp(api.token(V5), code).status_code == 200
    response = api.otp(api.token(V5), code)
    assert response.status_code == 401
    assert error_code(response) == "otp_reused"
    api.advance(15)  # same step, still inside the window: still a replay
    assert error_code(api.otp(api.token(V5), code)) == "otp_reused"


def test_older_unused_step_after_a_newer_one_is_refused(api: Api, enrolled: Enrolled) -> None:
    assert api.otp(api.token(V5), api.code(enrolled.generator, 0)).status_code == 200
    older = api.code(enrolled.generator, -1)  # in the window, never used
    assert error_code(api.otp(api.token(V5), older)) == "otp_reused"
    api.advance(30)
    assert api.otp(api.token(V5), api.code(enrolled.generator)).status_code == 200


def test_late_code_replayed_in_the_next_step(api: Api, enrolled: Enrolled) -> None:
    late = api.code(enrolled.generator, -1)
    assert api.otp(api.token(V5), late).status_code == 200
    assert error_code(api.otp(api.token(V5), late)) == "otp_reused"


def test_throttling_holds_across_sessions(api: Api, enrolled: Enrolled) -> None:
    sessions = [api.token(V5) for _ in range(6)]
    wrong = api.wrong(enrolled.generator)
    for token in sessions[:5]:
        assert error_code(api.otp(token, wrong)) == "otp_invalid"
    # the sixth attempt, in yet another session, with the right code: locked
    response = api.otp(sessions[5], api.code(enrolled.generator))
    assert response.status_code == 423
    assert error_code(response) == "otp_locked"
    assert response.headers["Retry-After"] == "300"
    # signing in again does not reset anything: sign-in itself answers 423 now
    response = api.sign_in(V5)
    assert response.status_code == 423
    assert error_code(response) == "account_locked"
    assert response.headers["Retry-After"] == "300"
    # and "set up a new mobile device" is closed while locked
    assert error_code(api.start(sessions[0])) == "otp_locked"
    api.advance(299)
    assert api.sign_in(V5).headers["Retry-After"] == "1"
    api.advance(1)
    assert api.otp(sessions[5], api.code(enrolled.generator)).status_code == 200


def test_reused_codes_count_toward_the_lock(api: Api, enrolled: Enrolled) -> None:
    code = api.code(enrolled.generator)
    assert api.otp(api.token(V5), code).status_code == 200
    token = api.token(V5)
    for _ in range(5):
        assert error_code(api.otp(token, code)) == "otp_reused"
    assert error_code(api.otp(token, code)) == "otp_locked"


def test_consecutive_failures_survive_lock_expiry(api: Api, enrolled: Enrolled) -> None:
    wrong = api.wrong(enrolled.generator)
    token = api.token(V5)
    for _ in range(5):
        api.otp(token, wrong)
    api.advance(300)
    token = api.token(V5)
    for _ in range(4):
        assert error_code(api.otp(token, wrong)) == "otp_invalid"
    assert error_code(api.otp(token, wrong)) == "otp_invalid"  # the 10th failure locks again
    assert error_code(api.otp(token, api.code(enrolled.generator))) == "otp_locked"


def test_success_resets_the_failure_count(api: Api, enrolled: Enrolled) -> None:
    wrong = api.wrong(enrolled.generator)
    token = api.token(V5)
    for _ in range(4):
        api.otp(token, wrong)
    assert api.otp(token, api.code(enrolled.generator)).status_code == 200
    token = api.token(V5)
    for _ in range(4):
        assert error_code(api.otp(token, wrong)) == "otp_invalid"
    api.advance(30)
    assert api.otp(token, api.code(enrolled.generator)).status_code == 200


def test_never_more_than_100_consecutive_failures(api: Api, enrolled: Enrolled) -> None:
    generator = enrolled.generator
    failures = 0
    while True:
        response = api.sign_in(V5)
        if response.status_code != 200:
            break
        token = response.json["token"]
        for _ in range(5):
            reply = api.otp(token, api.wrong(generator))
            assert reply.status_code == 401
            failures += 1
        api.advance(300)
    assert failures == 100
    assert error_code(response) == "account_locked"
    assert "Retry-After" not in response.headers
    assert response.json["error"]["unlock"] == "admin"
    api.advance(86_400 * 30)  # a month later: still locked
    assert error_code(api.sign_in(V5)) == "account_locked"
    # an admin unlocks it
    admin = api.admin()
    agents = api.get("/api/v1/admin/agents", admin).json
    agent = next(a for a in agents if a["email"] == V5[0])
    assert agent["two_factor"]["locked"] is True
    unlocked = api.post(f"/api/v1/admin/agents/{agent['id']}/unlock", admin)
    assert unlocked.status_code == 200
    assert unlocked.json["two_factor"]["locked"] is False
    assert api.otp(api.token(V5), api.code(generator)).status_code == 200
    assert ADMIN


def test_policy_reports_the_defaults(api: Api) -> None:
    policy = api.get("/__harness__/policy").json
    assert policy["window"] == {"back": 1, "forward": 1}
    assert policy["drift"]["tracking"] is True
    assert policy["drift"]["max_steps"] == 2
    assert policy["replay"] == "monotonic_step"
    assert policy["throttle"]["max_failures"] == 5
    assert policy["throttle"]["lock_seconds"] == 300
    assert policy["throttle"]["counts_reused"] is True
    assert policy["throttle"]["hard_limit"] <= 100
    numbers = {k: v for k, v in policy["email_code"].items() if isinstance(v, int)}
    assert numbers == {
        "digits": 6,
        "ttl_seconds": 600,
        "max_attempts": 5,
        "daily_budget": 100,
        "budget_window_seconds": 86400,
        "resend_cooldown_seconds": 30,
    }
    assert policy["email_code"]["attempts_scope"] == "account"
    assert policy["throttle"]["password"]["unknown_accounts_lock"] is True
    assert policy["totp"]["algorithm"] == "SHA1"
    assert policy["totp"]["secret_bytes"] == 20
    assert policy["minimum_client"] == {"version": "4.3", "build": 1575}
    assert policy["sessions"]["on_two_factor_enabled"] == "demote"


@pytest.mark.parametrize(("algorithm", "length"), [("SHA256", 32), ("SHA512", 64)])
def test_secret_length_follows_the_algorithm(
    app_config: dict[str, Any], clock: Any, algorithm: str, length: int
) -> None:
    app = create_app({**app_config, "POLICY": {"totp": {"algorithm": algorithm, "digits": 8}}})
    api = Api(app.test_client(), app, clock)
    api.reset()
    token = api.token(V5)
    generator = api.to_connect_device(token)
    device = api.device(token).json
    assert device["algorithm"] == algorithm
    assert device["digits"] == 8
    from simulators.hotp import decode_base32

    assert len(decode_base32(device["manual_key"].replace(" ", ""))) == length
    assert error_code(api.confirm(token, api.code(generator)[:6])) == "malformed_code"
    response = api.confirm(token, api.code(generator))
    assert response.status_code == 200
    me = api.get("/api/v1/me", response.json["token"]).json
    assert me["two_factor"]["device"]["algorithm"] == algorithm
    app.extensions["twofa"].engine.dispose()
