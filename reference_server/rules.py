"""The decisions of verification and of the flow, each in one small class.

``create_app`` builds one ``Rules`` per app: these classes, as they are, are
the reference server. Its code paths call them and hold no fault of their
own; a deliberately broken server for the conformance tests (a "mutant",
``reference_server/faults/``, harness mode only) is the same server with one
of these objects replaced by a subclass that overrides one method.

The extension points, by what they decide:

- ``CodeMatching``: the code a step has (the counter, the hash);
- ``Window``: the steps accepted around the current one, and the drift recorded;
- ``ReplayGuard``: which matching steps are still unused, and the claim of one;
- ``Throttle``: counting a wrong code toward the lock, and the lock;
- ``CodeParser``: what a submitted code is (exactly the digits shown);
- ``Provisioner``: the secret, the otpauth label, the manual key, the QR code;
- ``EmailCodes``: an email code's life: expiry, attempts, what a resend does, and
  the account's daily budget of wrong codes;
- ``SignInThrottle``: what wrong passwords are counted under (the address submitted);
- ``Notifications``: the security mails an agent gets (a device bound, a lock);
- ``Devices``: when a device is bound and retired, which devices sign in;
- ``Sessions``: what a token may do and when it ends;
- ``Gating``: the version gate and the seats the second factor covers.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from sqlalchemy import ColumnElement, Update, bindparam, or_, update
from sqlalchemy.orm import Session

from . import notices
from .accounts import Caller, end_tokens, require_second_factor
from .driver_sql import Statements
from .models import Agent, Device, DeviceGroup, Enrollment, Token
from .otp_state import THROTTLE_COLUMNS, THROTTLE_STATE, DeviceState, ThrottleState
from .policy import Policy
from .security import SecretBox
from .versions import Version, parse_group_version


class CodeMatching:
    """HOTP(K, C) with C the time step as 8 bytes, and the device's own hash (RFC 6238)."""

    def counter(self, step: int) -> int:
        return step

    def hashes(self, algorithm: str) -> tuple[str, ...]:
        return (algorithm,)


class Window:
    """The declared window, centred on the current step plus the recorded drift."""

    def accepted(self, policy: Policy) -> tuple[int, int]:
        """(back, forward) steps accepted around the centre."""
        return policy.window_back, policy.window_forward

    def tracks_drift(self, policy: Policy) -> bool:
        return policy.drift_tracking

    def recorded_drift(self, offset: int, policy: Policy) -> int:
        """The drift to record for a code ``offset`` steps from now: at most ±max_steps."""
        return max(-policy.drift_max_steps, min(policy.drift_max_steps, offset))


class ReplayGuard:
    """RFC 6238 §5.2: no step at or before the last accepted one is accepted again."""

    def unused(self, steps: list[int], last_step: int | None, policy: Policy) -> list[int]:
        """The matching steps still usable (all of them under ``replay: none``)."""
        if policy.replay != "monotonic_step":
            return steps
        return [s for s in steps if last_step is None or s > last_step]

    def claim(self, statement: Update, step: ColumnElement[int], policy: Policy) -> Update:
        """The conditional UPDATE that accepts ``step``: of parallel submissions one wins.

        ``step`` is the bound parameter the accepted step comes in (the statement is built
        once and executed for every claim, ``verification.claim_statement``).
        """
        if policy.replay != "monotonic_step":
            return statement
        return statement.where(or_(Device.last_step.is_(None), Device.last_step < step))

    def setup_step(self, step: int) -> int:
        """The setup code's step counts as used: signing in needs a new code."""
        return step


#: ``Throttle.reserve``'s statement (an UPDATE ... RETURNING: SQLite and PostgreSQL); its
#: RETURNING reads the row as this UPDATE left it, under the lock it takes.
_RESERVE: Final = (
    update(Agent)
    .where(
        Agent.id == bindparam("agent_id"),
        Agent.otp_disabled.is_(False),
        or_(Agent.otp_locked_until.is_(None), Agent.otp_locked_until <= bindparam("now")),
    )
    .values(otp_failures=Agent.otp_failures + 1)
    .returning(*THROTTLE_COLUMNS)
)


