"""Enrollment: email verification (expiry, resend, attempts, cooldown), device, confirm."""

from __future__ import annotations

import base64
import io
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from PIL import Image

from simulators.hotp import CodeGenerator, decode_base32

from .conftest import OTHER, RS, V5, Api, error_code


def _mails(api: Api, email: str) -> list[dict[str, object]]:
    mails: list[dict[str, object]] = api.get(f"/__harness__/mailbox?to={email}").json
    return mails


def test_email_code_expires(api: Api) -> None:
    token = api.token(V5)
    api.start(token)
    code = api.mail_code(V5[0])
    api.advance(600)  # ttl 600 s: expired at exactly ttl
    response = api.verify_email(token, code)
    assert response.status_code == 410
    assert error_code(response) == "email_code_expired"


def test_email_code_valid_just_before_expiry(api: Api) -> None:
    token = api.token(V5)
    api.start(token)
    code = api.mail_code(V5[0])
    api.advance(599)
    assert api.verify_email(token, code).status_code == 200


def test_resend_kills_the_old_code_and_respects_the_cooldown(api: Api) -> None:
    token = api.token(V5)
    api.start(token)
    first = api.mail_code(V5[0])
    response = api.post("/api/v1/enrollment/email/resend", token)
    assert response.status_code == 429
    assert error_code(response) == "resend_too_soon"
    assert response.headers["Retry-After"] == "30"
    assert response.json["error"]["retry_after"] == 30
    api.advance(29)
    assert api.post("/api/v1/enrollment/email/resend", token).headers["Retry-After"] == "1"
    api.advance(1)
    response = api.post("/api/v1/enrollment/email/resend", token)
    assert response.status_code == 202
    assert response.json["next"] == "verify_email"
    second = api.mail_code(V5[0])
    assert len(_mails(api, V5[0])) == 2
    if first != second:
        assert error_code(api.verify_email(token, first)) == "email_code_invalid"
    assert api.verify_email(token, second).status_code == 200


def test_start_is_rate_limited_across_sessions(api: Api) -> None:
    token = api.token(V5)
    assert api.start(token).status_code == 202
    other = api.token(V5)
    response = api.start(other)
    assert response.status_code == 429
    assert error_code(response) == "resend_too_soon"
    assert "Retry-After" in response.headers


