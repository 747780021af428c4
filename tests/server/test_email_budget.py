"""The account's budget of wrong email codes: no resend or sign-in refills it (issue 14).

Every resend used to issue a new code with fresh attempts, so an attacker with
the password guessed thousands of codes a day at the one code that stands
between the password and binding their own device. Now at most
``daily_budget`` (100) wrong codes count per account over a rolling day of
server time; then enrollment and re-enrollment answer 429
``email_code_budget_exhausted`` until the day has room again or an admin unlocks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer

from reference_server.app import create_app
from reference_server.clock import ServerClock
from reference_server.models import EmailCodeFailure
from reference_server.policy import PolicyError

from .conftest import T0, V5, Api, at_once, error_code, post_json, threaded_server

DAY = 86_400


def wrong_for(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def small_budget_api(app_config: dict[str, Any], clock: ServerClock) -> Iterator[Api]:
    """A server with a budget of 3 wrong email codes a day."""
    app = create_app({**app_config, "POLICY": {"email_code": {"daily_budget": 3}}})
    api = Api(app.test_client(), app, clock)
    api.reset()
    yield api
    app.extensions["twofa"].engine.dispose()


def spend(api: Api, who: tuple[str, str], wrong_codes: int) -> str:
    """``wrong_codes`` wrong email codes, a new code (resend, every third a new sign-in)
    whenever one is used up; the token at the email step."""
    policy = api.services.policy
    api.advance(policy.email_code_resend_cooldown_seconds)  # past an earlier mail's cooldown
    token = api.token(who)
    assert api.start(token).status_code == 202
    counted, codes = 0, 1
    while counted < wrong_codes:
        response = api.verify_email(token, wrong_for(api.mail_code(who[0])))
        if response.status_code == 401:
            counted += 1
            continue
        assert error_code(response) == "too_many_attempts", response.json
        api.advance(policy.email_code_resend_cooldown_seconds)
        codes += 1
        if codes % 3 == 0:
            token = api.token(who)
            assert api.start(token).status_code == 202
        else:
            assert api.post("/api/v1/enrollment/email/resend", token).status_code == 202
    return token


def test_resends_and_new_sign_ins_do_not_refill_the_budget(api: Api) -> None:
    policy = api.services.policy
    assert policy.email_code_daily_budget == 100
    token = spend(api, V5, 100)
    assert api.services.policy.email_code_max_attempts == 5  # so that took 20 codes
    # The open code is now refused even with its right value ...
    refused = api.verify_email(token, api.mail_code(V5[0]))
    assert error_code(refused) == "email_code_budget_exhausted"
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= DAY
    # ... and no new code is mailed: not by a resend, not from a new sign-in.
    mails = len(api.mails(V5[0]))
    api.advance(policy.email_code_resend_cooldown_seconds)
    resend = api.post("/api/v1/enrollment/email/resend", token)
    assert error_code(resend) == "email_code_budget_exhausted"
    fresh = api.token(V5, expect="enroll")
    started = api.start(fresh)
    assert error_code(started) == "email_code_budget_exhausted"
    assert started.json["error"]["retry_after"] == int(started.headers["Retry-After"])
    assert [m for m in api.mails(V5[0])[mails:] if m["code"]] == []


def test_the_budget_recovers_over_a_rolling_day(small_budget_api: Api, clock: ServerClock) -> None:
    api = small_budget_api
    token = api.token(V5)
    assert api.start(token).status_code == 202
    code = api.mail_code(V5[0])
    for offset in (0, 100, 200):  # three wrong codes, at T0, T0+100, T0+200
        clock.set(T0 + offset)
        assert error_code(api.verify_email(token, wrong_for(code))) == "email_code_invalid"
    clock.set(T0 + 300)
    spent = api.verify_email(token, code)
    assert error_code(spent) == "email_code_budget_exhausted"
    assert int(spent.headers["Retry-After"]) == DAY - 300  # when the T0 one leaves the day
    clock.set(T0 + DAY - 1)
    assert error_code(api.start(api.token(V5))) == "email_code_budget_exhausted"
    clock.set(T0 + DAY)  # the first wrong code is a day old: room for exactly one
    new = api.token(V5)
    assert api.start(new).status_code == 202
    assert error_code(api.verify_email(new, wrong_for(api.mail_code(V5[0])))) == (
        "email_code_invalid"
    )
    assert error_code(api.verify_email(new, api.mail_code(V5[0]))) == (
        "email_code_budget_exhausted"
    )
    clock.set(T0 + DAY + 200)  # the other two are a day old too
    assert api.verify_email(new, api.mail_code(V5[0])).status_code == 200


def test_an_admin_unlock_restores_the_budget(api: Api) -> None:
    token = spend(api, V5, 100)
    assert error_code(api.verify_email(token, api.mail_code(V5[0]))) == (
        "email_code_budget_exhausted"
    )
    admin = api.admin()
    agent = next(a for a in api.get("/api/v1/admin/agents", admin).json if a["email"] == V5[0])
    assert api.post(f"/api/v1/admin/agents/{agent['id']}/unlock", admin).status_code == 200
    # That code had its own five wrong tries: a new one, which now works.
    api.advance(api.services.policy.email_code_resend_cooldown_seconds)
    assert api.post("/api/v1/enrollment/email/resend", token).status_code == 202
    assert api.verify_email(token, api.mail_code(V5[0])).status_code == 200


def test_a_spent_budget_leaves_sign_in_with_the_current_device(api: Api) -> None:
    generator = api.enroll(V5).generator
    api.advance(api.services.policy.email_code_resend_cooldown_seconds)
    spend(api, V5, 100)  # an attacker with the password tries to set up their own device
    api.advance(30)
    partial = api.token(V5, expect="verify_otp")
    assert error_code(api.start(partial)) == "email_code_budget_exhausted"
    assert api.otp(partial, api.code(generator)).status_code == 200


def test_spending_the_budget_mails_the_owner_once(api: Api) -> None:
    spend(api, V5, 99)
    assert [m for m in api.mails(V5[0]) if not m["code"]] == []
    token = spend(api, V5, 1)
    notices = [m for m in api.mails(V5[0]) if not m["code"]]
    assert [m["subject"] for m in notices] == ["Two-Factor Authentication enrollment locked"]
    assert "100 wrong email verification codes" in notices[0]["body"]
    assert "Signing in with your current device still works" in notices[0]["body"]
    api.verify_email(token, api.mail_code(V5[0]))  # refused: no second notice
    assert len([m for m in api.mails(V5[0]) if not m["code"]]) == 1


def test_expired_codes_and_used_up_codes_do_not_count(api: Api) -> None:
    policy = api.services.policy
    token = api.token(V5)
    assert api.start(token).status_code == 202
    code = api.mail_code(V5[0])
    for _ in range(policy.email_code_max_attempts + 3):  # 5 wrong, then 3 refused unchecked
        api.verify_email(token, wrong_for(code))
    api.advance(policy.email_code_ttl_seconds + 1)
    assert error_code(api.verify_email(token, wrong_for(code))) == "email_code_expired"
    with api.services.sessions() as db:
        counted = db.scalar(select(func.count()).select_from(EmailCodeFailure))
    assert counted == policy.email_code_max_attempts


@pytest.mark.parametrize("budget", [0, 101])
def test_a_budget_outside_nists_ceiling_is_refused(budget: int) -> None:
    from reference_server.policy import policy_from_mapping

    with pytest.raises(PolicyError, match="daily_budget"):
        policy_from_mapping({"email_code": {"daily_budget": budget}})


@pytest.fixture
def small_budget_server(app_config: dict[str, Any]) -> Iterator[tuple[Flask, BaseWSGIServer]]:
    app = create_app({**app_config, "POLICY": {"email_code": {"daily_budget": 3}}})
    with threaded_server(app) as server:
        yield app, server
    app.extensions["twofa"].engine.dispose()


def test_parallel_wrong_codes_never_exceed_the_budget(
    small_budget_server: tuple[Flask, BaseWSGIServer], clock: ServerClock
) -> None:
    """Ten wrong codes at once against a budget of 3 (and 5 per code): exactly 3 are
    checked, the others are refused unchecked; the table holds exactly 3."""
    app, server = small_budget_server
    api = Api(app.test_client(), app, clock)
    api.reset()
    token = api.token(V5)
    assert api.start(token).status_code == 202
    wrong = wrong_for(api.mail_code(V5[0]))
    path, port = "/api/v1/enrollment/email/verify", server.server_port
    results = at_once([lambda: post_json(port, path, {"code": wrong}, token)] * 10)
    codes = Counter(body["error"]["code"] for _, body in results)
    assert codes == {"email_code_invalid": 3, "email_code_budget_exhausted": 7}, codes
    with api.services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(EmailCodeFailure)) == 3


def test_the_wizard_page_says_enrollment_is_locked_and_for_how_long(small_budget_api: Api) -> None:
    from .test_web import Browser

    api = small_budget_api
    web = Browser(api.app)
    web.sign_in(V5)
    assert web.submit("/enroll").heading == "Verification email has been sent"
    wrong = wrong_for(api.mail_code(V5[0]))
    for _ in range(3):
        assert web.submit("/enroll/email", {"code": wrong}).status == 401
    page = web.submit("/enroll/email", {"code": api.mail_code(V5[0])})
    assert page.status == 429
    assert "setting up two-factor authentication is locked" in page.alert
    assert "Try again in 24 hours, or ask your account admin to unlock it." in page.alert
