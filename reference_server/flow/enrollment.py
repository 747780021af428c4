"""Enrollment, as the seed describes it.

enrollment message → email verification (6-digit code over SMTP) → connect
device (otpauth URI, QR, manual key) → confirm with a setup code → done. The
same wizard serves "Set up a new mobile device" from the code prompt: the new
device replaces the old one only when it is confirmed.

The account's budget of wrong email codes (a rolling day, ``verification``)
closes the wizard when spent: no code is mailed, none is checked, until the
budget recovers or an admin unlocks. Binding a device queues a notice to the
account's address in the binding's own transaction (``notices``).
"""

from __future__ import annotations

import io
import logging
from typing import Any
from urllib.parse import quote, urlencode

import segno
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..accounts import Caller, active_device, full_token_answer, load_caller, mask_email
from ..declarations import EMAIL_CODE, EMPTY, TOTP_CODE
from ..driver_sql import Statements
from ..errors import ApiError, otp_locked_error
from ..mail import MailError
from ..models import Agent, Device, Enrollment
from ..otp_state import ThrottleState
from ..security import new_email_code
from ..services import Services
from ..totp import b32, grouped
from ..verification import (
    EmailCheck,
    Outcome,
    check_email_code,
    email_budget_wait,
    lock_remaining,
    verify_setup_code,
)
from .base import Body, Sent, TokenAnswer

log = logging.getLogger(__name__)

EMAIL_SUBJECT = "Email Verification"


def _pending(db: Session, caller: Caller, status: str) -> Enrollment:
    """The enrollment this token drives, in ``status``; else 409 ``wrong_stage``."""
    enrollment = db.scalar(
        select(Enrollment)
        .where(Enrollment.token_id == caller.token.id, Enrollment.status == status)
        .order_by(Enrollment.id.desc())
        .limit(1)
    )
    if caller.token.stage != status or enrollment is None:
        raise ApiError("wrong_stage", f"This token is not at the {status} step of enrollment.")
    return enrollment


def _budget_left(db: Session, svc: Services, agent: Agent, now: float) -> None:
    """429 ``email_code_budget_exhausted`` while the account's wrong email codes are spent."""
    wait = email_budget_wait(db, agent.id, now, svc.policy, svc.rules)
    if wait is not None:
        raise ApiError("email_code_budget_exhausted", retry_after=wait)


def _cooldown(svc: Services, last_sent: float | None, now: float) -> None:
    cooldown = svc.policy.email_code_resend_cooldown_seconds
    if last_sent is not None and now - last_sent < cooldown:
        raise ApiError("resend_too_soon", retry_after=cooldown - (now - last_sent))


def _mail_code(svc: Services, caller: Caller) -> str:
    """Mail a new code *before* any write of this request.

    On SQLite a write would hold the database lock while the embedded SMTP
    server (same process) stores the captured mail; and if the mail cannot be
    sent, nothing has changed yet.
    """
    code = new_email_code(svc.policy.email_code_digits)
    if svc.mailer is None:
        raise ApiError("email_unavailable", "No SMTP server is configured.")
    minutes = max(1, svc.policy.email_code_ttl_seconds // 60)
    body = (
        "Hello,\n\n"
        "Use this code to verify your email address and continue setting up "
        "two-factor authentication for Remote Support:\n\n"
        f"    {code}\n\n"
        f"The code expires in {minutes} minutes. If you did not ask for it, "
        "someone may know your password: change it and tell your admin.\n"
    )
    try:
        svc.mailer.send(caller.agent.email, EMAIL_SUBJECT, body)
    except MailError:
        log.warning("verification email could not be sent")
        raise ApiError("email_unavailable") from None
    return code


def start_enrollment(svc: Services, token: str, body: Body) -> Sent:
    """Start (or restart) the wizard: abandon other enrollments, mail a code."""
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, token, now)
        EMPTY.body(body())
        if caller.token.stage == "verify_otp" and lock_remaining(caller.agent, now) is not None:
            locked_for = lock_remaining(caller.agent, now)
            raise ApiError(
                "otp_locked",
                "The second factor is locked; a new device cannot be set up now.",
                retry_after=None if locked_for == float("inf") else locked_for,
            )
        _budget_left(db, svc, caller.agent, now)
        _cooldown(svc, caller.agent.last_email_sent_at, now)
        code = _mail_code(svc, caller)
        # Only one enrollment per agent at a time: starting again abandons the others.
        db.execute(
            update(Enrollment)
            .where(
                Enrollment.agent_id == caller.agent.id,
                Enrollment.status.in_(("verify_email", "connect_device")),
            )
            .values(status="abandoned", email_code_hash=None, secret_encrypted=None)
        )
        enrollment = Enrollment(
            agent_id=caller.agent.id,
            token_id=caller.token.id,
            status="verify_email",
            created_at=now,
            algorithm=svc.policy.totp_algorithm,
            digits=svc.policy.totp_digits,
            period=svc.policy.totp_period,
        )
        db.add(enrollment)
        caller.token.stage = "verify_email"
        svc.rules.email.store(enrollment, caller.agent, svc.box.code_digest(code), now, svc.policy)
        sent_to = mask_email(caller.agent.email)
    log.info("enrollment started; verification email sent")
    return {"next": "verify_email", "sent_to": sent_to}


