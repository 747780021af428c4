"""Keeps the partial token alive after the code; ends no session at confirmation."""

from sqlalchemy.orm import Session

from ..driver_sql import Statements
from ..rules import Rules, Sessions


class NoRotation(Sessions):
    def after_code(self, db: Statements, token_id: int, now: float) -> None:
        return None

    def on_confirm(self, db: Session, agent_id: int, now: float) -> None:
        return None


def apply(rules: Rules) -> None:
    rules.sessions = NoRotation()
