"""Never locks: wrong codes are not counted."""

from sqlalchemy import update
from sqlalchemy.orm import Session

from ..models import Agent
from ..policy import Policy
from ..rules import Rules, Throttle


class Unthrottled(Throttle):
    def reserve(self, db: Session, agent: Agent, now: float, policy: Policy) -> bool:
        # Still take the agent's row lock, so replay protection stays serialised.
        db.execute(update(Agent).where(Agent.id == agent.id).values(otp_failures=0))
        db.refresh(agent)
        return True

    def settle_failure(
        self, agent: Agent, now: float, policy: Policy, *, reused: bool
    ) -> str | None:
        return None


def apply(rules: Rules) -> None:
    rules.throttle = Unthrottled()
