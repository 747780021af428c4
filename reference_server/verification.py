"""Second-factor verification: window, drift, replay, throttling, email codes.

All decisions read the ``Policy``; nothing else decides whether a code counts.
The order of operations is what makes it safe under concurrency:

1. *Reserve an attempt*: one conditional UPDATE adds a failure to the agent's
   consecutive-failure counter unless the second factor is locked. It takes the
   agent's row (a write lock on SQLite), so concurrent verifications of one
   agent run one at a time, in every session (RFC 4226 §7.3: throttling
   "MUST be across login sessions").
2. Evaluate the code against the window around the current step plus the
   recorded drift (RFC 6238 §5.2, §6).
3. Accept with a conditional UPDATE of the device's last accepted step
   (``last_step < :step``): no step at or before the last accepted one is ever
   accepted again (RFC 6238 §5.2 "MUST NOT accept the second attempt"), and of
   twenty identical submissions exactly one wins.
4. Settle: success clears the counter; a failure keeps it, locking for
   ``lock_seconds`` at every multiple of ``max_failures`` and for good (until
   an admin unlocks) at ``hard_limit`` (NIST SP 800-63B §5.2.2: at most 100).
"""

from __future__ import annotations

import enum
import hmac
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session

from .models import Agent, Device, Enrollment
from .policy import Policy
from .security import SecretBox
from .totp import HASHES, hotp, time_step

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
) -> list[int]:
    """Steps in the window (centred on now + drift) whose code equals ``code``, nearest first.

    Every candidate is computed and compared in constant time, match or not.
    """
    current = time_step(now, params.period)
    tracking = policy.drift_tracking and not policy.has("no_drift_tracking")
    centre = current + (drift if tracking else 0)
    back, forward = accepted_window(policy)
    candidates = sorted(
        range(centre - back, centre + forward + 1),
        key=lambda step: (abs(step - centre), step),
    )
    found = []
    for step in candidates:
        if step < 0:
            continue
        counter = step & 0xFFFFFFFF if policy.has("counter_32bit") else step
        # The "any_hash_accepted" mutant also tries hashes the device was not given.
        hashes = tuple(HASHES) if policy.has("any_hash_accepted") else (params.algorithm,)
        for algorithm in hashes:
            expected = hotp(secret, counter, digits=params.digits, algorithm=algorithm)
            if hmac.compare_digest(expected, code):
                found.append(step)
                break
    return found


def accepted_window(policy: Policy) -> tuple[int, int]:
    """The steps (back, forward) really accepted: the declared window, unless a mutant lies."""
    back, forward = policy.window_back, policy.window_forward
    if policy.has("undeclared_wide_window"):
        # A mutant that accepts one step more each way than GET /__harness__/policy says.
        return back + 1, forward + 1
    if policy.has("undeclared_narrow_window"):
        # A mutant that refuses the future steps its declared window promises.
        return back, 0
    return back, forward


def bounded_drift(step: int, now: float, period: int, policy: Policy) -> int:
    """The offset of the matched step from now, clamped to ±max_steps (RFC 6238 §6)."""
    if not policy.drift_tracking or policy.has("no_drift_tracking"):
        return 0
    offset = step - time_step(now, period)
    if policy.has("unbounded_drift"):
        # A mutant that follows a drifting clock without limit: the window walks away.
        return offset
    return max(-policy.drift_max_steps, min(policy.drift_max_steps, offset))


def lock_remaining(agent: Agent, now: float) -> float | None:
    """Seconds until the second factor unlocks; ``inf`` when only an admin can unlock it."""
    if agent.otp_disabled:
        return float("inf")
    if agent.otp_locked_until is not None and agent.otp_locked_until > now:
        return agent.otp_locked_until - now
    return None


def reserve_attempt(db: Session, agent: Agent, now: float, policy: Policy) -> bool:
    """Count this attempt as a failure up front, unless locked; False when locked."""
    if policy.has("no_throttle"):
        # Still take the row lock, so replay protection stays serialised.
        db.execute(update(Agent).where(Agent.id == agent.id).values(otp_failures=0))
        return True
    result = db.execute(
        update(Agent)
        .where(
            Agent.id == agent.id,
            Agent.otp_disabled.is_(False),
            or_(Agent.otp_locked_until.is_(None), Agent.otp_locked_until <= now),
        )
        .values(otp_failures=Agent.otp_failures + 1)
        .execution_options(synchronize_session=False)
    )
    db.refresh(agent)
    return bool(getattr(result, "rowcount", 0))


def settle_failure(db: Session, agent: Agent, now: float, policy: Policy, *, reused: bool) -> None:
    """Keep (or, for a reuse the policy does not count, undo) the reserved failure; lock."""
    if policy.has("no_throttle"):
        return
    if reused and not policy.throttle_counts_reused:
        agent.otp_failures -= 1
        return
    if agent.otp_failures >= policy.throttle_hard_limit:
        agent.otp_disabled = True
        log.warning("second factor disabled after %d consecutive failures", agent.otp_failures)
    elif agent.otp_failures % policy.throttle_max_failures == 0:
        agent.otp_locked_until = now + policy.throttle_lock_seconds
        log.info("second factor locked for agent %d", agent.id)


