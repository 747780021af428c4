"""The replaced device's codes still log in: confirming retires nothing."""

from __future__ import annotations

from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..driver_sql import Statements
from ..models import Device
from ..otp_state import DEVICE_COLUMNS, DeviceState
from ..rules import Devices, Rules

#: Every device ever confirmed still counts, newest first.
_ALL_ACTIVE: Final = (
    select(*DEVICE_COLUMNS)
    .where(Device.agent_id == bindparam("agent_id"), Device.status == "active")
    .order_by(Device.id.desc())
)


class Survives(Devices):
    def retire_on_confirm(self, db: Session, agent_id: int, now: float) -> None:
        return None

    def sign_in_devices(
        self, db: Statements, agent_id: int, active: DeviceState
    ) -> list[DeviceState]:
        return [DeviceState.from_row(row) for row in db.rows(_ALL_ACTIVE, agent_id=agent_id)]


def apply(rules: Rules) -> None:
    rules.devices = Survives()
