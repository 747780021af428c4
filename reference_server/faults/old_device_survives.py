"""The replaced device's codes still log in: confirming retires nothing."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Device
from ..rules import Devices, Rules


class Survives(Devices):
    def retire_on_confirm(self, db: Session, agent_id: int, now: float) -> None:
        return None

    def sign_in_devices(self, db: Session, agent_id: int, active: Device) -> list[Device]:
        # Every device ever confirmed still counts, newest first.
        return list(
            db.scalars(
                select(Device)
                .where(Device.agent_id == agent_id, Device.status == "active")
                .order_by(Device.id.desc())
            )
        )


def apply(rules: Rules) -> None:
    rules.devices = Survives()
