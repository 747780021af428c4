"""Admin: the account-wide 2FA setting (version-gated), device groups, agents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import lockout
from ..accounts import Caller, load_caller, new_agent, require_second_factor, settings_row
from ..declarations import AGENT_CHANGES, EMPTY, GROUP_CHANGES, NEW_AGENT, NEW_GROUP, SETTINGS
from ..errors import ApiError
from ..models import Agent, DeviceGroup, EmailCodeFailure
from ..seed import group_json, minimum_json
from ..services import Services
from ..versions import Version, VersionError, parse_group_version
from .base import Body
from .session import describe_agent

#: Ids are 32-bit (larger path values are simply not found, never a database error).
MAX_ID = 2**31


def _admin(db: Session, svc: Services, token: str) -> Caller:
    caller = load_caller(db, token, svc.clock.now())
    require_second_factor(db, caller)
    if caller.agent.role != "admin":
        raise ApiError("forbidden")
    return caller


def valid_agent(item: Any) -> dict[str, Any]:
    """``{email, password, seat, role}`` checked and normalised (400 otherwise)."""
    return NEW_AGENT.check("agent", item)


def valid_version(version: str, build: int) -> Version:
    try:
        return parse_group_version(version, build)
    except VersionError as exc:
        raise ApiError("malformed_version", str(exc)) from None


def valid_group(item: Any) -> dict[str, Any]:
    """``{name, version: "4.3", build: 1575}`` checked (400 otherwise)."""
    return NEW_GROUP.check("device group", item)


def _settings_json(db: Session, svc: Services) -> dict[str, Any]:
    return {
        "two_factor_required": settings_row(db).two_factor_required,
        "minimum_client": minimum_json(svc.policy),
    }


def _below_minimum(svc: Services, version: Version) -> ApiError:
    minimum = svc.policy.minimum_client
    return ApiError(
        "device_group_below_minimum",
        f"While 2FA is required a device group must be at {minimum} or later, not {version}.",
        minimum=minimum_json(svc.policy),
    )


def get_settings(svc: Services, token: str) -> dict[str, Any]:
    """``{two_factor_required, minimum_client}``."""
    with svc.sessions.begin() as db:
        _admin(db, svc, token)
        return _settings_json(db, svc)


def put_settings(svc: Services, token: str, body: Body) -> dict[str, Any]:
    """Turn 2FA on or off; on only when every device group is at the minimum."""
    with svc.sessions.begin() as db:
        _admin(db, svc, token)
        wanted = SETTINGS.body(body())["two_factor_required"]
        if wanted:
            groups = list(db.scalars(select(DeviceGroup).order_by(DeviceGroup.id)))
            stale = svc.rules.gating.outdated(groups, svc.policy)
            if stale:
                names = ", ".join(g.name for g in stale)
                raise ApiError(
                    "device_groups_outdated",
                    f"These device groups are below the minimum version and build: {names}.",
                    groups=[group_json(g) for g in stale],
                    minimum=minimum_json(svc.policy),
                )
        settings_row(db).two_factor_required = wanted
        return _settings_json(db, svc)


def list_groups(svc: Services, token: str) -> list[dict[str, Any]]:
    with svc.sessions.begin() as db:
        _admin(db, svc, token)
        groups = db.scalars(select(DeviceGroup).order_by(DeviceGroup.id))
        return [group_json(g) for g in groups]


def _refused_while_gated(db: Session, svc: Services, version: Version) -> bool:
    """A group may not go below the minimum while 2FA is required (the seed's rule)."""
    minimum = svc.policy.minimum_client
    required = settings_row(db).two_factor_required
    return required and svc.rules.gating.below_minimum(version, minimum)


def create_group(svc: Services, token: str, body: Body) -> dict[str, Any]:
    with svc.sessions.begin() as db:
        _admin(db, svc, token)
        item = valid_group(body())
        version = valid_version(item["version"], item["build"])
        if _refused_while_gated(db, svc, version):
            raise _below_minimum(svc, version)
        group = DeviceGroup(**item)
        db.add(group)
        db.flush()
        return group_json(group)


def update_group(svc: Services, token: str, group_id: int, body: Body) -> dict[str, Any]:
    """Move a group to another version and/or build (404 for an unknown id)."""
    with svc.sessions.begin() as db:
        _admin(db, svc, token)
        changes = GROUP_CHANGES.body(body())
        group = db.get(DeviceGroup, group_id) if group_id < MAX_ID else None
        if group is None:
            raise ApiError("not_found", "There is no device group with this id.")
        version_text = changes.get("version", group.version)
        build = changes.get("build", group.build)
        version = valid_version(version_text, build)
        if _refused_while_gated(db, svc, version):
            raise _below_minimum(svc, version)
        group.version = version_text
        group.build = build
        return group_json(group)


def _agent_json(db: Session, agent: Agent, now: float) -> dict[str, Any]:
    described = describe_agent(db, agent)
    locked = agent.otp_disabled or (agent.otp_locked_until or 0) > now
    described["id"] = agent.id
    described["two_factor"]["locked"] = locked
    return described


def list_agents(svc: Services, token: str) -> list[dict[str, Any]]:
    with svc.sessions.begin() as db:
        _admin(db, svc, token)
        now = svc.clock.now()
        agents = db.scalars(select(Agent).order_by(Agent.id))
        return [_agent_json(db, a, now) for a in agents]


def create_agent(svc: Services, token: str, body: Body) -> dict[str, Any]:
    with svc.sessions.begin() as db:
        _admin(db, svc, token)
        item = valid_agent(body())
        if db.scalar(select(Agent.id).where(func.lower(Agent.email) == item["email"])):
            raise ApiError("email_taken")
        now = svc.clock.now()
        agent = new_agent(item, svc.passwords, now)
        db.add(agent)
        try:
            db.flush()
        except IntegrityError:  # a concurrent create of the same email won the race
            raise ApiError("email_taken") from None
        return _agent_json(db, agent, now)


def update_agent(svc: Services, token: str, agent_id: int, body: Body) -> dict[str, Any]:
    """Move an agent to another seat and/or role (404 for an unknown id).

    A seat change takes effect at once: tokens an agent got on a seat outside 2FA
    cannot host once the agent is on a covered seat (``require_second_factor``).
    """
    with svc.sessions.begin() as db:
        caller = _admin(db, svc, token)
        changes = AGENT_CHANGES.body(body())
        agent = db.get(Agent, agent_id) if agent_id < MAX_ID else None
        if agent is None:
            raise ApiError("not_found", "There is no agent with this id.")
        if "role" in changes:
            role = changes["role"]
            # An admin demoting itself could leave the account with no admin at all.
            if agent.id == caller.agent.id and role != agent.role:
                raise ApiError("own_role_unchangeable")
            agent.role = role
        if "seat" in changes:
            agent.seat = changes["seat"]
        return _agent_json(db, agent, svc.clock.now())


def unlock_agent(svc: Services, token: str, agent_id: int, body: Body) -> dict[str, Any]:
    """Clear an agent's locks: the second factor's (needed after the hard limit), its
    address's wrong passwords, and its spent budget of wrong email codes."""
    with svc.sessions.begin() as db:
        _admin(db, svc, token)
        EMPTY.body(body())
        agent = db.get(Agent, agent_id) if agent_id < MAX_ID else None
        if agent is None:
            raise ApiError("not_found", "There is no agent with this id.")
        agent.otp_failures = 0
        agent.otp_locked_until = None
        agent.otp_disabled = False
        lockout.clear(db, agent.email)
        db.execute(delete(EmailCodeFailure).where(EmailCodeFailure.agent_id == agent.id))
        return _agent_json(db, agent, svc.clock.now())
