"""Sign-in, the second factor, sign-out and ``/me``; the client-version gate."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import func, select

from ..accounts import (
    active_device,
    full_token_answer,
    issue_token,
    load_caller,
    two_factor_required,
)
from ..app import services
from ..errors import ApiError, otp_locked_error
from ..inputs import client_identity, code_field, fields, json_body, lenient_code
from ..models import Agent
from ..verification import Outcome, lock_remaining, verify_device_code

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, url_prefix="/api/v1")

#: Paths that answer without the client-version gate.
UNGATED = frozenset({"/api/v1/openapi.json"})


def check_client() -> None:
    """Desktop and mobile clients below the minimum get 426 on every API call."""
    if not request.path.startswith("/api/v1/") or request.path in UNGATED:
        return
    identity = client_identity()
    g.client = identity
    minimum = services().policy.minimum_client
    if identity.version is not None and identity.version < minimum:
        if services().policy.has("no_version_gating"):
            return
        raise ApiError(
            "client_upgrade_required",
            f"This app is version {identity.version}; version {minimum} or later is required.",
            minimum_version=str(minimum),
        )


@bp.post("/auth/sign-in")
def sign_in() -> tuple[Response, int]:
    body = fields(json_body(), {"email": str, "password": str})
    email = body["email"].strip().lower()
    password = body["password"]
    if len(email) > 254 or len(password) > 1024:
        raise ApiError("malformed_request", "The email address or password is too long.")
    svc = services()
    policy = svc.policy
    failure: ApiError | None = None
    answer: dict[str, Any] = {}
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        agent = db.scalar(select(Agent).where(func.lower(Agent.email) == email))
        if agent is not None and (agent.password_locked_until or 0) > now:
            raise ApiError(
                "account_locked",
                "Too many wrong passwords; sign-in is locked for a while.",
                retry_after=(agent.password_locked_until or now) - now,
            )
        if not svc.passwords.verify(agent.password_hash if agent else None, password):
            if agent is not None:
                agent.password_failures += 1
                if agent.password_failures % policy.password_max_failures == 0:
                    agent.password_locked_until = now + policy.password_lock_seconds
            failure = ApiError("invalid_credentials")
        else:
            assert agent is not None
            agent.password_failures = 0
            agent.password_locked_until = None
            if two_factor_required(db, agent):
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
                        db,
                        agent,
                        kind="partial",
                        stage=stage,
                        second_factor=False,
                        now=now,
                        policy=policy,
                    )
                    answer = {"token": token, "next": stage}
            else:
                token = issue_token(
                    db,
                    agent,
                    kind="full",
                    stage="done",
                    second_factor=False,
                    now=now,
                    policy=policy,
                )
                answer = {"token": token, "next": "done"}
    if failure is not None:
        raise failure
    log.info("sign-in: password accepted, next step %s", answer["next"])
    return jsonify(answer), 200


@bp.post("/auth/otp")
def second_factor() -> tuple[Response, int]:
    svc = services()
    policy = svc.policy
    verdict = None
    answer: dict[str, Any] = {}
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, now)
        if caller.full or caller.token.stage != "verify_otp":
            raise ApiError("wrong_stage", "This token is not waiting for a sign-in code.")
        device = active_device(db, caller.agent.id)
        if device is None:
            raise ApiError("wrong_stage", "There is no device to check a code against; enroll.")
        raw = json_body()
        if policy.has("lenient_code_format"):
            raw = {**raw, "code": lenient_code(raw.get("code"), device.digits)}
        code = code_field(fields(raw, {"code": str}), device.digits)
        secret = svc.box.decrypt(device.secret_encrypted)
        verdict = verify_device_code(db, caller.agent, device, secret, code, now, policy)
        if verdict.outcome is Outcome.ACCEPTED:
            if not policy.has("no_token_rotation"):
                caller.token.ended_at = now
            answer = full_token_answer(db, caller.agent, now=now, policy=policy)
    if verdict.outcome is Outcome.LOCKED:
        raise otp_locked_error(verdict.retry_after)
    if verdict.outcome is not Outcome.ACCEPTED:
        log.info("sign-in code refused: %s", verdict.outcome.value)
        raise ApiError(verdict.outcome.value)
    log.info("sign-in code accepted")
    return jsonify(answer), 200


@bp.post("/auth/sign-out")
def sign_out() -> tuple[str, int]:
    svc = services()
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, now)
        fields(json_body(optional=True), {})
        caller.token.ended_at = now
    return "", 204


@bp.get("/me")
def me() -> Response:
    svc = services()
    with svc.sessions.begin() as db:
        caller = load_caller(db, svc.clock.now())
        return jsonify(describe_agent(db, caller.agent, stage=caller.token.stage))


def describe_agent(db: Any, agent: Agent, *, stage: str | None = None) -> dict[str, Any]:
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