def resend_email(svc: Services, token: str, body: Body) -> Sent:
    """A new email code; the previous one stops working."""
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, token, now)
        EMPTY.body(body())
        enrollment = _pending(db, caller, "verify_email")
        _budget_left(db, svc, caller.agent, now)
        _cooldown(svc, caller.agent.last_email_sent_at, now)
        code = _mail_code(svc, caller)
        svc.rules.email.store_resent(
            enrollment, caller.agent, svc.box.code_digest(code), now, svc.policy
        )
        sent_to = mask_email(caller.agent.email)
    return {"next": "verify_email", "sent_to": sent_to}


def verify_email(svc: Services, token: str, body: Body) -> None:
    """Check the email code; on success the enrollment gets its pending secret."""
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, token, now)
        enrollment = _pending(db, caller, "verify_email")
        code: str = EMAIL_CODE.body(body(), digits=svc.policy.email_code_digits)["code"]
        rules = svc.rules
        result = check_email_code(
            db, caller.agent, enrollment, code, now, svc.policy, svc.box, rules
        )
        wait: float | None = None
        if result is EmailCheck.BUDGET_SPENT:
            wait = email_budget_wait(db, caller.agent.id, now, svc.policy, rules)
        if result is EmailCheck.ACCEPTED:
            enrollment.status = "connect_device"
            rules.email.forget_used(enrollment)
            secret = rules.provisioner.new_secret(svc.policy)
            enrollment.secret_encrypted = svc.box.encrypt(secret)
            caller.token.stage = "connect_device"
            rules.devices.on_email_verified(db, caller.agent.id, now)
    if result is EmailCheck.BUDGET_SPENT:
        log.info("email code refused: the account's budget is spent")
        raise ApiError(result.value, retry_after=wait)
    if result is not EmailCheck.ACCEPTED:
        log.info("email code refused: %s", result.value)
        raise ApiError(result.value)


def provisioning(svc: Services, email: str, enrollment: Enrollment) -> dict[str, Any]:
    """The otpauth URI and the ways to show it (Key Uri Format, issuer prefix and parameter)."""
    assert enrollment.secret_encrypted is not None
    key = b32(svc.box.decrypt(enrollment.secret_encrypted))
    issuer = svc.policy.totp_issuer
    provisioner = svc.rules.provisioner
    label = provisioner.label(issuer, email)
    query = urlencode(
        {
            "secret": key,
            "issuer": issuer,
            "algorithm": enrollment.algorithm,
            "digits": enrollment.digits,
            "period": enrollment.period,
        },
        quote_via=quote,
    )
    manual_key = provisioner.manual_key(grouped(key))
    return {
        "otpauth_uri": f"otpauth://totp/{label}?{query}",
        "manual_key": manual_key,
        "issuer": issuer,
        "account": email,
        "algorithm": enrollment.algorithm,
        "digits": enrollment.digits,
        "period": enrollment.period,
    }


