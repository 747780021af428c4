"""Model-based search: a Hypothesis state machine of one agent's phones against one server.

Each rule is played as a scenario step (``conformance.replay.Player``) on the harness
clock. When an invariant breaks, the steps so far are written as a scenario file (each
step expecting what it got, the breaking step expecting what the invariant demands), so
``twofa replay FILE`` reproduces the failure. Invariants: no code accepted twice; a
retired device never accepted; no support session without the second factor.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from conformance.target import EmbeddedTarget

AGENTS = {
    "alice": AgentActor("alice", "remote_support_v5"),
    "boss": AgentActor("boss", "account_admin", "admin"),
}
DEVICES = {
    "phone": DeviceActor("phone", "lastpass-authenticator"),
    "spare": DeviceActor("spare", "lastpass-authenticator"),
    "new": DeviceActor("new", "microsoft-authenticator"),
}
#: How long after its acceptance a code must stay refused (the window ±1 step and then some).
REPLAY_HORIZON = 120
OTP_URL = "/api/v1/auth/otp"


class InvariantBroken(AssertionError):
    """An invariant failed; the scenario that reproduces it is at ``path``."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(f"{message} (scenario written to {path})")
        self.invariant = message
        self.path = path


class Lifecycle(RuleBasedStateMachine):
    """Enroll, log in, replay, lose, restore, re-enroll, abandon, advance time, admin switch."""

    target: ClassVar[EmbeddedTarget]
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
            clients={"web": ClientActor("web", "web")},
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
        self.player = Player(self.scenario, self.ctx, self.records.append)
        self.player.setup()  # the harness reset: every example starts from the seed
        self.now = 0
        self.enrolled = False
        self.lost: set[str] = set()
        self.current: bytes | None = None
        self.retired: set[bytes] = set()
        self.accepted: dict[tuple[bytes, str], int] = {}

    # -- playing steps ------------------------------------------------------------

    def play(self, do: str, **args: Any) -> dict[str, Any] | None:
        """Play one step now; write it down expecting what it got; its trace record."""
        answers = STEP_KINDS[do][2]
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

    def broken(self, message: str, expect: dict[str, str]) -> None:
        """Write the steps so far, the last one expecting what the invariant demands."""
        self.timeline[-1]["expect"] = expect
        document = {
            "title": f"Found by the state machine: {message}",
            "actors": {
                "agents": {a.name: {"seat": a.seat, "role": a.role} for a in AGENTS.values()},
                "devices": {d.name: {"profile": d.profile} for d in DEVICES.values()},
            },
            "timeline": self.timeline,
        }
        self.out.write_text(yaml.safe_dump(document, sort_keys=False))
        raise InvariantBroken(message, self.out)

    def key(self, device: str) -> bytes:
        return self.player.devices[device].account().key

    def usable(self, device: str) -> bool:
        return device not in self.lost and bool(self.player.devices[device].accounts)

    def last_url(self) -> str:
        http = self.ctx.steps[-1].evidence.get("http", [])
        return str(http[-1]["url"]) if http else ""

    # -- rules ---------------------------------------------------------------------

    @precondition(lambda self: not self.enrolled)
    @rule(device=st.sampled_from(["phone", "new"]))
    def enroll(self, device: str) -> None:
        if device in self.lost:
            return
        record = self.play("enroll", agent="alice", device=device)
        if record and record["held"]:
            self.enrolled = True
            self.current = self.key(device)
            self.accepted[(self.current, self.player.last_code[device])] = self.now

    @precondition(lambda self: self.enrolled)
    @rule(
        device=st.sampled_from(["phone", "spare", "new"]), code=st.sampled_from(["current", "last"])
    )
    def log_in(self, device: str, code: str) -> None:
        if not self.usable(device) or (code == "last" and device not in self.player.last_code):
            return
        record = self.play("log_in", agent="alice", device=device, code=code)
        if not (record and record["held"] and self.last_url() == OTP_URL):
            return
        key, shown = self.key(device), self.player.last_code[device]
        if key in self.retired:
            self.broken("a retired device's code was accepted", {"refused": "otp_invalid"})
        first = self.accepted.get((key, shown))
        if first is not None and self.now - first <= REPLAY_HORIZON:
            self.broken("a code was accepted twice", {"refused": "otp_reused"})
        self.accepted[(key, shown)] = self.now

    @rule()
    def host_with_the_password_alone(self) -> None:
        signed = self.play("sign_in", agent="alice")
        stage = self.player.agents["alice"].stage
        if not (signed and signed["held"]) or stage == "done":
            return
        hosted = self.play("host", agent="alice")
        if hosted and hosted["held"]:
            self.broken(
                "a support session without the second factor",
                {"refused": "second_factor_required"},
            )

    @precondition(lambda self: self.enrolled)
    @rule(device=st.sampled_from(["phone", "spare", "new"]), finish=st.booleans())
    def reenroll(self, device: str, finish: bool) -> None:
        if device in self.lost:
            return
        signed = self.play("sign_in", agent="alice")
        if not (signed and signed["held"]):
            return
        started = self.play("start_reenrollment", agent="alice")
        if not (started and started["held"]):
            return
        if not finish:
            self.play("abandon_reenrollment", agent="alice")
            return
        confirmed = self.play("confirm_reenrollment", agent="alice", device=device, by="key")
        if confirmed and confirmed["held"]:
            if self.current is not None:
                self.retired.add(self.current)
            self.current = self.key(device)
            self.retired.discard(self.current)
            self.accepted[(self.current, self.player.last_code[device])] = self.now

    @rule()
    def lose_phone(self) -> None:
        if "phone" not in self.lost:
            self.play("lose_device", device="phone")
            self.lost.add("phone")

    @precondition(lambda self: bool(self.player.devices["phone"].accounts))
    @rule()
    def restore_spare_from_phone(self) -> None:
        self.play("restore_device", device="spare", **{"from": "phone"})
        self.lost.discard("spare")

    @rule(seconds=st.sampled_from([1, 30, 90, 3600, 2 * 86_400]))
    def advance(self, seconds: int) -> None:
        self.now += seconds

    @rule(required=st.booleans())
    def set_two_factor(self, required: bool) -> None:
        self.play("set_two_factor", agent="boss", required=required)


def search(
    target: EmbeddedTarget, out: Path, examples: int, steps: int = 10
) -> InvariantBroken | None:
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
def reference() -> Iterator[EmbeddedTarget]:
    with EmbeddedTarget() as target:
        yield target


def test_against_the_reference_server_the_search_finds_nothing(
    reference: EmbeddedTarget, tmp_path: Path
) -> None:
    out = tmp_path / "found.yaml"
    assert search(reference, out, examples=15) is None
    assert not out.exists()


@pytest.mark.parametrize(
    ("fault", "invariant", "expect"),
    [
        ("no_replay_guard", "a code was accepted twice", "refused: otp_reused"),
    ],
)
def test_a_planted_fault_is_found_and_the_written_scenario_replays_to_it(
    fault: str, invariant: str, expect: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"faults": [fault]}))
    out = tmp_path / "found.yaml"
    with EmbeddedTarget(policy_file=policy) as mutant:
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
    with EmbeddedTarget() as reference, pytest.raises(SystemExit) as exited:
        main(["replay", str(out), "--target", reference.base_url, "--out", str(tmp_path / "ok")])
    assert exited.value.code == 0, capsys.readouterr().err
