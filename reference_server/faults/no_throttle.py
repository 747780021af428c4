"""Never locks: wrong codes are not counted."""

from __future__ import annotations

from typing import Final

from sqlalchemy import bindparam, update

from ..driver_sql import Statements
from ..models import Agent
from ..otp_state import THROTTLE_COLUMNS, ThrottleState
from ..policy import Policy
from ..rules import Rules, Throttle

#: Still takes the agent's row lock, so replay protection stays serialised.
_NOT_COUNTED: Final = (
    update(Agent)
    .where(Agent.id == bindparam("agent_id"))
    .values(otp_failures=0)
    .returning(*THROTTLE_COLUMNS)
)


class Unthrottled(Throttle):
    def reserve(self, db: Statements, agent: ThrottleState, now: float, policy: Policy) -> bool:
        row = db.first(_NOT_COUNTED, agent_id=agent.id)
        assert row is not None
        agent.load(row)
        return True

    def settle_failure(
        self, agent: ThrottleState, now: float, policy: Policy, *, reused: bool
    ) -> str | None:
        return None


def apply(rules: Rules) -> None:
    rules.throttle = Unthrottled()
