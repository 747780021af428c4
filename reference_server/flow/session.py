"""Sign-in, the second factor, sign-out, who am I, and hosting a support session."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import lockout
from ..accounts import (
    active_device,
    full_token_answer,
    issue_token,
    load_caller,
    load_code_caller,
    two_factor_required,
)
from ..declarations import EMPTY, TOTP_CODE
from ..driver_sql import Statements, transaction
from ..errors import ApiError, otp_locked_error
from ..models import Agent, SupportSession
from ..security import new_join_code
from ..services import Services
from ..verification import Outcome, lock_remaining, verify_device_code
from .base import Body, TokenAnswer

log = logging.getLogger(__name__)


def _password_locked(retry_after: float | None) -> ApiError:
    """423 ``account_locked`` for wrong passwords: the same for every address."""
    return ApiError(
        "account_locked",
        "Too many wrong passwords; sign-in is locked for a while.",
        retry_after=retry_after,
    )


def _wrong_password(
    svc: Services,
    db: Session,
    counted: str,
    reserved: lockout.Reservation,
    agent: Agent | None,
    now: float,
) -> None:
    """Keep the failure; when it locks the address, mail the account's owner (if any)."""
    assert reserved.failures is not None
    if not lockout.settle_failure(db, counted, reserved.failures, now, svc.policy):
        return
    log.info("sign-in locked after %d wrong passwords", reserved.failures)
    # The same statement for every address; only an account's owner gets a mail.
    if lockout.claim_notice(db, counted, now) and agent is not None:
        until = now + svc.policy.password_lock_seconds
        svc.rules.notifications.sign_in_locked(db, agent, now, reserved.failures, until)


def sign_in(svc: Services, email: str, password: str) -> TokenAnswer:
    """Check the password; a full token (no 2FA for this agent) or a partial one.

    Whether an account has ``email`` shows in nothing: wrong passwords count and
    lock by the address submitted (``lockout``), an unknown address is checked
    against a dummy hash, and both run the same statements.
    """
    email = email.strip().lower()
    if len(email) > 254 or len(password) > 1024:
        raise ApiError("malformed_request", "The email address or password is too long.")
    policy = svc.policy
    failure: ApiError | None = None
    answer: TokenAnswer | None = None
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        agent = db.scalar(select(Agent).where(func.lower(Agent.email) == email))
        counted = svc.rules.sign_in.counted_identifier(email, agent)
        reserved = None if counted is None else lockout.reserve(db, counted, now, policy)
        if reserved is not None and reserved.locked:
            raise _password_locked(reserved.retry_after)
        if not svc.passwords.verify(agent.password_hash if agent else None, password):
            if counted is not None and reserved is not None:
                _wrong_password(svc, db, counted, reserved, agent, now)
            failure = ApiError("invalid_credentials")
        else:
            assert agent is not None
            if counted is not None:
                lockout.settle_success(db, counted)
            required = svc.rules.gating.asks_second_factor(
                agent.seat, two_factor_required(db, agent)
            )
            if required:
                locked_for = lock_remaining(agent, now)
                if locked_for is not None:
                    failure = ApiError(
                        "account_locked",
                        "Too many wrong codes; the second factor is locked.",
                        retry_after=None if locked_for == float("inf") else locked_for,
                        unlock="admin" if locked_for == float("inf") else "wait",
                    )
                else:
                    stage = "verify_otp" if active_device(db, agent.id) else "enroll"
                    token = issue_token(
                        Statements.of_session(db),
                        agent.id,
                        kind="partial",
                        stage=stage,
                        second_factor=False,
                        now=now,
                        policy=policy,
                    )
                    answer = {"token": token, "next": stage}
            else:
                token = issue_token(
                    Statements.of_session(db),
                    agent.id,
                    kind="full",
                    stage="done",
                    second_factor=False,
                    now=now,
                    policy=policy,
                )
                answer = {"token": token, "next": "done"}
    if failure is not None:
        raise failure
    assert answer is not None
    log.info("sign-in: password accepted, next step %s", answer["next"])
    return answer


def submit_code(svc: Services, token: str, body: Body) -> TokenAnswer:
    """The sign-in code of the active device; a new full token ends the partial one.

    The hot path of every sign-in, so it runs on the database driver (``driver_sql``)
    with plain records (``otp_state``), not ORM entities: the same statements, a wrong
    code in 0.33 ms instead of 0.82 (``python -m benchmarks request_cost``).
    """
    policy = svc.policy
    answer: TokenAnswer | None = None
    with transaction(svc.engine) as db:
        now = svc.clock.now(via=db)
        presented, agent, device = load_code_caller(db, token, now)
        if presented.full or presented.stage != "verify_otp":
            raise ApiError("wrong_stage", "This token is not waiting for a sign-in code.")
        if device is None:
            raise ApiError("wrong_stage", "There is no device to check a code against; enroll.")
        rules = svc.rules
        raw = rules.parser.submitted(body(), device.digits)
        code: str = TOTP_CODE.body(raw, digits=device.digits)["code"]
        for candidate in rules.devices.sign_in_devices(db, agent.id, device):
            secret = svc.box.decrypt(candidate.secret_encrypted)
            verdict = verify_device_code(db, agent, candidate, secret, code, now, policy, rules)
            if verdict.outcome is not Outcome.INVALID:
                break
        if verdict.outcome is Outcome.ACCEPTED:
            rules.sessions.after_code(db, presented.id, now)
            issued = full_token_answer(db, agent.id, now=now, policy=policy)
            answer = TokenAnswer(token=issued["token"], next=issued["next"])
    if verdict.outcome is Outcome.LOCKED:
        raise otp_locked_error(verdict.retry_after)
    if verdict.outcome is not Outcome.ACCEPTED:
        log.info("sign-in code refused: %s", verdict.outcome.value)
        raise ApiError(verdict.outcome.value)
    log.info("sign-in code accepted")
    assert answer is not None
    return answer


def sign_out(svc: Services, token: str, body: Body) -> None:
    """End the token."""
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, token, now)
        EMPTY.body(body())
        caller.token.ended_at = now


def me(svc: Services, token: str) -> dict[str, Any]:
    """The caller as ``/me`` shows it: email, role, seat, stage, two-factor state."""
    with svc.sessions.begin() as db:
        caller = load_caller(db, token, svc.clock.now())
        return describe_agent(db, caller.agent, stage=caller.token.stage)


def describe_agent(db: Session, agent: Agent, *, stage: str | None = None) -> dict[str, Any]:
    """An agent as ``/me`` and the admin list show it (no secrets)."""
    device = active_device(db, agent.id)
    described: dict[str, Any] = {
        "email": agent.email,
        "role": agent.role,
        "seat": agent.seat,
        "two_factor": {
            "required": two_factor_required(db, agent),
            "enrolled": device is not None,
            "device": None
            if device is None
            else {
                "enrolled_at": device.enrolled_at,
                "algorithm": device.algorithm,
                "digits": device.digits,
                "period": device.period,
            },
        },
    }
    if stage is not None:
        described["stage"] = stage
    return described


def host_support_session(svc: Services, token: str, body: Body) -> dict[str, Any]:
    """A new support session (needs a full token earned with the second factor)."""
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, token, now)
        svc.rules.sessions.check_host(db, caller)
        EMPTY.body(body())
        session = SupportSession(
            agent_id=caller.agent.id, join_code=new_join_code(), created_at=now
        )
        db.add(session)
        db.flush()
        return {"id": session.id, "join_code": session.join_code}
