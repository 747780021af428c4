"""Second-factor verification: window, drift, replay, throttling, email codes.

All decisions read the ``Policy`` through the app's ``Rules`` (``rules.py``):
nothing else decides whether a code counts. The order of operations is what
makes it safe under concurrency:

1. *Reserve an attempt* (``Throttle.reserve``): one conditional UPDATE adds a
   failure to the agent's consecutive-failure counter unless the second factor
   is locked. It takes the agent's row (a write lock on SQLite), so concurrent
   verifications of one agent run one at a time, in every session (RFC 4226
   §7.3: throttling "MUST be across login sessions").
2. Evaluate the code against the window around the current step plus the
   recorded drift (RFC 6238 §5.2, §6).
3. Accept with a conditional UPDATE of the device's last accepted step
   (``ReplayGuard.claim``: ``last_step < :step``): no step at or before the
   last accepted one is ever accepted again (RFC 6238 §5.2 "MUST NOT accept
   the second attempt"), and of twenty identical submissions exactly one wins.
4. Settle: success clears the counter; a failure keeps it, locking for
   ``lock_seconds`` at every multiple of ``max_failures`` and for good (until
   an admin unlocks) at ``hard_limit`` (NIST SP 800-63B §5.2.2: at most 100).

Email verification codes have two limits: ``max_attempts`` per code, and the
account's budget of wrong codes over a rolling day (``EmailCodes.account_budget``),
which no resend and no new sign-in refills: each wrong code is a row of
``email_code_failures``, counted under the agent's row lock.
"""

from __future__ import annotations

import enum
import hmac
import logging
import weakref
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.orm import Session

from .driver_sql import Statements
from .models import Agent, Device, EmailCodeFailure, Enrollment
from .otp_state import DeviceState, ThrottleState
from .policy import Policy
from .rules import ReplayGuard, Rules
from .security import SecretBox
from .totp import hotp, time_step

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    """What a submitted second-factor code came to."""

    ACCEPTED = "accepted"
    INVALID = "otp_invalid"
    REUSED = "otp_reused"
    LOCKED = "otp_locked"


@dataclass(frozen=True)
class Verdict:
    """The outcome, with the step and drift of an accepted code or the lock's end."""

    outcome: Outcome
    step: int | None = None
    drift: int = 0
    retry_after: float | None = None


@dataclass(frozen=True)
class TotpParams:
    """Per-device TOTP parameters (stored with the device, not read from the policy)."""

    algorithm: str
    digits: int
    period: int


def matching_steps(
    secret: bytes,
    code: str,
    params: TotpParams,
    *,
    now: float,
    drift: int,
    policy: Policy,
    rules: Rules,
) -> list[int]:
    """Steps in the window (centred on now + drift) whose code equals ``code``, nearest first.

    Every candidate is computed and compared in constant time, match or not.
    """
    current = time_step(now, params.period)
    centre = current + (drift if rules.window.tracks_drift(policy) else 0)
    back, forward = rules.window.accepted(policy)
    candidates = sorted(
        range(centre - back, centre + forward + 1),
        key=lambda step: (abs(step - centre), step),
    )
    found = []
    for step in candidates:
        if step < 0:
            continue
        counter = rules.codes.counter(step)
        for algorithm in rules.codes.hashes(params.algorithm):
            expected = hotp(secret, counter, digits=params.digits, algorithm=algorithm)
            if hmac.compare_digest(expected, code):
                found.append(step)
                break
    return found


def bounded_drift(step: int, now: float, period: int, policy: Policy, rules: Rules) -> int:
    """The offset of the matched step from now, as the window records it (RFC 6238 §6)."""
    if not rules.window.tracks_drift(policy):
        return 0
    return rules.window.recorded_drift(step - time_step(now, period), policy)


def lock_remaining(agent: Agent | ThrottleState, now: float) -> float | None:
    """Seconds until the second factor unlocks; ``inf`` when only an admin can unlock it."""
    if agent.otp_disabled:
        return float("inf")
    if agent.otp_locked_until is not None and agent.otp_locked_until > now:
        return agent.otp_locked_until - now
    return None