def qr_png(uri: str, scale: int) -> bytes:
    """The otpauth URI as a QR code PNG (error correction M, a 4-module quiet zone)."""
    png = io.BytesIO()
    segno.make(uri, error="m").save(png, kind="png", scale=scale, border=4)
    return png.getvalue()


def device_details(svc: Services, token: str, *, mobile: bool, qr_scale: int) -> dict[str, Any]:
    """The pending device's provisioning; the same secret until confirmed or restarted.

    ``qr_png`` holds the QR code as PNG bytes, or None for a mobile client: on a
    phone the authenticator runs on the same screen, so the key is typed.
    """
    with svc.sessions.begin() as db:
        caller = load_caller(db, token, svc.clock.now())
        enrollment = _pending(db, caller, "connect_device")
        answer = provisioning(svc, caller.agent.email, enrollment)
    provisioner = svc.rules.provisioner
    drawn = provisioner.qr_text(answer["otpauth_uri"])
    answer["qr_png"] = qr_png(drawn, qr_scale) if provisioner.shows_qr(mobile) else None
    return answer


def confirm(svc: Services, token: str, body: Body) -> TokenAnswer:
    """Bind the new device with a setup code; retire the old one; a new full token."""
    policy = svc.policy
    answer: TokenAnswer | None = None
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, token, now)
        enrollment = _pending(db, caller, "connect_device")
        code: str = TOTP_CODE.body(body(), digits=enrollment.digits)["code"]
        assert enrollment.secret_encrypted is not None
        secret = svc.box.decrypt(enrollment.secret_encrypted)
        rules = svc.rules
        throttle = ThrottleState.of_agent(caller.agent)
        verdict = verify_setup_code(
            Statements.of_session(db), throttle, enrollment, secret, code, now, policy, rules
        )
        throttle.sync(caller.agent)
        if verdict.outcome is Outcome.ACCEPTED:
            claimed = db.execute(
                update(Enrollment)
                .where(Enrollment.id == enrollment.id, Enrollment.status == "connect_device")
                .values(status="confirmed", secret_encrypted=None)
                .execution_options(synchronize_session=False)
            )
            if not getattr(claimed, "rowcount", 0):
                raise ApiError("wrong_stage", "This enrollment was already confirmed.")
            # The crash tests kill the process at these points: nothing is half done.
            rules.checkpoints.reached("confirm.enrollment_claimed")
            replaced = active_device(db, caller.agent.id) is not None
            rules.devices.retire_on_confirm(db, caller.agent.id, now)
            rules.checkpoints.reached("confirm.old_device_retired")
            assert verdict.step is not None
            db.add(
                Device(
                    agent_id=caller.agent.id,
                    status="active",
                    secret_encrypted=svc.box.encrypt(secret),
                    algorithm=enrollment.algorithm,
                    digits=enrollment.digits,
                    period=enrollment.period,
                    enrolled_at=now,
                    # The setup code's step counts as used: signing in needs a new code.
                    last_step=rules.replay.setup_step(verdict.step),
                    drift=verdict.drift,
                )
            )
            caller.agent.otp_disabled = False
            db.flush()
            rules.checkpoints.reached("confirm.device_added")
            # Committed with the binding, mailed once the answer is sent (``outbox``).
            rules.notifications.device_bound(db, caller.agent, now, replaced=replaced)
            rules.sessions.on_confirm(db, caller.agent.id, now)
            rules.checkpoints.reached("confirm.sessions_ended")
            issued = full_token_answer(
                Statements.of_session(db), caller.agent.id, now=now, policy=policy
            )
            answer = TokenAnswer(token=issued["token"], next=issued["next"])
            db.flush()
            rules.checkpoints.reached("confirm.before_commit")
    if verdict.outcome is Outcome.LOCKED:
        raise otp_locked_error(verdict.retry_after)
    if verdict.outcome is not Outcome.ACCEPTED:
        log.info("setup code refused")
        raise ApiError("otp_invalid")
    log.info("device confirmed; previous device retired")
    assert answer is not None
    return answer
