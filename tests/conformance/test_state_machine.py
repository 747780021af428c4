"""Model-based search: a Hypothesis state machine of one agent's phones against one server.

Each rule is played as a scenario step (``conformance.replay.Player``) on the harness
clock. The machine keeps a model of what the server has declared (``/__harness__/policy``)
and of what has happened, and checks five invariants on the answers:

- no code is accepted twice;
- a retired device (replaced by a re-enrollment) is never accepted;
- no support session after the password alone while 2FA covers the agent;
- the window is never wider than the declared window around the declared drift;
- the right code is refused (423) after ``max_failures`` wrong ones in a row;

and one of the admin's: 2FA is never on while a device group is below the minimum.
When an invariant breaks, the steps so far are written as a scenario file (each step
expecting what it got, the breaking step expecting what the invariant demands), so
``twofa replay FILE`` reproduces the failure.

The servers searched are the reference server and its mutants served in the test
process (``tests/inprocess.py``), reached over HTTP; ``twofa replay`` is run
against their URLs as against any remote server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.checks import CheckContext, CheckSpec
from conformance.cli import main
from conformance.replay import PLAN, Player
from conformance.scenario_file import (
    ACCEPTED,
    DEFAULT_GROUPS,
    STEP_KINDS,
    AgentActor,
    ClientActor,
    DeviceActor,
    Scenario,
    ScenarioStep,
    load_scenario,
)
from conformance.session import RunContext
from conformance.target import Target
from tests.inprocess import InProcessTarget

AGENTS = {
    "alice": AgentActor("alice", "remote_support_v5"),
    "boss": AgentActor("boss", "account_admin", "admin"),
}
DEVICES = {
    "phone": DeviceActor("phone", "lastpass-authenticator"),
    "spare": DeviceActor("spare", "lastpass-authenticator"),
    "new": DeviceActor("new", "microsoft-authenticator"),
}
#: The seats 2FA covers (the seed's rule SEED-01); alice moves among these and rescue_lens.
COVERED_SEATS = ("remote_support_v5", "remote_support")
REENROLLMENTS = ("new", "new, then the old phone", "spare", "phone", "abandon")
LOG_INS = ("phone", "new", "the last code again", "+2", "-2", "spare", "+1", "-1", "+3")
WORLD_EVENTS = ("+30", "+90", "lose the phone", "restore the spare", "+1", "+3600", "+172800")
ADMIN_CHANGES = (
    "seat remote_support",
    "2fa off",
    "group below",
    "2fa on",
    "seat rescue_lens",
    "group minimum",
    "seat remote_support_v5",
)
#: How long after its acceptance a code must stay refused (the window ±1 step and then some).
REPLAY_HORIZON = 120
OTP_URL = "/api/v1/auth/otp"
GROUP = DEFAULT_GROUPS[0]["name"]
#: alice uses the mobile app (at the minimum version): it enrolls by typed key, so the
#: server renders no QR code (about 50 ms a setup, the search's largest cost).
APP = ClientActor("app", "mobile", "4.3.1575")


@dataclass(frozen=True)
class DeclaredPolicy:
    """What the machine's invariants read from ``/__harness__/policy``."""

    back: int
    forward: int
    drift_tracking: bool
    max_drift: int
    max_failures: int
    resend_cooldown: int
    period: int
    minimum_build: int

    @classmethod
    def of(cls, run: RunContext) -> DeclaredPolicy:
        policy = run.policy
        window, drift = policy["window"], policy["drift"]
        return cls(
            back=int(window["back"]),
            forward=int(window["forward"]),
            drift_tracking=bool(drift["tracking"]),
            max_drift=int(drift["max_steps"]),
            max_failures=int(policy["throttle"]["max_failures"]),
            resend_cooldown=int(policy["email_code"]["resend_cooldown_seconds"]),
            period=run.totp_parameters[2],
            minimum_build=int(policy["minimum_client"]["build"]),
        )


