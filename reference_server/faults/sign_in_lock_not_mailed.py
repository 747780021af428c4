"""Locks sign-in after wrong passwords without telling the account's owner (before issue 14)."""

from sqlalchemy.orm import Session

from ..models import Agent
from ..rules import Notifications, Rules


class Silent(Notifications):
    def sign_in_locked(
        self, db: Session, agent: Agent, now: float, failures: int, until: float
    ) -> None:
        return None


def apply(rules: Rules) -> None:
    rules.notifications = Silent()