class Throttle:
    """Wrong codes counted across every session of an agent, a lock at each multiple."""

    def reserve(self, db: Statements, agent: ThrottleState, now: float, policy: Policy) -> bool:
        """Count this attempt as a failure up front unless locked; False when locked.

        One conditional UPDATE of the agent's row: concurrent verifications of
        one agent run one at a time, in every session (RFC 4226 §7.3). It returns
        the row as it is now (``RETURNING``, read under the lock it takes), which
        refreshes ``agent``; only a refused reservation reads the row again, for the lock.
        """
        counted = db.first(_RESERVE, agent_id=agent.id, now=now)
        if counted is None:
            counted = db.first(THROTTLE_STATE, agent_id=agent.id)  # locked: the lock's end
            assert counted is not None  # the agent's row: its token was just read
            agent.load(counted)
            return False
        agent.load(counted)
        return True

    def settle_failure(
        self, agent: ThrottleState, now: float, policy: Policy, *, reused: bool
    ) -> str | None:
        """Keep the reserved failure (a reuse the policy does not count gives it back) and
        lock at each multiple of max_failures, for good at the hard limit; what happened."""
        if reused and not policy.throttle_counts_reused:
            agent.otp_failures -= 1
            return None
        if agent.otp_failures >= policy.throttle_hard_limit:
            agent.otp_disabled = True
            return "disabled"
        if agent.otp_failures % policy.throttle_max_failures == 0:
            agent.otp_locked_until = now + policy.throttle_lock_seconds
            return "locked"
        return None


class CodeParser:
    """A code is a JSON string of exactly the digits the device shows (the contract)."""

    def submitted(self, raw: Mapping[str, Any], digits: int) -> Mapping[str, Any]:
        """The body as the contract's checks of its ``code`` see it: as sent."""
        return raw


class Provisioner:
    """What the connect-device step hands out."""

    def new_secret(self, policy: Policy) -> bytes:
        """A fresh secret as long as the HMAC output (RFC 6238 §5.1)."""
        return secrets.token_bytes(policy.secret_bytes)

    def label(self, issuer: str, email: str) -> str:
        """The otpauth label, ``issuer:account`` percent-encoded (Key Uri Format)."""
        return f"{quote(issuer, safe='')}:{quote(email, safe='')}"

    def manual_key(self, grouped_key: str) -> str:
        return grouped_key

    def qr_text(self, uri: str) -> str:
        """What the QR code carries: exactly the otpauth URI."""
        return uri

    def shows_qr(self, mobile: bool) -> bool:
        """No QR code on a phone: the authenticator runs on the same screen (the seed)."""
        return not mobile

    def cache_headers(self, headers: Any) -> None:
        """The answer carries the secret: keep it out of every cache."""
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"


class EmailCodes:
    """An email verification code: one use, a lifetime, a few attempts."""

    def expired(self, expires_at: float | None, now: float) -> bool:
        return expires_at is None or expires_at <= now

    def attempts_left(self, policy: Policy) -> ColumnElement[bool]:
        """The condition of the atomic attempt count."""
        return Enrollment.email_attempts < policy.email_code_max_attempts

    def matches_an_earlier_code(
        self, db: Session, enrollment: Enrollment, code: str, now: float, box: SecretBox
    ) -> bool:
        """Whether a code of an earlier enrollment counts here: never."""
        return False

    def forget_used(self, enrollment: Enrollment) -> None:
        """A verified code is used up."""
        enrollment.email_code_hash = None

    def store(
        self, enrollment: Enrollment, agent: Agent, digest: str, now: float, policy: Policy
    ) -> None:
        """A (re)sent code replaces the previous one, which stops working."""
        enrollment.email_code_hash = digest
        enrollment.email_code_expires_at = now + policy.email_code_ttl_seconds
        enrollment.email_attempts = 0
        agent.last_email_sent_at = now

    def store_resent(
        self, enrollment: Enrollment, agent: Agent, digest: str, now: float, policy: Policy
    ) -> None:
        self.store(enrollment, agent, digest, now, policy)

    def account_budget(self, policy: Policy) -> int | None:
        """Wrong codes an account may submit per rolling window, however many codes were
        sent and sign-ins made (NIST SP 800-63B §5.2.2); None would be no account budget."""
        return policy.email_code_daily_budget


class SignInThrottle:
    """Wrong passwords, counted and locked by the address submitted."""

    def counted_identifier(self, email: str, agent: Agent | None) -> str | None:
        """The key wrong passwords count under: the normalised address, known or not,
        so an unknown address locks exactly like a known one (None: not counted)."""
        return email


