"""Retires the old device as soon as a re-enrollment's email is verified."""

from sqlalchemy.orm import Session

from ..rules import Devices, Rules, retire_active


class RetiredEarly(Devices):
    def on_email_verified(self, db: Session, agent_id: int, now: float) -> None:
        retire_active(db, agent_id, now)


def apply(rules: Rules) -> None:
    rules.devices = RetiredEarly()
