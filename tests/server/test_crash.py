"""Crash safety: the server killed with SIGKILL at every step of (re-)enrollment, and inside
the confirm transaction, then restarted on the same database.

A power cut or the OOM killer does not let a process finish anything. After
each kill the server is started again on the same database and the stored
state must hold: at most one active device per agent, never a half-bound one
(an enrollment confirmed without its device, or a device without its
confirmation), the old device working exactly when the new one was not
confirmed, and no agent, device group or setting lost. The kills inside the
transaction come from the server itself, at a named checkpoint between two of
the confirm transaction's writes (``TWOFA_HARNESS_CRASH_AT``, harness mode
only: ``reference_server/crashes.py``). On SQLite and on PostgreSQL 15.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, func, select

from reference_server.crashes import CHECKPOINTS
from reference_server.models import Agent, Device, DeviceGroup, Enrollment, Setting
from simulators.hotp import CodeGenerator
from simulators.otpauth import parse_uri

from .servers import Server, base_env, call, cli, start

T0 = 2_000_000_010.0
EMAIL, PASSWORD = "crash.agent@example.com", "crash-agent-password"
SEED = {
    "agents": [
        {"email": EMAIL, "password": PASSWORD, "seat": "remote_support_v5", "role": "agent"},
        {
            "email": "crash.admin@example.com",
            "password": PASSWORD,
            "seat": "account_admin",
            "role": "admin",
        },
    ],
    "device_groups": [{"name": "Desk", "version": "4.3", "build": 1575}],
    "two_factor_required": True,
}


@dataclass
class Enrolling:
    """One agent walking (re-)enrollment against a server that may be killed and restarted."""

    server: Server
    now: float = T0
    token: str | None = None
    old: CodeGenerator | None = None
    new: CodeGenerator | None = None
    done: list[str] = field(default_factory=list)

    def advance(self, steps: int = 2) -> None:
        self.now += 30 * steps
        assert call(self.server, "PUT", "/__harness__/clock", {"now": self.now})[0] == 200

    def sign_in(self) -> str:
        status, body = call(
            self.server, "POST", "/api/v1/auth/sign-in", {"email": EMAIL, "password": PASSWORD}
        )
        assert status == 200, body
        self.token = body["token"]
        return str(body["next"])

    def start(self) -> None:
        status, body = call(self.server, "POST", "/api/v1/enrollment/start", token=self.token)
        assert status == 202, body

    def verify_email(self) -> None:
        _, mails = call(self.server, "GET", f"/__harness__/mailbox?to={quote(EMAIL)}")
        code = [m for m in mails if m["code"]][-1]["code"]
        status, body = call(
            self.server, "POST", "/api/v1/enrollment/email/verify", {"code": code}, self.token
        )
        assert status == 200, body

    def device(self) -> None:
        status, body = call(self.server, "GET", "/api/v1/enrollment/device", token=self.token)
        assert status == 200, body
        self.new = CodeGenerator(parse_uri(body["otpauth_uri"]).key())

    def confirm(self) -> tuple[int, Any]:
        assert self.new is not None
        return call(
            self.server,
            "POST",
            "/api/v1/enrollment/confirm",
            {"code": self.new.code_at(self.now)},
            self.token,
        )

    def logs_in_with(self, device: CodeGenerator) -> bool:
        """Password, then ``device``'s code of a fresh step: accepted?"""
        self.advance()
        if self.sign_in() != "verify_otp":
            return False
        status, _ = call(
            self.server,
            "POST",
            "/api/v1/auth/otp",
            {"code": device.code_at(self.now)},
            self.token,
        )
        return status == 200


#: The steps of enrollment from a fresh sign-in, in order (the last one binds the device).
def steps(agent: Enrolling) -> list[tuple[str, Callable[[], object]]]:
    def confirmed() -> None:
        status, body = agent.confirm()
        assert status == 200, body

    return [
        ("sign-in", agent.sign_in),
        ("start", agent.start),
        ("verify-email", agent.verify_email),
        ("device", agent.device),
        ("confirm", confirmed),
    ]


@dataclass
class Deployment:
    """One database, and servers started on it one after the other."""

    tmp: Path
    url: str
    servers: list[Server] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(self.tmp, DATABASE_URL=self.url, **extra)

    def start(self, **extra: str) -> Server:
        server = start(["--harness", "--password-cost", "test"], self.env(**extra), self.tmp)
        self.servers.append(server)
        return server

    def close(self) -> None:
        for server in self.servers:
            server.kill()

    def state(self) -> dict[str, Any]:
        """What must never be lost, and what must never be half done, read from the database."""
        engine = create_engine(self.url)
        try:
            with engine.connect() as db:
                agents = db.execute(select(Agent.email, Agent.seat, Agent.role)).all()
                groups = db.execute(select(DeviceGroup.name, DeviceGroup.build)).all()
                setting = db.execute(select(Setting.two_factor_required)).scalar()
                active = db.execute(
                    select(Device.agent_id, func.count())
                    .where(Device.status == "active")
                    .group_by(Device.agent_id)
                ).all()
                devices = db.execute(select(func.count()).select_from(Device)).scalar()
                confirmed = db.execute(
                    select(func.count())
                    .select_from(Enrollment)
                    .where(Enrollment.status == "confirmed")
                ).scalar()
        finally:
            engine.dispose()
        return {
            "agents": sorted(agents),
            "groups": sorted(groups),
            "two_factor_required": setting,
            "active_per_agent": dict(active),
            "devices": devices,
            "confirmed_enrollments": confirmed,
        }


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Iterator[Deployment]:
    found = Deployment(tmp_path, database_url)
    yield found
    found.close()


