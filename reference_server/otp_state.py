"""What a second-factor check reads and writes, as plain records.

The sign-in code runs on the database driver (``driver_sql``), without ORM entities:
the token, the agent's throttle state and its active device come back from one
statement as these records, and the rules (``rules.py``) decide on them. A setup code
(enrollment, an ORM session) uses the same ``ThrottleState``, taken from the session's
agent and given back to it (``of_agent``, ``sync``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from .driver_sql import Row, Statements
from .models import Agent, Device, Token

#: The agent's second-factor counter and lock, in ``ThrottleState``'s order.
THROTTLE_COLUMNS: Final = (Agent.otp_failures, Agent.otp_locked_until, Agent.otp_disabled)
#: The agent's throttle state as committed now (what a refused reservation reads).
THROTTLE_STATE: Final = select(*THROTTLE_COLUMNS).where(Agent.id == bindparam("agent_id"))
#: What ``Throttle.settle_failure`` decided, written back.
SAVE_THROTTLE: Final = (
    update(Agent)
    .where(Agent.id == bindparam("agent_id"))
    .values(
        otp_failures=bindparam("failures"),
        otp_locked_until=bindparam("locked_until"),
        otp_disabled=bindparam("disabled"),
    )
)

#: A device's columns in ``DeviceState``'s order (a sign-in code's candidate device).
DEVICE_COLUMNS: Final = (
    Device.id,
    Device.secret_encrypted,
    Device.algorithm,
    Device.digits,
    Device.period,
    Device.last_step,
    Device.drift,
)
#: A token's columns in ``TokenState``'s order.
TOKEN_COLUMNS: Final = (Token.id, Token.kind, Token.stage, Token.ended_at, Token.expires_at)


@dataclass
class ThrottleState:
    """An agent's consecutive wrong codes and its lock, as its row has them."""

    id: int
    otp_failures: int
    otp_locked_until: float | None
    otp_disabled: bool

    @classmethod
    def of_agent(cls, agent: Agent) -> ThrottleState:
        return cls(agent.id, agent.otp_failures, agent.otp_locked_until, agent.otp_disabled)

    def load(self, row: Row) -> None:
        """Take the values of a row of ``THROTTLE_COLUMNS``."""
        failures, locked_until, disabled = row
        self.otp_failures = int(failures)
        self.otp_locked_until = locked_until
        self.otp_disabled = Statements.flag(disabled)

    def values(self) -> tuple[int, float | None, bool]:
        return self.otp_failures, self.otp_locked_until, self.otp_disabled

    def save(self, db: Statements) -> None:
        """Write the state (after a decision that changed it)."""
        db.run(
            SAVE_THROTTLE,
            agent_id=self.id,
            failures=self.otp_failures,
            locked_until=self.otp_locked_until,
            disabled=self.otp_disabled,
        )

    def sync(self, agent: Agent) -> None:
        """Give the state to the session's ``agent`` as committed (it was written already)."""
        set_committed_value(agent, "otp_failures", self.otp_failures)
        set_committed_value(agent, "otp_locked_until", self.otp_locked_until)
        set_committed_value(agent, "otp_disabled", self.otp_disabled)


@dataclass
class DeviceState:
    """An active device as a sign-in code is checked against it."""

    id: int
    secret_encrypted: bytes
    algorithm: str
    digits: int
    period: int
    last_step: int | None
    drift: int

    @classmethod
    def from_row(cls, row: Row) -> DeviceState:
        """From a row of ``DEVICE_COLUMNS``."""
        device_id, secret, algorithm, digits, period, last_step, drift = row
        return cls(device_id, bytes(secret), algorithm, digits, period, last_step, drift)


@dataclass(frozen=True)
class TokenState:
    """The caller's token, as the sign-in code reads it."""

    id: int
    kind: str
    stage: str
    ended_at: float | None
    expires_at: float

    @property
    def full(self) -> bool:
        return self.kind == "full"

    def live(self, now: float) -> bool:
        return self.ended_at is None and self.expires_at > now


def split_row(row: Row) -> tuple[TokenState, ThrottleState, DeviceState | None]:
    """A row of ``TOKEN_COLUMNS``, the agent's id, ``THROTTLE_COLUMNS`` and
    ``DEVICE_COLUMNS`` (nulls when the agent has no active device)."""
    agent_at = len(TOKEN_COLUMNS)
    device_at = agent_at + 1 + len(THROTTLE_COLUMNS)
    token = TokenState(*row[:agent_at])
    agent = ThrottleState(row[agent_at], 0, None, False)
    agent.load(row[agent_at + 1 : device_at])
    device_row: Any = row[device_at:]
    device = None if device_row[0] is None else DeviceState.from_row(device_row)
    return token, agent, device