def settle_success(agent: Agent) -> None:
    agent.otp_failures = 0
    agent.otp_locked_until = None


def verify_device_code(
    db: Session,
    agent: Agent,
    device: Device,
    secret: bytes,
    code: str,
    now: float,
    policy: Policy,
) -> Verdict:
    """Check a sign-in code against the agent's active device; writes the result."""
    if not reserve_attempt(db, agent, now, policy):
        return Verdict(Outcome.LOCKED, retry_after=lock_remaining(agent, now))
    db.refresh(device)  # read the last accepted step under the lock
    params = TotpParams(device.algorithm, device.digits, device.period)
    steps = matching_steps(secret, code, params, now=now, drift=device.drift, policy=policy)
    if not steps:
        settle_failure(db, agent, now, policy, reused=False)
        return Verdict(Outcome.INVALID)
    replay_guard = policy.replay == "monotonic_step" and not policy.has("no_replay_guard")
    fresh = [s for s in steps if device.last_step is None or s > device.last_step]
    if replay_guard and not fresh:
        settle_failure(db, agent, now, policy, reused=True)
        log.info("replayed code refused for agent %d", agent.id)
        return Verdict(Outcome.REUSED)
    step = (fresh or steps)[0]
    drift = bounded_drift(step, now, device.period, policy)
    statement = update(Device).where(Device.id == device.id)
    if replay_guard:
        statement = statement.where(or_(Device.last_step.is_(None), Device.last_step < step))
    result = db.execute(
        statement.values(last_step=step, drift=drift).execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        settle_failure(db, agent, now, policy, reused=True)
        return Verdict(Outcome.REUSED)
    settle_success(agent)
    return Verdict(Outcome.ACCEPTED, step=step, drift=drift)


def verify_setup_code(
    db: Session,
    agent: Agent,
    enrollment: Enrollment,
    secret: bytes,
    code: str,
    now: float,
    policy: Policy,
) -> Verdict:
    """Check the setup code of a pending device (no drift yet); counts toward the lock."""
    if not reserve_attempt(db, agent, now, policy):
        return Verdict(Outcome.LOCKED, retry_after=lock_remaining(agent, now))
    params = TotpParams(enrollment.algorithm, enrollment.digits, enrollment.period)
    steps = matching_steps(secret, code, params, now=now, drift=0, policy=policy)
    if not steps:
        settle_failure(db, agent, now, policy, reused=False)
        return Verdict(Outcome.INVALID)
    settle_success(agent)
    step = steps[0]
    return Verdict(
        Outcome.ACCEPTED, step=step, drift=bounded_drift(step, now, params.period, policy)
    )


def new_secret(policy: Policy) -> bytes:
    """A fresh TOTP secret as long as the HMAC output (RFC 6238 §5.1)."""
    # The "short_secret" mutant hands out 80-bit secrets (RFC 4226 R6 wants 128+).
    return secrets.token_bytes(10 if policy.has("short_secret") else policy.secret_bytes)


class EmailCheck(enum.Enum):
    """What a submitted email verification code came to."""

    ACCEPTED = "accepted"
    INVALID = "email_code_invalid"
    EXPIRED = "email_code_expired"
    TOO_MANY = "too_many_attempts"


def check_email_code(
    db: Session,
    enrollment: Enrollment,
    code: str,
    now: float,
    policy: Policy,
    box: SecretBox,
) -> EmailCheck:
    """Expiry first, then an atomically counted attempt, then the comparison's result."""
    expires_at = enrollment.email_code_expires_at
    # The "email_code_never_expires" mutant ignores the code's lifetime.
    if expires_at is None or (expires_at <= now and not policy.has("email_code_never_expires")):
        return EmailCheck.EXPIRED
    attempts_left = Enrollment.email_attempts < policy.email_code_max_attempts
    if policy.has("no_email_attempt_limit"):
        attempts_left = true()  # a mutant that lets anyone guess all 10^6 codes
    result = db.execute(
        update(Enrollment)
        .where(Enrollment.id == enrollment.id, Enrollment.status == "verify_email", attempts_left)
        .values(email_attempts=Enrollment.email_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return EmailCheck.TOO_MANY
    db.refresh(enrollment)
    if box.code_matches(enrollment.email_code_hash, code):
        return EmailCheck.ACCEPTED
    if policy.has("reusable_email_code") and _matches_an_earlier_code(
        db, enrollment, code, now, box
    ):
        return EmailCheck.ACCEPTED
    return EmailCheck.INVALID


def _matches_an_earlier_code(
    db: Session, enrollment: Enrollment, code: str, now: float, box: SecretBox
) -> bool:
    """The "reusable_email_code" mutant: a used code still verifies until it expires."""
    earlier = db.scalars(
        select(Enrollment.email_code_hash).where(
            Enrollment.agent_id == enrollment.agent_id,
            Enrollment.id != enrollment.id,
            Enrollment.email_code_hash.is_not(None),
            Enrollment.email_code_expires_at > now,
        )
    )
    return any(box.code_matches(digest, code) for digest in earlier)
