"""Binding a device mails the account's address (NIST SP 800-63B §6.1.2.1; issue 14).

The notice is queued in the binding's own transaction (an outbox row) and
handed to SMTP once the response is sent: a binding always has its notice, a
refused binding has none, and a mail server that refuses it leaves the device
bound and the notice pending for the next delivery.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reference_server.mail import MailError
from reference_server.models import Device, Notice
from reference_server.outbox import deliver_pending

from .conftest import V5, Api

SIX_DIGITS = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


def notices(api: Api, email: str) -> list[dict[str, Any]]:
    return [m for m in api.mails(email) if m["code"] is None]


def connect(api: Api, token: str) -> tuple[Any, dict[str, Any]]:
    generator = api.to_connect_device(token)
    return generator, api.device(token).json


def test_enrollment_mails_the_account_after_the_binding(api: Api) -> None:
    token = api.token(V5, expect="enroll")
    generator, device = connect(api, token)
    assert notices(api, V5[0]) == []
    setup_code = api.code(generator)
    assert api.confirm(token, setup_code).status_code == 200
    [notice] = notices(api, V5[0])
    assert notice["subject"] == "Two-Factor Authentication enrollment complete"
    body = notice["body"]
    assert "you completed the Two-Factor Authentication enrollment" in body
    assert "to log in and host support sessions" in body
    assert "If this was not you" in body
    secret = device["manual_key"].replace(" ", "")
    for leaked in (secret, device["manual_key"], setup_code, V5[0]):
        assert leaked not in body
    assert SIX_DIGITS.search(body) is None


def test_a_new_mobile_device_mails_that_it_replaced_the_old_one(api: Api) -> None:
    api.enroll(V5)
    api.advance(api.services.policy.email_code_resend_cooldown_seconds)
    partial = api.token(V5, expect="verify_otp")
    generator, _ = connect(api, partial)
    assert api.confirm(partial, api.code(generator)).status_code == 200
    subjects = [m["subject"] for m in notices(api, V5[0])]
    assert subjects == [
        "Two-Factor Authentication enrollment complete",
        "A new mobile device was set up for Two-Factor Authentication",
    ]
    assert "codes from the old device no longer work" in notices(api, V5[0])[-1]["body"]


def test_a_refused_setup_code_mails_nothing(api: Api) -> None:
    token = api.token(V5, expect="enroll")
    generator, _ = connect(api, token)
    assert api.confirm(token, api.wrong(generator)).status_code == 401
    assert notices(api, V5[0]) == []
    with api.services.sessions() as db:
        assert db.scalars(select(Notice)).all() == []


def test_the_notice_goes_out_only_once_the_response_is_sent(api: Api) -> None:
    token = api.token(V5, expect="enroll")
    generator, _ = connect(api, token)
    response = api.client.post(
        "/api/v1/enrollment/confirm",
        json={"code": api.code(generator)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert notices(api, V5[0]) == []  # queued with the binding, not yet handed to SMTP
    with api.services.sessions() as db:
        assert [n.status for n in db.scalars(select(Notice))] == ["pending"]
    api.sent(response)  # the server closes the response: delivery runs
    assert len(notices(api, V5[0])) == 1
    with api.services.sessions() as db:
        assert [n.status for n in db.scalars(select(Notice))] == ["sent"]


def test_a_refused_notice_leaves_the_device_bound_and_is_sent_later(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = api.services.mailer
    assert mailer is not None
    token = api.token(V5, expect="enroll")
    generator, _ = connect(api, token)

    def refuse(to: str, subject: str, body: str) -> None:
        raise MailError("SMTP refused the message")

    monkeypatch.setattr(mailer, "send", refuse)
    caplog.set_level(logging.INFO)
    assert api.confirm(token, api.code(generator)).status_code == 200
    with api.services.sessions() as db:
        assert db.scalars(select(Device.status)).all() == ["active"]
        [queued] = db.scalars(select(Notice)).all()
        assert (queued.status, queued.attempts) == ("pending", 1)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused by SMTP; it will be retried" in logged
    assert "Two-Factor Authentication enrollment" not in logged  # never the body
    monkeypatch.undo()
    assert deliver_pending(api.services) == 1
    assert [m["subject"] for m in notices(api, V5[0])] == [
        "Two-Factor Authentication enrollment complete"
    ]
    assert deliver_pending(api.services) == 0  # sent once


def test_a_web_confirmation_mails_the_account_too(app: Flask, api: Api) -> None:
    """The pages call the same flow; their confirm view delivers the notice the same way."""
    from .test_web import Browser, generator_of, to_connect

    web = Browser(app)
    generator = generator_of(to_connect(web, api, V5))
    web.open("/enroll/confirm")
    response = web.post("/enroll/confirm", {"code": api.code(generator)})
    assert response.status_code in (302, 303)
    api.sent(response)
    assert [m["subject"] for m in notices(api, V5[0])] == [
        "Two-Factor Authentication enrollment complete"
    ]
