"""Sign-in never reveals whether an account exists (issue 14).

Wrong passwords count and lock by the address submitted, so an unknown email
answers exactly like a known one: the same status, body and headers on the
first wrong password and after many. Response time is judged here by the code
path, not a stopwatch: a known and an unknown address run the same SQL
statements and one password hash each (the stored one or a dummy of the same
cost), which over HTTP would be a difference too small to measure without
flaking. The owner of a locked account gets a mail, at most one a day.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event
from werkzeug.serving import BaseWSGIServer

from .conftest import V5, Api, at_once, error_code, post_json

WRONG = "not-the-password"
UNKNOWN = "nobody@example.com"


def sign_in(api: Api, email: str, password: str = WRONG) -> Any:
    return api.sign_in((email, password))


def seen(response: Any) -> tuple[int, bytes, dict[str, str]]:
    """What a client sees: status, body, headers but the date."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "date"}
    return response.status_code, response.get_data(), headers


def test_a_known_and_an_unknown_email_answer_alike_first_and_after_many(api: Api) -> None:
    policy = api.services.policy
    for n in range(1, policy.password_max_failures + 3):
        known, unknown = sign_in(api, V5[0]), sign_in(api, UNKNOWN)
        assert seen(known) == seen(unknown), n
        expected = "invalid_credentials" if n <= policy.password_max_failures else "account_locked"
        assert error_code(known) == expected, n
    assert known.headers["Retry-After"] == str(policy.password_lock_seconds)
    api.advance(policy.password_lock_seconds)
    assert seen(sign_in(api, V5[0])) == seen(sign_in(api, UNKNOWN))
    assert sign_in(api, V5[0], V5[1]).status_code == 200  # the lock has ended


def test_the_address_is_counted_as_normalised(api: Api) -> None:
    max_failures = api.services.policy.password_max_failures
    for n in range(max_failures):
        sign_in(api, " V5@Example.COM " if n % 2 else V5[0])
    assert error_code(sign_in(api, V5[0], V5[1])) == "account_locked"


def test_the_right_password_starts_the_count_again(api: Api) -> None:
    max_failures = api.services.policy.password_max_failures
    for _ in range(max_failures - 1):
        sign_in(api, V5[0])
    assert sign_in(api, V5[0], V5[1]).status_code == 200
    for _ in range(max_failures - 1):
        assert error_code(sign_in(api, V5[0])) == "invalid_credentials"


def test_wrong_passwords_are_forgotten_after_a_quiet_day(api: Api) -> None:
    policy = api.services.policy
    for _ in range(policy.password_max_failures - 1):
        sign_in(api, UNKNOWN)
    api.advance(policy.password_forget_after_seconds + 1)
    for _ in range(policy.password_max_failures - 1):
        assert error_code(sign_in(api, UNKNOWN)) == "invalid_credentials"


class Statements:
    """The SQL a block runs, without its parameters."""

    def __init__(self, api: Api) -> None:
        self.engine = api.services.engine
        self.texts: list[str] = []

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.texts.append(" ".join(statement.split()))

    def __enter__(self) -> list[str]:
        self.texts = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.texts

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def test_a_known_and_an_unknown_email_run_the_same_code_path(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[bool] = []
    passwords = api.services.passwords
    verify = passwords.verify

    def counting(stored: str | None, password: str) -> bool:
        hashed.append(stored is not None)
        return verify(stored, password)

    monkeypatch.setattr(passwords, "verify", counting)
    statements = Statements(api)

    def answered(email: str) -> list[str]:
        """The statements run until the answer is ready (what runs once it is sent, the
        notices' delivery, is outside the answer's time)."""
        with statements as texts:
            response = api.client.post(
                "/api/v1/auth/sign-in", json={"email": email, "password": WRONG}
            )
        api.sent(response)
        return list(texts)

    known, unknown = answered(V5[0]), answered(UNKNOWN)
    assert known == unknown
    assert any(text.startswith("INSERT INTO sign_in_failures") for text in known)
    assert hashed == [True, False]  # one hash each: the agent's, then the dummy
    # The lock: the same statements but the queued mail to the account's owner.
    for _ in range(api.services.policy.password_max_failures - 2):
        sign_in(api, V5[0])
        sign_in(api, UNKNOWN)
    known, unknown = answered(V5[0]), answered(UNKNOWN)
    extra = [t for t in known if t not in unknown]
    assert len(known) == len(unknown) + 1
    [queued] = extra
    assert queued.startswith("INSERT INTO notices")


def test_the_owner_of_a_locked_account_is_mailed_once_a_day(api: Api) -> None:
    policy = api.services.policy

    def lock() -> None:
        for _ in range(policy.password_max_failures):
            sign_in(api, V5[0])
        assert error_code(sign_in(api, V5[0])) == "account_locked"

    lock()
    [mail] = api.mails(V5[0])
    assert mail["subject"] == "Sign-in locked"
    assert mail["code"] is None
    assert f"entered wrongly {policy.password_max_failures} times in a row" in mail["body"]
    assert WRONG not in mail["body"]
    assert api.mails(UNKNOWN) == []
    api.advance(policy.password_lock_seconds)
    lock()  # a second lock the same day: no second mail
    assert len(api.mails(V5[0])) == 1
    api.advance(86_400)
    lock()
    assert [m["subject"] for m in api.mails(V5[0])] == ["Sign-in locked", "Sign-in locked"]


def test_an_admin_unlock_ends_the_sign_in_lock(api: Api) -> None:
    admin = api.admin()
    for _ in range(api.services.policy.password_max_failures):
        sign_in(api, V5[0])
    assert error_code(sign_in(api, V5[0], V5[1])) == "account_locked"
    agent = next(a for a in api.get("/api/v1/admin/agents", admin).json if a["email"] == V5[0])
    assert api.post(f"/api/v1/admin/agents/{agent['id']}/unlock", admin).status_code == 200
    assert sign_in(api, V5[0], V5[1]).status_code == 200


@pytest.mark.parametrize("email", [V5[0], UNKNOWN])
def test_parallel_wrong_passwords_check_no_more_than_the_lock_allows(
    api: Api, live_server: BaseWSGIServer, email: str
) -> None:
    """Twenty wrong passwords at once: exactly ``max_failures`` are checked (401), the
    rest are refused unchecked (423), for a known and an unknown address alike."""
    body, port = {"email": email, "password": WRONG}, live_server.server_port
    results = at_once([lambda: post_json(port, "/api/v1/auth/sign-in", body)] * 20)
    codes = Counter(body["error"]["code"] for _, body in results)
    max_failures = api.services.policy.password_max_failures
    assert codes == {"invalid_credentials": max_failures, "account_locked": 20 - max_failures}