def seeded(deployment: Deployment, *, enrolled: bool) -> tuple[Server, Enrolling, dict[str, Any]]:
    """A server with the seed, the clock at T0, and (if ``enrolled``) the agent's first device."""
    server = deployment.start()
    assert call(server, "POST", "/__harness__/reset", SEED)[0] == 200
    agent = Enrolling(server)
    agent.advance(0)
    if enrolled:
        for _, step in steps(agent):
            step()
        agent.old, agent.new = agent.new, None
    return server, agent, deployment.state()


def restarted(deployment: Deployment, agent: Enrolling, **extra: str) -> Server:
    server = deployment.start(**extra)
    agent.server = server
    return server


def assert_whole(state: dict[str, Any], before: dict[str, Any]) -> None:
    """Nothing lost; at most one active device per agent; never a half-bound device."""
    for kept in ("agents", "groups", "two_factor_required"):
        assert state[kept] == before[kept], kept
    assert all(count == 1 for count in state["active_per_agent"].values()), state
    # Each confirmed enrollment made exactly one device: a device without its
    # confirmation, or a confirmation without its device, is a half-bound one.
    assert state["devices"] == state["confirmed_enrollments"], state


#: The names of ``steps``, for the parameters.
NAMES = ("sign-in", "start", "verify-email", "device", "confirm")


@pytest.mark.parametrize("killed_after", NAMES)
def test_first_enrollment_survives_a_kill_after_each_step(
    deployment: Deployment, killed_after: str
) -> None:
    server, agent, before = seeded(deployment, enrolled=False)
    for name, step in steps(agent):
        step()
        if name == killed_after:
            break
    server.kill()
    restarted(deployment, agent)
    state = deployment.state()
    assert_whole(state, before)
    bound = killed_after == "confirm"
    assert sum(state["active_per_agent"].values()) == (1 if bound else 0), state
    if not bound:
        # An unfinished enrollment starts again and binds the new device.
        agent.advance()
        for _, step in steps(agent):
            step()
    assert agent.new is not None
    assert agent.logs_in_with(agent.new)
    assert_whole(deployment.state(), before)


@pytest.mark.parametrize("killed_after", NAMES)
def test_reenrollment_survives_a_kill_after_each_step(
    deployment: Deployment, killed_after: str
) -> None:
    server, agent, before = seeded(deployment, enrolled=True)
    agent.advance()
    for name, step in steps(agent):
        step()
        if name == killed_after:
            break
    server.kill()
    restarted(deployment, agent)
    state = deployment.state()
    assert_whole(state, before)
    assert state["confirmed_enrollments"] == (2 if killed_after == "confirm" else 1), state
    assert agent.old is not None
    replaced = killed_after == "confirm"
    # The old device works exactly when the new one was not confirmed.
    assert agent.logs_in_with(agent.old) is not replaced
    if agent.new is not None:
        assert agent.logs_in_with(agent.new) is replaced


@pytest.mark.parametrize("checkpoint", CHECKPOINTS)
def test_a_kill_inside_the_confirm_transaction_leaves_the_old_device(
    deployment: Deployment, checkpoint: str
) -> None:
    server, agent, before = seeded(deployment, enrolled=True)
    server.kill()
    server = restarted(deployment, agent, TWOFA_HARNESS_CRASH_AT=checkpoint)
    agent.advance()
    for _, step in steps(agent)[:-1]:
        step()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        agent.confirm()  # the process killed itself mid-transaction: no answer
    server.process.wait(timeout=20)
    assert server.process.returncode == -9  # SIGKILL, not an error exit
    restarted(deployment, agent)
    state = deployment.state()
    assert_whole(state, before)
    assert state["devices"] == before["devices"] == 1
    assert agent.old is not None
    assert agent.new is not None
    assert agent.logs_in_with(agent.old)
    assert not agent.logs_in_with(agent.new)
    # The cut re-enrollment is simply done again, and then replaces the old device.
    agent.advance()
    for _, step in steps(agent):
        step()
    assert agent.logs_in_with(agent.new)
    assert not agent.logs_in_with(agent.old)
    state = deployment.state()
    assert_whole(state, before)
    assert state["confirmed_enrollments"] == 2


def test_a_crash_point_is_refused_outside_harness_mode_and_when_unknown(
    deployment: Deployment,
) -> None:
    key = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
    outside = cli(
        ["serve", "--dev-mail-sink", "--port", "0"],
        deployment.env(TWOFA_SECRET_KEY=key, TWOFA_HARNESS_CRASH_AT="confirm.device_added"),
    )
    assert outside.returncode == 2
    assert "harness mode only" in outside.stderr
    assert outside.stderr.count("\n") == 1, outside.stderr
    unknown = cli(
        ["serve", "--harness", "--port", "0"], deployment.env(TWOFA_HARNESS_CRASH_AT="nowhere")
    )
    assert unknown.returncode == 2
    assert "unknown crash point 'nowhere'" in unknown.stderr
