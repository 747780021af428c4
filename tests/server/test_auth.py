"""Sign-in and the second factor: every row and error of the agent-flow table."""

from __future__ import annotations

import pytest

from .conftest import OTHER, V5, Api, error_code


@pytest.mark.parametrize(
    "credentials",
    [("v5@example.com", "wrong-password"), ("nobody@example.com", "password-v5")],
)
def test_invalid_credentials_also_for_unknown_email(api: Api, credentials: tuple[str, str]) -> None:
    response = api.sign_in(credentials)
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"


def test_email_is_case_insensitive(api: Api) -> None:
    assert api.sign_in(("V5@Example.COM", "password-v5")).status_code == 200


def test_repeated_wrong_passwords_lock_sign_in(api: Api) -> None:
    for _ in range(10):
        assert error_code(api.sign_in((V5[0], "nope-nope"))) == "invalid_credentials"
    response = api.sign_in(V5)
    assert response.status_code == 423
    assert error_code(response) == "account_locked"
    assert response.headers["Retry-After"] == "300"
    api.advance(300)
    assert api.sign_in(V5).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "x",
        {"email": "a@b.c"},
        {"email": 1, "password": "x"},
        {"email": "a", "password": None},
    ],
)
def test_sign_in_malformed_request(api: Api, body: object) -> None:
    response = api.post("/api/v1/auth/sign-in", json=body)
    assert response.status_code == 400
    assert error_code(response) == "malformed_request"


def test_otp_wrong_stage(api: Api) -> None:
    enroll_token = api.token(V5, expect="enroll")
    response = api.otp(enroll_token, "123456")
    assert response.status_code == 409
    assert error_code(response) == "wrong_stage"
    full = api.token(OTHER, expect="done")
    assert error_code(api.otp(full, "123456")) == "wrong_stage"


@pytest.mark.parametrize(
    "code",
    [
        123456,
        "12345",
        "1234567",
        " 123456",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
        "\u0660\u0661\u0662\u0663\u0664\u0665",
        "\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6",
        None,
        "",
        "12345x",
    ],
)
def test_otp_malformed_code_is_not_an_attempt(api: Api, code: object) -> None:
    generator = api.enroll(V5).generator
    partial = api.token(V5)
    for _ in range(6):
        response = api.otp(partial, code)
        assert response.status_code == 400
        assert error_code(response) == "malformed_code"
    api.advance(30)
    assert api.otp(partial, api.code(generator)).status_code == 200


def test_otp_without_token(api: Api) -> None:
    response = api.otp("not-a-token", "123456")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"
    assert error_code(api.post("/api/v1/auth/otp", json={"code": "123456"})) == "unauthenticated"
    response = api.client.post(
        "/api/v1/auth/otp", json={"code": "123456"}, headers={"Authorization": "Basic abc"}
    )
    assert error_code(response) == "unauthenticated"


def test_tokens_are_random_and_long(api: Api) -> None:
    tokens = {api.token(OTHER) for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(t) >= 43 for t in tokens)  # 32 bytes, url-safe base64


def test_partial_tokens_expire(api: Api) -> None:
    token = api.token(V5)
    api.advance(1799)
    assert api.get("/api/v1/me", token).status_code == 200
    api.advance(1)
    assert error_code(api.get("/api/v1/me", token)) == "unauthenticated"


def test_full_tokens_expire_after_12_hours(api: Api) -> None:
    token = api.token(OTHER)
    api.advance(12 * 3600 - 1)
    assert api.get("/api/v1/me", token).status_code == 200
    api.advance(1)
    assert api.get("/api/v1/me", token).status_code == 401


def test_me_shapes(api: Api) -> None:
    me = api.get("/api/v1/me", api.token(OTHER)).json
    assert me == {
        "email": OTHER[0],
        "role": "agent",
        "seat": "rescue_lens",
        "stage": "done",
        "two_factor": {"required": False, "enrolled": False, "device": None},
    }
