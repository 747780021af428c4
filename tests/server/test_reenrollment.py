"""Re-enrollment: "Set up a new mobile device" from the code prompt."""

from __future__ import annotations

from .conftest import V5, Api, error_code


def test_reenrollment_replaces_the_device_on_confirm(api: Api) -> None:
    old = api.enroll(V5).generator
    api.advance(30)
    session = api.full_token(V5, old)  # another live session of the agent
    api.advance(30)
    partial = api.token(V5, expect="verify_otp")
    started = api.start(partial)  # "Set up a new mobile device"
    assert started.status_code == 202
    assert started.json["next"] == "verify_email"
    assert api.get("/api/v1/me", partial).json["stage"] == "verify_email"
    assert api.verify_email(partial, api.mail_code(V5[0])).status_code == 200
    from simulators.hotp import CodeGenerator, decode_base32

    device = api.device(partial).json
    new = CodeGenerator(decode_base32(device["manual_key"].replace(" ", "")))

    # While unconfirmed, the old device still signs in.
    other = api.token(V5, expect="verify_otp")
    assert api.otp(other, api.code(old)).status_code == 200
    api.advance(30)

    confirmed = api.confirm(partial, api.code(new))
    assert confirmed.status_code == 200
    assert confirmed.json["next"] == "done"
    full = confirmed.json["token"]
    assert api.post("/api/v1/support-sessions", full, json={}).status_code == 201
    # confirming ended the agent's other sessions (declared choice)
    assert error_code(api.get("/api/v1/me", session)) == "unauthenticated"
    api.advance(30)
    # the old device is rejected at once, even with a fresh code of its own
    response = api.otp(api.token(V5), api.code(old))
    assert response.status_code == 401
    assert error_code(response) == "otp_invalid"
    assert api.otp(api.token(V5), api.code(new)).status_code == 200


def test_abandoned_reenrollment_leaves_the_old_device_working(api: Api) -> None:
    old = api.enroll(V5).generator
    partial = api.token(V5, expect="verify_otp")
    api.to_connect_device(partial)  # a new secret is issued but never confirmed
    api.advance(30)
    fresh = api.token(V5, expect="verify_otp")
    assert api.otp(fresh, api.code(old)).status_code == 200
    assert api.get("/api/v1/me", fresh).status_code == 401  # ended by the full token


def test_pending_secret_cannot_complete_a_sign_in(api: Api) -> None:
    api.enroll(V5)
    partial = api.token(V5, expect="verify_otp")
    pending = api.to_connect_device(partial)
    api.advance(30)
    response = api.otp(api.token(V5), api.code(pending))
    assert response.status_code == 401
    assert error_code(response) == "otp_invalid"


def test_reenrollment_is_closed_while_locked(api: Api) -> None:
    old = api.enroll(V5).generator
    partial = api.token(V5)
    for _ in range(5):
        api.otp(partial, api.wrong(old))
    response = api.start(partial)
    assert response.status_code == 423
    assert error_code(response) == "otp_locked"
    assert "Retry-After" in response.headers


def test_enrolled_device_count_stays_one(api: Api) -> None:
    old = api.enroll(V5).generator
    partial = api.token(V5)
    new = api.to_connect_device(partial)
    assert api.confirm(partial, api.code(new)).status_code == 200
    from sqlalchemy import select

    from reference_server.models import Device

    with api.services.sessions() as db:
        statuses = sorted(d.status for d in db.scalars(select(Device)))
    assert statuses == ["active", "retired"]
    assert old.period == new.period
