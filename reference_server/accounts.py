"""Agents, seats, tokens: who is calling and what their token lets them do.

Seat rule: when the admin requires 2FA it applies to the two Remote Support
seats only (``remote_support_v5`` and ``remote_support``); any other seat signs
in with the password alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from .driver_sql import Statements
from .errors import ApiError
from .models import Agent, Device, Setting, Token
from .otp_state import (
    DEVICE_COLUMNS,
    THROTTLE_COLUMNS,
    TOKEN_COLUMNS,
    DeviceState,
    ThrottleState,
    TokenState,
    split_row,
)
from .policy import Policy
from .security import Passwords, new_token, token_digest

#: The seats the account-wide 2FA setting covers.
COVERED_SEATS: Final = frozenset({"remote_support_v5", "remote_support"})

#: Stages a token can be in (``next`` values of the contract).
STAGES: Final = ("enroll", "verify_email", "connect_device", "verify_otp", "done")


@dataclass
class Caller:
    """The token of this request and its agent (both attached to the request's session)."""

    token: Token
    agent: Agent

    @property
    def full(self) -> bool:
        return self.token.kind == "full"


def settings_row(db: Session) -> Setting:
    row = db.get(Setting, 1)
    if row is None:  # pragma: no cover - created with the schema
        row = Setting(id=1, two_factor_required=False)
        db.add(row)
    return row


def two_factor_required(db: Session, agent: Agent) -> bool:
    """The admin setting, applied to the Remote Support seats only."""
    return settings_row(db).two_factor_required and agent.seat in COVERED_SEATS


#: The statements every sign-in code runs, built once: SQLAlchemy then reuses their
#: cache keys and compiled SQL, instead of building and hashing a new expression per call.
_ACTIVE_DEVICE: Final = (
    select(Device)
    .where(Device.agent_id == bindparam("agent_id"), Device.status == "active")
    .order_by(Device.id.desc())
    .limit(1)
)
_CALLER: Final = (
    select(Token, Agent)
    .join(Agent, Agent.id == Token.agent_id)
    .where(Token.token_hash == bindparam("digest"))
)

#: A new token: a plain INSERT (no object in the session: nothing reads it back).
_NEW_TOKEN_FIELDS: Final = (
    "token_hash", "agent_id", "kind", "stage", "second_factor", "created_at", "expires_at"
)  # fmt: skip
_NEW_TOKEN: Final = insert(Token).values({name: bindparam(name) for name in _NEW_TOKEN_FIELDS})
_NEWEST_ACTIVE: Final = aliased(Device)
#: The caller's token, its agent's throttle state and the agent's active device (what
#: ``active_device`` finds), in one statement: the sign-in code's first read.
_CODE_CALLER: Final = (
    select(*TOKEN_COLUMNS, Agent.id, *THROTTLE_COLUMNS, *DEVICE_COLUMNS)
    .select_from(Token)
    .join(Agent, Agent.id == Token.agent_id)
    .outerjoin(
        Device,
        Device.id
        == select(func.max(_NEWEST_ACTIVE.id))
        .where(_NEWEST_ACTIVE.agent_id == Agent.id, _NEWEST_ACTIVE.status == "active")
        .scalar_subquery(),
    )
    .where(Token.token_hash == bindparam("digest"))
)


def active_device(db: Session, agent_id: int) -> Device | None:
    return db.scalar(_ACTIVE_DEVICE, {"agent_id": agent_id})


def issue_token(
    db: Statements,
    agent_id: int,
    *,
    kind: str,
    stage: str,
    second_factor: bool,
    now: float,
    policy: Policy,
) -> str:
    """A new random token; only its digest is stored."""
    value = new_token()
    ttl = policy.full_token_ttl_seconds if kind == "full" else policy.partial_token_ttl_seconds
    db.run(
        _NEW_TOKEN,
        token_hash=token_digest(value),
        agent_id=agent_id,
        kind=kind,
        stage=stage,
        second_factor=second_factor,
        created_at=now,
        expires_at=now + ttl,
    )
    return value


def end_tokens(db: Session, agent_id: int, now: float, *, keep: int | None = None) -> None:
    """End every live token of an agent (but ``keep``)."""
    statement = update(Token).where(Token.agent_id == agent_id, Token.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(Token.id != keep)
    db.execute(statement.values(ended_at=now))


def load_caller(db: Session, token_value: str, now: float) -> Caller:
    """The live token ``token_value`` and its agent, or 401 ``unauthenticated``.

    The JSON API passes the bearer token, the pages the session cookie.
    """
    if not token_value or len(token_value) > 512:
        raise ApiError("unauthenticated")
    digest = token_digest(token_value)
    # The token and its agent in one statement (tokens go with their agent).
    found = db.execute(_CALLER, {"digest": digest}).first()
    if found is None:
        raise ApiError("unauthenticated")
    token, agent = found
    if token.ended_at is not None or token.expires_at <= now:
        raise ApiError("unauthenticated")
    return Caller(token, agent)


def load_code_caller(
    db: Statements, token_value: str, now: float
) -> tuple[TokenState, ThrottleState, DeviceState | None]:
    """The live token ``token_value``, its agent and the agent's active device, or 401."""
    if not token_value or len(token_value) > 512:
        raise ApiError("unauthenticated")
    found = db.first(_CODE_CALLER, digest=token_digest(token_value))
    if found is None:
        raise ApiError("unauthenticated")
    token, agent, device = split_row(found)
    if not token.live(now):
        raise ApiError("unauthenticated")
    return token, agent, device


def require_second_factor(db: Session, caller: Caller) -> None:
    """A full token, earned with a second factor whenever 2FA applies to the agent.

    Turning 2FA on *demotes* the full tokens its agents got without a second
    factor: they keep working for reading, but hosting sessions and admin calls
    answer 403 ``second_factor_required`` (a declared choice, see the policy).
    """
    if not caller.full:
        raise ApiError("second_factor_required")
    if not caller.token.second_factor and two_factor_required(db, caller.agent):
        raise ApiError("second_factor_required")


def mask_email(email: str) -> str:
    """``alice@example.com`` → ``a***@example.com``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def full_token_answer(
    db: Statements, agent_id: int, *, now: float, policy: Policy
) -> dict[str, str]:
    """The answer once the second factor is done: a new full token, and ``next: done``."""
    token = issue_token(
        db, agent_id, kind="full", stage="done", second_factor=True, now=now, policy=policy
    )
    return {"token": token, "next": "done"}


def new_agent(item: dict[str, str], passwords: Passwords, now: float) -> Agent:
    """A new agent from a checked ``{email, password, seat, role}``: no failures, no locks."""
    return Agent(
        email=item["email"],
        password_hash=passwords.hash(item["password"]),
        seat=item["seat"],
        role=item["role"],
        created_at=now,
        otp_failures=0,
        otp_disabled=False,
    )