def settle_failure(
    db: Statements, agent: ThrottleState, now: float, policy: Policy, rules: Rules, *, reused: bool
) -> None:
    """The throttle keeps (or gives back) the failure reserved for this attempt; what it
    decided is written."""
    before = agent.values()
    if rules.throttle.settle_failure(agent, now, policy, reused=reused) == "disabled":
        log.warning("second factor disabled after %d consecutive failures", agent.otp_failures)
    if agent.values() != before:
        agent.save(db)


#: A success clears the agent's consecutive failures and its lock.
_SETTLE_SUCCESS: Final = (
    update(Agent)
    .where(Agent.id == bindparam("agent_id"))
    .values(otp_failures=0, otp_locked_until=None)
)


def settle_success(db: Statements, agent: ThrottleState) -> None:
    """Clear the count and the lock."""
    db.run(_SETTLE_SUCCESS, agent_id=agent.id)
    agent.otp_failures = 0
    agent.otp_locked_until = None


#: The replay guard's claim statements, built once per guard and policy (by ``claim_statement``).
_CLAIMS: Final[weakref.WeakKeyDictionary[ReplayGuard, dict[Policy, Update]]] = (
    weakref.WeakKeyDictionary()
)


def claim_statement(rules: Rules, policy: Policy) -> Update:
    """``UPDATE devices SET last_step, drift WHERE id`` and the guard's condition.

    The guard writes its condition on the step as a bound parameter (``claimed_step``),
    so one statement serves every claim: SQLAlchemy reuses its cache key and compiled
    SQL instead of building and hashing a new expression for each accepted code.
    Parameters: ``device_id``, ``claimed_step``, ``new_last_step``, ``new_drift``.
    """
    by_policy = _CLAIMS.setdefault(rules.replay, {})
    statement = by_policy.get(policy)
    if statement is None:
        base = update(Device).where(Device.id == bindparam("device_id"))
        statement = rules.replay.claim(base, bindparam("claimed_step"), policy).values(
            last_step=bindparam("new_last_step"), drift=bindparam("new_drift")
        )
        by_policy[policy] = statement
    return statement


#: The device's replay state, read again once the agent's row lock is held.
_REPLAY_STATE: Final = select(Device.last_step, Device.drift).where(Device.id == bindparam("id"))


def read_replay_state(db: Statements, device: DeviceState) -> None:
    """``last_step`` and ``drift`` as committed now (the rest of the row is not read
    again after the lock)."""
    row = db.first(_REPLAY_STATE, id=device.id)
    assert row is not None  # the device of the agent whose row lock this holds
    device.last_step, device.drift = row


def verify_device_code(
    db: Statements,
    agent: ThrottleState,
    device: DeviceState,
    secret: bytes,
    code: str,
    now: float,
    policy: Policy,
    rules: Rules,
) -> Verdict:
    """Check a sign-in code against the agent's active device; writes the result."""
    if not rules.throttle.reserve(db, agent, now, policy):
        return Verdict(Outcome.LOCKED, retry_after=lock_remaining(agent, now))
    read_replay_state(db, device)  # the last accepted step and the drift, under the lock
    params = TotpParams(device.algorithm, device.digits, device.period)
    steps = matching_steps(
        secret, code, params, now=now, drift=device.drift, policy=policy, rules=rules
    )
    if not steps:
        settle_failure(db, agent, now, policy, rules, reused=False)
        return Verdict(Outcome.INVALID)
    fresh = rules.replay.unused(steps, device.last_step, policy)
    if not fresh:
        settle_failure(db, agent, now, policy, rules, reused=True)
        log.info("replayed code refused for agent %d", agent.id)
        return Verdict(Outcome.REUSED)
    step = fresh[0]
    drift = bounded_drift(step, now, device.period, policy, rules)
    claimed = db.run(
        claim_statement(rules, policy),
        device_id=device.id,
        claimed_step=step,
        new_last_step=step,
        new_drift=drift,
    )
    if not claimed:
        settle_failure(db, agent, now, policy, rules, reused=True)
        return Verdict(Outcome.REUSED)
    settle_success(db, agent)
    return Verdict(Outcome.ACCEPTED, step=step, drift=drift)


