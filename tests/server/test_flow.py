"""The seed's whole flow over the contract: sign-in, enrollment, login, support session."""

from __future__ import annotations

from .conftest import ADMIN, OTHER, RS, V5, Api, error_code


def test_whole_flow_enroll_login_host(api: Api) -> None:
    token = api.token(V5, expect="enroll")
    me = api.get("/api/v1/me", token).json
    assert me["stage"] == "enroll"
    assert me["two_factor"] == {"required": True, "enrolled": False, "device": None}

    started = api.start(token)
    assert started.status_code == 202
    assert started.json == {"next": "verify_email", "sent_to": "v***@example.com"}
    mail = api.get("/__harness__/mailbox?to=V5@EXAMPLE.COM").json[-1]
    assert mail["subject"] == "Email Verification"
    assert len(mail["code"]) == 6
    assert mail["code"] in mail["body"]
    assert mail["received_at"] == api.clock.now()

    verified = api.verify_email(token, mail["code"])
    assert verified.status_code == 200
    assert verified.json == {"next": "connect_device"}
    device = api.device(token).json
    assert device["algorithm"] == "SHA1"
    assert device["digits"] == 6
    assert device["period"] == 30

    from simulators.hotp import CodeGenerator, decode_base32

    generator = CodeGenerator(decode_base32(device["manual_key"].replace(" ", "")))
    confirmed = api.confirm(token, api.code(generator))
    assert confirmed.status_code == 200
    assert confirmed.json["next"] == "done"
    full = confirmed.json["token"]
    assert full != token
    assert error_code(api.get("/api/v1/me", token)) == "unauthenticated"  # partial token ended
    hosted = api.post("/api/v1/support-sessions", full, json={})
    assert hosted.status_code == 201
    assert set(hosted.json) == {"id", "join_code"}

    # Logging in again: password, then a *new* code (the setup step is used).
    partial = api.token(V5, expect="verify_otp")
    assert error_code(api.otp(partial, api.code(generator))) == "otp_reused"
    api.advance(30)
    answer = api.otp(partial, api.code(generator))
    assert answer.status_code == 200
    assert answer.json["next"] == "done"
    assert error_code(api.get("/api/v1/me", partial)) == "unauthenticated"
    full2 = answer.json["token"]
    me = api.get("/api/v1/me", full2).json
    assert me["stage"] == "done"
    assert me["two_factor"]["enrolled"] is True
    assert me["two_factor"]["device"]["algorithm"] == "SHA1"
    assert me["two_factor"]["device"]["enrolled_at"] == api.clock.now() - 30
    assert api.post("/api/v1/support-sessions", full2, json={}).status_code == 201


def test_seat_rule_other_seat_signs_in_with_password_only(api: Api) -> None:
    response = api.sign_in(OTHER)
    assert response.status_code == 200
    assert response.json["next"] == "done"
    token = response.json["token"]
    assert api.get("/api/v1/me", token).json["two_factor"]["required"] is False
    assert api.post("/api/v1/support-sessions", token, json={}).status_code == 201
    # both Remote Support seats are covered
    assert api.sign_in(V5).json["next"] == "enroll"
    assert api.sign_in(RS).json["next"] == "enroll"
    # the admin's own seat here is not a Remote Support seat
    assert api.sign_in(ADMIN).json["next"] == "done"


def test_two_factor_off_means_password_only_for_every_seat(api: Api) -> None:
    api.reset({**_seed_without_2fa(api)})
    for who in (V5, RS, OTHER):
        response = api.sign_in(who)
        assert response.json["next"] == "done"
        assert (
            api.post("/api/v1/support-sessions", response.json["token"], json={}).status_code == 201
        )


def _seed_without_2fa(api: Api) -> dict[str, object]:
    from .conftest import SEED

    return {**SEED, "two_factor_required": False}


def test_partial_token_cannot_host(api: Api) -> None:
    token = api.token(V5, expect="enroll")
    assert error_code(api.post("/api/v1/support-sessions", token, json={})) == (
        "second_factor_required"
    )
    assert api.post("/api/v1/support-sessions", token, json={}).status_code == 403
    enrolled = api.enroll(RS)
    partial = api.token(RS, expect="verify_otp")
    response = api.post("/api/v1/support-sessions", partial, json={})
    assert response.status_code == 403
    assert error_code(response) == "second_factor_required"
    assert api.post("/api/v1/support-sessions", enrolled.token, json={}).status_code == 201


def test_sign_out_ends_the_token(api: Api) -> None:
    token = api.token(OTHER)
    response = api.post("/api/v1/auth/sign-out", token)
    assert response.status_code == 204
    assert error_code(api.get("/api/v1/me", token)) == "unauthenticated"
    assert error_code(api.post("/api/v1/auth/sign-out", token)) == "unauthenticated"
    partial = api.token(V5)
    assert api.post("/api/v1/auth/sign-out", partial).status_code == 204
    assert error_code(api.start(partial)) == "unauthenticated"
