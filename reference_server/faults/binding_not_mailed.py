"""Binds a device without a word to the account's address (before issue 14)."""

from sqlalchemy.orm import Session

from ..models import Agent
from ..rules import Notifications, Rules


class Silent(Notifications):
    def device_bound(self, db: Session, agent: Agent, now: float, *, replaced: bool) -> None:
        return None


def apply(rules: Rules) -> None:
    rules.notifications = Silent()