class Notifications:
    """The security mails an agent gets, queued in the event's transaction (``notices``)."""

    def device_bound(self, db: Session, agent: Agent, now: float, *, replaced: bool) -> None:
        """A device was bound to the account (NIST SP 800-63B §6.1.2.1): tell its address."""
        notices.queue(db, agent.email, *notices.device_bound(now, replaced=replaced), now)

    def sign_in_locked(
        self, db: Session, agent: Agent, now: float, failures: int, until: float
    ) -> None:
        """Wrong passwords locked the account's sign-in: tell its owner (RFC 4226 §7.2)."""
        notices.queue(db, agent.email, *notices.sign_in_locked(now, failures, until), now)

    def email_budget_spent(
        self, db: Session, agent: Agent, now: float, budget: int, until: float
    ) -> None:
        """The account's wrong email codes reached the budget: enrollment is locked."""
        notices.queue(db, agent.email, *notices.email_budget_spent(now, budget, until), now)


class Devices:
    """Binding and retiring devices."""

    def on_email_verified(self, db: Session, agent_id: int, now: float) -> None:
        """Nothing: the old device keeps working until the new one is confirmed."""

    def retire_on_confirm(self, db: Session, agent_id: int, now: float) -> None:
        """The confirmed device replaces the agent's active one, in the same transaction."""
        retire_active(db, agent_id, now)

    def sign_in_devices(
        self, db: Statements, agent_id: int, active: DeviceState
    ) -> list[DeviceState]:
        """The devices a sign-in code is checked against: the one active device."""
        return [active]


def retire_active(db: Session, agent_id: int, now: float) -> None:
    """Every active device of the agent retires now."""
    db.execute(
        update(Device)
        .where(Device.agent_id == agent_id, Device.status == "active")
        .values(status="retired", retired_at=now)
    )


#: ``Sessions.after_code``'s statement.
_END_TOKEN: Final = (
    update(Token).where(Token.id == bindparam("token_id")).values(ended_at=bindparam("now"))
)


class Sessions:
    """Tokens: a new one after the second factor; a new device ends the others."""

    def after_code(self, db: Statements, token_id: int, now: float) -> None:
        """The partial token the sign-in code finished ends (a full one replaces it)."""
        db.run(_END_TOKEN, token_id=token_id, now=now)

    def on_confirm(self, db: Session, agent_id: int, now: float) -> None:
        """A new device ends every other session of the agent (declared choice)."""
        end_tokens(db, agent_id, now)

    def check_host(self, db: Session, caller: Caller) -> None:
        """Hosting needs a full token earned with the second factor where 2FA applies."""
        require_second_factor(db, caller)


class Gating:
    """The seed's version rule and the seats 2FA covers."""

    def below_minimum(self, version: Version, minimum: Version) -> bool:
        """A client or device group below v4.3 build 1575 (the policy's minimum)."""
        return version < minimum

    def outdated(self, groups: Sequence[DeviceGroup], policy: Policy) -> list[DeviceGroup]:
        """The groups below the minimum version and build."""
        minimum = policy.minimum_client
        return [
            g
            for g in groups
            if self.below_minimum(parse_group_version(g.version, g.build), minimum)
        ]

    def asks_second_factor(self, seat: str, required: bool) -> bool:
        """Whether sign-in asks an agent on ``seat`` for the second factor."""
        return required


class Checkpoints:
    """Named points between the writes of a transaction: nothing happens at them.

    In harness mode ``TWOFA_HARNESS_CRASH_AT`` makes the process kill itself at one
    (``reference_server/crashes.py``), so the crash tests can show a transaction
    cut in the middle leaves no half-done state.
    """

    def reached(self, name: str) -> None:
        """Nothing."""


@dataclass
class Rules:
    """Every decision point, as the reference server makes it unless a fault replaces one."""

    codes: CodeMatching = field(default_factory=CodeMatching)
    window: Window = field(default_factory=Window)
    replay: ReplayGuard = field(default_factory=ReplayGuard)
    throttle: Throttle = field(default_factory=Throttle)
    parser: CodeParser = field(default_factory=CodeParser)
    provisioner: Provisioner = field(default_factory=Provisioner)
    email: EmailCodes = field(default_factory=EmailCodes)
    sign_in: SignInThrottle = field(default_factory=SignInThrottle)
    notifications: Notifications = field(default_factory=Notifications)
    devices: Devices = field(default_factory=Devices)
    sessions: Sessions = field(default_factory=Sessions)
    gating: Gating = field(default_factory=Gating)
    checkpoints: Checkpoints = field(default_factory=Checkpoints)