class InvariantBroken(AssertionError):
    """An invariant failed; the scenario that reproduces it is at ``path``."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(f"{message} (scenario written to {path})")
        self.invariant = message
        self.path = path


class Lifecycle(RuleBasedStateMachine):
    """Log in, replay, lose, restore, re-enroll, abandon, lock out, advance time, admin changes.

    Every example starts with alice enrolled on her phone.
    """

    target: ClassVar[Target]
    out: ClassVar[Path]

    @initialize()
    def start(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.timeline: list[dict[str, Any]] = []
        self.scenario = Scenario(
            path=self.out,
            name=self.out.stem,
            title="state machine",
            description="",
            two_factor_required=True,
            device_groups=DEFAULT_GROUPS,
            agents=AGENTS,
            devices=DEVICES,
            clients={"web": ClientActor("web", "web"), "app": APP},
        )
        spec = CheckSpec(
            id=self.out.stem,
            title="state machine",
            plan=PLAN,
            requirements=(),
            severity="error",
            run=lambda ctx: None,
        )
        self.ctx = CheckContext(RunContext(self.target), spec)
        self.policy = DeclaredPolicy.of(self.ctx.run)
        self.player = Player(self.scenario, self.ctx, self.records.append)
        self.player.setup()  # the harness reset: every example starts from the seed
        self.now = 0
        self.lost: set[str] = set()
        self.retired: set[bytes] = set()
        self.accepted: dict[tuple[bytes, str], int] = {}
        #: The server step of the last code each device showed (for ``code: last``).
        self.shown_step: dict[str, int] = {}
        self.drift = 0  # the drift the server should have recorded, in steps
        self.two_factor_on = True
        self.covered = True  # alice's seat is one 2FA covers
        self.group_below = False
        self.last_email = 0
        self.last_device = "phone"
        record = self.play("enroll", agent="alice", device="phone", by="key")
        assert record is not None
        assert record["held"], f"enrollment failed: {record}"
        self.note_shown("phone")
        self.current = self.key("phone")
        self.accepted[(self.current, self.player.last_code["phone"])] = self.now

    # -- playing steps ------------------------------------------------------------

    def play(self, do: str, **args: Any) -> dict[str, Any] | None:
        """Play one step now; write it down expecting what it got; its trace record."""
        _, optional, answers = STEP_KINDS[do]
        if args.get("agent") == "alice" and "client" in optional and "client" not in args:
            args = {**args, "client": APP.name}
        step = ScenarioStep(
            len(self.timeline) + 1,
            self.now,
            f"+{self.now}s",
            do,
            args,
            ACCEPTED if answers else None,
        )
        self.player.play_step(step)
        written: dict[str, Any] = {"at": f"+{self.now}s", "do": do, **args}
        self.timeline.append(written)
        if not answers:
            return None
        record = self.records[-1]
        status, code = record["status"], record["error_code"]
        assert status is not None, f"step {do} got no answer"
        assert status < 500, f"step {do} answered {status}"
        if 200 <= status < 300:
            written["expect"] = "accepted"
        elif status == 423:
            written["expect"] = "locked"
        else:
            written["expect"] = {"refused": code}
        return record

    def broken(self, message: str, expect: str | dict[str, str] = "accepted") -> None:
        """Write the steps so far, the last one expecting what the invariant demands."""
        self.timeline[-1]["expect"] = expect
        document = {
            "title": f"Found by the state machine: {message}",
            "actors": {
                "agents": {a.name: {"seat": a.seat, "role": a.role} for a in AGENTS.values()},
                "devices": {d.name: {"profile": d.profile} for d in DEVICES.values()},
                "clients": {APP.name: {"kind": APP.kind, "version": APP.version}},
            },
            "timeline": self.timeline,
        }
        self.out.write_text(yaml.safe_dump(document, sort_keys=False))
        raise InvariantBroken(message, self.out)

    def key(self, device: str) -> bytes:
        return self.player.devices[device].account().key

    def usable(self, device: str) -> bool:
        return device not in self.lost and bool(self.player.devices[device].accounts)

    def second_factor_applies(self) -> bool:
        return self.two_factor_on and self.covered

    def server_step(self) -> int:
        return int(self.ctx.run.clock.now() // self.policy.period)

    def note_shown(self, device: str, steps: int = 0) -> None:
        """Remember the server step of the code the last step's device showed, if it showed one."""
        if "device_code" in self.ctx.steps[-1].evidence:
            self.shown_step[device] = self.server_step() + steps

    def code_accepted(self, record: dict[str, Any] | None) -> bool:
        """The step's answer accepted a second-factor code (not a password-only sign-in)."""
        http = self.ctx.steps[-1].evidence.get("http", [])
        return bool(record and record["held"] and http and http[-1]["url"] == OTP_URL)

    # -- rules ---------------------------------------------------------------------

    # Few rules, each choosing among named variants: Hypothesis switches whole rules off
    # per example (swarm testing) and prefers the first variants, so the everyday ones
    # come first and a fault needs only two or three rules to line up.

    @rule(client=st.sampled_from(["app", "web"]))
    def host_with_the_password_alone(self, client: str) -> None:
        signed = self.play("sign_in", agent="alice", client=client)
        if not (signed and signed["held"]) or not self.second_factor_applies():
            return
        if self.player.agents["alice"].stage == "done":
            self.timeline[-1]["next"] = "verify_otp"
            self.broken("the password alone gave a full session while 2FA covers the agent")
        hosted = self.play("host", agent="alice")
        if hosted and hosted["held"]:
            self.broken(
                "a support session without the second factor",
                {"refused": "second_factor_required"},
            )

    @rule(how=st.sampled_from(LOG_INS))
    def log_in(self, how: str) -> None:
        """Log in with a device's code now, a code periods away, or a code shown before."""
        if how.startswith(("+", "-")):
            holders = [d for d in DEVICES if self.usable(d) and self.key(d) == self.current]
            if holders:
                self.log_in_with(holders[0], "current", int(how))
        elif how == "the last code again":
            if self.last_device in self.shown_step:
                self.log_in_with(self.last_device, "last", 0)
        else:
            self.log_in_with(how, "current", 0)

    def log_in_with(self, device: str, code: str, steps: int) -> None:
        if not self.usable(device):
            return
        self.last_device = device
        args: dict[str, Any] = {"agent": "alice", "device": device}
        if code == "last":
            args["code"] = "last"
        elif steps:
            args["steps"] = steps
        record = self.play("log_in", **args)
        if code == "current":
            self.note_shown(device, steps)
        if not self.code_accepted(record):
            return
        key, shown = self.key(device), self.player.last_code[device]
        if key in self.retired:
            self.broken("a retired device's code was accepted", {"refused": "otp_invalid"})
        first = self.accepted.get((key, shown))
        if first is not None and self.now - first <= REPLAY_HORIZON:
            self.broken("a code was accepted twice", {"refused": "otp_reused"})
        self.accepted[(key, shown)] = self.now
        offset = self.shown_step[device] - self.server_step()
        low, high = self.drift - self.policy.back, self.drift + self.policy.forward
        if not low <= offset <= high:
            self.broken(
                "a code outside the declared window was accepted", {"refused": "otp_invalid"}
            )
        if self.policy.drift_tracking:
            self.drift = max(-self.policy.max_drift, min(self.policy.max_drift, offset))

    @rule(onto=st.sampled_from(REENROLLMENTS))
    def reenroll(self, onto: str) -> None:
        """ "Set up a new mobile device", confirmed on a device or abandoned before that.

        "new, then the old phone": the agent tries the replaced phone out of habit.
        """
        onto, _, then = onto.partition(", then ")
        if onto in self.lost or not self.start_reenrollment():
            return
        if onto == "abandon":
            self.play("abandon_reenrollment", agent="alice")
            return
        confirmed = self.play("confirm_reenrollment", agent="alice", device=onto, by="key")
        self.note_shown(onto)
        if confirmed and confirmed["held"]:
            self.retired.add(self.current)
            self.current = self.key(onto)
            self.retired.discard(self.current)
            self.accepted[(self.current, self.player.last_code[onto])] = self.now
            self.drift = 0
        if then and self.retired:
            replaced = [d for d in DEVICES if self.usable(d) and self.key(d) in self.retired]
            if replaced:
                self.log_in_with(replaced[0], "current", 0)

    def start_reenrollment(self) -> bool:
        # The agent comes back once the last verification email may be resent.
        self.now = max(self.now, self.last_email + self.policy.resend_cooldown)
        signed = self.play("sign_in", agent="alice")
        if not (signed and signed["held"]):
            return False
        started = self.play("start_reenrollment", agent="alice")
        if not (started and started["held"]):
            return False
        self.last_email = self.now
        return True

    @rule(event=st.sampled_from(WORLD_EVENTS))
    def the_world(self, event: str) -> None:
        """Time passes, the phone is lost, or the spare is restored from its cloud backup."""
        if event.startswith("+"):
            self.now += int(event[1:])
        elif event == "lose the phone" and "phone" not in self.lost:
            self.play("lose_device", device="phone")
            self.lost.add("phone")
        elif event == "restore the spare" and self.player.devices["phone"].accounts:
            self.play("restore_device", device="spare", **{"from": "phone"})
            self.lost.discard("spare")
            self.shown_step.pop("spare", None)

    @rule(change=st.sampled_from(ADMIN_CHANGES))
    def the_admin(self, change: str) -> None:
        """The 2FA switch, the device group's build, or alice's seat."""
        what, _, value = change.partition(" ")
        if what == "2fa":
            required = value == "on"
            record = self.play("set_two_factor", agent="boss", required=required)
            if not (record and record["held"]):
                return
            if required and self.group_below:
                self.broken(
                    "2FA was switched on while a device group is below the minimum",
                    {"refused": "device_groups_outdated"},
                )
            self.two_factor_on = required
        elif what == "group":
            below = value == "below"
            build = self.policy.minimum_build - (1 if below else 0)
            record = self.play(
                "set_device_group", agent="boss", group=GROUP, version="4.3", build=build
            )
            if not (record and record["held"]):
                return
            if below and self.two_factor_on:
                self.broken(
                    "a device group moved below the minimum while 2FA is required",
                    {"refused": "device_group_below_minimum"},
                )
            self.group_below = below
        else:
            record = self.play("set_seat", agent="boss", who="alice", seat=value)
            if record and record["held"]:
                self.covered = value in COVERED_SEATS

    @precondition(lambda self: self.second_factor_applies())
    @rule(device=st.sampled_from(["phone", "spare", "new"]))
    def guess_codes(self, device: str) -> None:
        """``max_failures`` wrong codes in a row, then the right one: it must be locked."""
        if not self.usable(device):
            return
        for _ in range(self.policy.max_failures):
            self.play("log_in", agent="alice", device=device, code="wrong")
        record = self.play("log_in", agent="alice", device=device)
        self.note_shown(device)
        if record and record["status"] != 423 and self.code_accepted(record):
            self.broken(
                f"the right code was accepted after {self.policy.max_failures} wrong ones",
                "locked",
            )