def verify_setup_code(
    db: Statements,
    agent: ThrottleState,
    enrollment: Enrollment,
    secret: bytes,
    code: str,
    now: float,
    policy: Policy,
    rules: Rules,
) -> Verdict:
    """Check the setup code of a pending device (no drift yet); counts toward the lock."""
    if not rules.throttle.reserve(db, agent, now, policy):
        return Verdict(Outcome.LOCKED, retry_after=lock_remaining(agent, now))
    params = TotpParams(enrollment.algorithm, enrollment.digits, enrollment.period)
    steps = matching_steps(secret, code, params, now=now, drift=0, policy=policy, rules=rules)
    if not steps:
        settle_failure(db, agent, now, policy, rules, reused=False)
        return Verdict(Outcome.INVALID)
    settle_success(db, agent)
    step = steps[0]
    return Verdict(
        Outcome.ACCEPTED, step=step, drift=bounded_drift(step, now, params.period, policy, rules)
    )


class EmailCheck(enum.Enum):
    """What a submitted email verification code came to."""

    ACCEPTED = "accepted"
    INVALID = "email_code_invalid"
    EXPIRED = "email_code_expired"
    TOO_MANY = "too_many_attempts"
    BUDGET_SPENT = "email_code_budget_exhausted"


def lock_agent_row(db: Session, agent_id: int) -> None:
    """Take the agent's row lock (on SQLite the database's write lock) until commit.

    A no-op UPDATE: every later statement of this transaction sees what the
    agent's concurrent requests committed first (PostgreSQL, read committed).
    """
    db.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(last_email_sent_at=Agent.last_email_sent_at)
        .execution_options(synchronize_session=False)
    )


def email_budget_wait(
    db: Session, agent_id: int, now: float, policy: Policy, rules: Rules
) -> float | None:
    """Seconds until the account may submit another email code; None while it may now.

    The wrong codes of the last ``budget_window_seconds`` (server time) count;
    the budget has room again when enough of them are older than that.
    """
    budget = rules.email.account_budget(policy)
    if budget is None:
        return None
    window = policy.email_code_budget_window_seconds
    failed = list(
        db.scalars(
            select(EmailCodeFailure.failed_at)
            .where(EmailCodeFailure.agent_id == agent_id, EmailCodeFailure.failed_at > now - window)
            .order_by(EmailCodeFailure.failed_at)
        )
    )
    if len(failed) < budget:
        return None
    return max(1.0, failed[len(failed) - budget] + window - now)


def check_email_code(
    db: Session,
    agent: Agent,
    enrollment: Enrollment,
    code: str,
    now: float,
    policy: Policy,
    box: SecretBox,
    rules: Rules,
) -> EmailCheck:
    """Expiry, the account's budget and the code's attempts (both counted atomically),
    then the comparison's result; a wrong code is recorded against the budget."""
    if rules.email.expired(enrollment.email_code_expires_at, now):
        return EmailCheck.EXPIRED
    # One agent's email-code checks run one at a time, in every session and process.
    lock_agent_row(db, agent.id)
    if email_budget_wait(db, agent.id, now, policy, rules) is not None:
        return EmailCheck.BUDGET_SPENT
    result = db.execute(
        update(Enrollment)
        .where(
            Enrollment.id == enrollment.id,
            Enrollment.status == "verify_email",
            rules.email.attempts_left(policy),
        )
        .values(email_attempts=Enrollment.email_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return EmailCheck.TOO_MANY
    db.refresh(enrollment)
    if box.code_matches(enrollment.email_code_hash, code):
        return EmailCheck.ACCEPTED
    if rules.email.matches_an_earlier_code(db, enrollment, code, now, box):
        return EmailCheck.ACCEPTED
    db.add(EmailCodeFailure(agent_id=agent.id, failed_at=now))
    db.flush()
    budget = rules.email.account_budget(policy)
    wait = email_budget_wait(db, agent.id, now, policy, rules)
    if budget is not None and wait is not None:
        log.warning("email code budget of agent %d spent: enrollment locked", agent.id)
        rules.notifications.email_budget_spent(db, agent, now, budget, now + wait)
    return EmailCheck.INVALID