def test_email_code_attempt_limit(api: Api) -> None:
    token = api.token(V5)
    api.start(token)
    code = api.mail_code(V5[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = api.verify_email(token, wrong)
        assert response.status_code == 401
        assert error_code(response) == "email_code_invalid"
    response = api.verify_email(token, code)
    assert response.status_code == 429
    assert error_code(response) == "too_many_attempts"
    # a new code gets fresh attempts
    api.advance(30)
    assert api.post("/api/v1/enrollment/email/resend", token).status_code == 202
    assert api.verify_email(token, api.mail_code(V5[0])).status_code == 200


def test_email_code_is_single_use(api: Api) -> None:
    token = api.token(V5)
    api.start(token)
    code = api.mail_code(V5[0])
    assert api.verify_email(token, code).status_code == 200
    assert error_code(api.verify_email(token, code)) == "wrong_stage"


@pytest.mark.parametrize(
    "code",
    [
        123456,
        "12345",
        "1234567",
        "12 345",
        "\u0661\u0662\u0663\u0664\u0665\u0666",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
        "",
        None,
        "abcdef",
        ["123456"],
    ],
)
def test_email_code_must_be_six_ascii_digits(api: Api, code: object) -> None:
    token = api.token(V5)
    api.start(token)
    response = api.verify_email(token, code)
    assert response.status_code == 400
    assert error_code(response) == "malformed_code"
    # a malformed code is not an attempt
    real = api.mail_code(V5[0])
    assert api.verify_email(token, real).status_code == 200


def test_device_provisioning(api: Api) -> None:
    token = api.token(V5)
    api.to_connect_device(token)
    response = api.device(token)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    device = response.json
    key = device["manual_key"]
    groups = key.split(" ")
    assert all(len(g) == 4 for g in groups)
    assert len(groups) == 8
    secret = decode_base32(key.replace(" ", ""))
    assert len(secret) == 20
    uri = urlsplit(device["otpauth_uri"])
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert unquote(uri.path) == f"/{device['issuer']}:{V5[0]}"
    query = {k: v[0] for k, v in parse_qs(uri.query).items()}
    assert query == {
        "secret": key.replace(" ", ""),
        "issuer": device["issuer"],
        "algorithm": "SHA1",
        "digits": "6",
        "period": "30",
    }
    assert "=" not in query["secret"]
    assert device["account"] == V5[0]
    png = base64.b64decode(device["qr_png_base64"], validate=True)
    assert png.startswith(b"\x89PNG")
    import zxingcpp

    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [d.text for d in decoded] == [device["otpauth_uri"]]
    # same secret until confirmed or restarted
    assert api.device(token).json["manual_key"] == key


def test_mobile_clients_get_no_qr(api: Api) -> None:
    token = api.token(V5)
    api.to_connect_device(token)
    mobile = api.device(token, X_Client_Kind="mobile", X_Client_Version="4.3.1575")
    assert mobile.status_code == 200
    assert "qr_png_base64" not in mobile.json
    assert mobile.json["manual_key"]
    desktop = api.device(token, X_Client_Kind="desktop", X_Client_Version="4.3.1575")
    assert "qr_png_base64" in desktop.json


def test_restarting_enrollment_issues_a_new_secret(api: Api) -> None:
    token = api.token(V5)
    first = api.to_connect_device(token)
    api.advance(30)
    second = api.to_connect_device(token)
    assert first.code_at(0) != second.code_at(0) or first.code_at(30) != second.code_at(30)
    # the abandoned secret no longer confirms
    assert error_code(api.confirm(token, api.code(first))) == "otp_invalid"
    assert api.confirm(token, api.code(second)).status_code == 200


def test_confirm_with_a_wrong_code(api: Api) -> None:
    token = api.token(V5)
    generator = api.to_connect_device(token)
    wrong = api.code(generator, steps=5)
    response = api.confirm(token, wrong)
    assert response.status_code == 401
    assert error_code(response) == "otp_invalid"
    assert api.confirm(token, api.code(generator)).status_code == 200


def test_setup_code_step_counts_as_used(api: Api) -> None:
    token = api.token(V5)
    generator = api.to_connect_device(token)
    setup = api.code(generator)
    assert api.confirm(token, setup).status_code == 200
    partial = api.token(V5, expect="verify_otp")
    assert error_code(api.otp(partial, setup)) == "otp_reused"
    api.advance(30)
    assert api.otp(partial, api.code(generator)).status_code == 200


def test_confirm_locks_after_repeated_wrong_setup_codes(api: Api) -> None:
    token = api.token(V5)
    generator = api.to_connect_device(token)
    wrong = api.code(generator, steps=10)
    for _ in range(5):
        assert error_code(api.confirm(token, wrong)) == "otp_invalid"
    response = api.confirm(token, api.code(generator))
    assert response.status_code == 423
    assert error_code(response) == "otp_locked"
    assert int(response.headers["Retry-After"]) == 300


@pytest.mark.parametrize(
    ("call", "stage_needed"),
    [
        ("resend", "verify_email"),
        ("verify", "verify_email"),
        ("device", "connect_device"),
        ("confirm", "connect_device"),
    ],
)
def test_enrollment_steps_out_of_order_are_wrong_stage(
    api: Api, call: str, stage_needed: str
) -> None:
    token = api.token(V5, expect="enroll")
    if stage_needed == "connect_device":
        api.start(token)  # now in verify_email, still not connect_device
    responses = {
        "resend": lambda: api.post("/api/v1/enrollment/email/resend", token),
        "verify": lambda: api.verify_email(token, "123456"),
        "device": lambda: api.device(token),
        "confirm": lambda: api.confirm(token, "123456"),
    }
    response = responses[call]()
    assert response.status_code == 409
    assert error_code(response) == "wrong_stage"


def test_full_token_of_an_agent_without_2fa_can_enroll(api: Api) -> None:
    token = api.token(OTHER, expect="done")
    generator = api.to_connect_device(token)
    response = api.confirm(token, api.code(generator))
    assert response.status_code == 200
    assert api.get("/api/v1/me", response.json["token"]).json["two_factor"]["enrolled"] is True
    # 2FA does not apply to this seat: sign-in stays password-only
    assert api.sign_in(OTHER).json["next"] == "done"


def test_mail_goes_through_real_smtp(api: Api) -> None:
    token = api.token(RS)
    api.start(token)
    mails = _mails(api, RS[0])
    assert len(mails) == 1
    assert mails[0]["to"] == RS[0]
    assert isinstance(mails[0]["code"], str)


def test_generator_matches_device_parameters(api: Api) -> None:
    token = api.token(V5)
    generator = api.to_connect_device(token)
    assert isinstance(generator, CodeGenerator)
    assert generator.period == 30
