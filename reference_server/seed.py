"""Seeds: the demo account printed by ``serve --harness``, and harness resets."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from .accounts import new_agent
from .errors import ApiError
from .models import (
    Base,
    DeviceGroup,
    Setting,
)
from .policy import Policy
from .rules import Gating
from .security import Passwords

#: The demo seed: an admin, agents on each seat, device groups at, below and above
#: the minimum (4.3 build 1575). Fixed passwords: this is a demo on loopback.
DEMO_SEED: Final[dict[str, Any]] = {
    "agents": [
        {
            "email": "admin@example.com",
            "password": "admin-demo-password",
            "seat": "account_admin",
            "role": "admin",
        },
        {
            "email": "v5.agent@example.com",
            "password": "v5-demo-password",
            "seat": "remote_support_v5",
            "role": "agent",
        },
        {
            "email": "rs.agent@example.com",
            "password": "rs-demo-password",
            "seat": "remote_support",
            "role": "agent",
        },
        {
            "email": "lens.agent@example.com",
            "password": "lens-demo-password",
            "seat": "rescue_lens",
            "role": "agent",
        },
    ],
    "device_groups": [
        {"name": "Support desk (at minimum)", "version": "4.3", "build": 1575},
        {"name": "Legacy kiosks (below minimum)", "version": "4.3", "build": 1574},
        {"name": "Early adopters (above minimum)", "version": "4.4", "build": 120},
    ],
    "two_factor_required": False,
}


def group_json(group: DeviceGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "version": group.version, "build": group.build}


def minimum_json(policy: Policy) -> dict[str, Any]:
    return {"version": policy.minimum_client.version, "build": policy.minimum_client.build}


def load_seed(
    db: Session,
    seed: dict[str, Any],
    *,
    now: float,
    passwords: Passwords,
    policy: Policy,
    gating: Gating,
) -> dict[str, Any]:
    """Empty every table and load ``seed`` (already validated); return it with ids."""
    tables = list(reversed(Base.metadata.sorted_tables))
    if db.get_bind().dialect.name == "postgresql":
        # As SQLite does after emptying a table: the ids start at 1 again, so a seed's
        # ids are the same on every database (PostgreSQL's sequences would run on).
        names = ", ".join(f'"{table.name}"' for table in tables)
        db.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.execute(delete(table))
    db.add(Setting(id=1, two_factor_required=False))
    agents = []
    for item in seed["agents"]:
        agent = new_agent(item, passwords, now)
        db.add(agent)
        agents.append((agent, item))
    groups = [DeviceGroup(**item) for item in seed["device_groups"]]
    db.add_all(groups)
    db.flush()
    if seed["two_factor_required"]:
        stale = gating.outdated(groups, policy)
        if stale:
            raise ApiError(
                "device_groups_outdated",
                groups=[group_json(g) for g in stale],
                minimum=minimum_json(policy),
            )
        setting = db.scalar(select(Setting).where(Setting.id == 1))
        assert setting is not None
        setting.two_factor_required = True
    return {
        "agents": [{"id": agent.id, **item} for agent, item in agents],
        "device_groups": [group_json(g) for g in groups],
        "two_factor_required": bool(seed["two_factor_required"]),
    }