def search(target: Target, out: Path, examples: int, steps: int = 10) -> InvariantBroken | None:
    """Run the state machine against ``target``; the broken invariant, or None."""
    machine = type("Search", (Lifecycle,), {"target": target, "out": out})
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    except InvariantBroken as exc:
        return exc
    return None


@pytest.fixture(scope="module")
def reference() -> Iterator[Target]:
    with InProcessTarget() as target:
        yield target


def test_against_the_reference_server_the_search_finds_nothing(
    reference: Target, tmp_path: Path
) -> None:
    out = tmp_path / "found.yaml"
    assert search(reference, out, examples=40) is None
    assert not out.exists()


#: (fault planted in the server, the invariant that finds it, what the breaking step expects)
PLANTED = [
    ("no_replay_guard", "a code was accepted twice", "refused: otp_reused"),
    ("old_device_survives", "a retired device's code was accepted", "refused: otp_invalid"),
    (
        "undeclared_wide_window",
        "a code outside the declared window was accepted",
        "refused: otp_invalid",
    ),
    ("no_throttle", "the right code was accepted after 5 wrong ones", "locked"),
    (
        "no_version_gating",
        "a device group moved below the minimum while 2FA is required",
        "refused: device_group_below_minimum",
    ),
]


@pytest.mark.parametrize(("fault", "invariant", "expect"), PLANTED)
def test_a_planted_fault_is_found_and_the_written_scenario_replays_to_it(
    fault: str, invariant: str, expect: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "found.yaml"
    with InProcessTarget({"faults": [fault]}) as mutant:
        found = search(mutant, out, examples=100, steps=6)
        assert found is not None, f"the search did not find {fault}"
        assert found.invariant == invariant
        scenario = load_scenario(out)  # a valid scenario file
        last = scenario.steps[-1]
        assert last.expect is not None
        assert last.expect.describe() == expect
        with pytest.raises(SystemExit) as exited:
            main(["replay", str(out), "--target", mutant.base_url, "--out", str(tmp_path / "r")])
        assert exited.value.code == 1
        err = capsys.readouterr().err
        failed = [line for line in err.splitlines() if line.startswith("    FAIL")]
        assert len(failed) == 1, err
        assert f"→ {expect}: expected {expect}, answered 20" in failed[0]
        # The same file holds against the reference server (the invariant's expectation).
    with InProcessTarget() as reference, pytest.raises(SystemExit) as exited:
        main(["replay", str(out), "--target", reference.base_url, "--out", str(tmp_path / "ok")])
    assert exited.value.code == 0, capsys.readouterr().err
