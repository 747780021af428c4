"""Play scenario files against a target on the harness clock (``twofa replay``).

A scenario becomes one check (plan ``scenarios``) whose steps are its timeline's
steps, so the result log and the reports are those of ``twofa run``. The
conversation with the server goes through ``conformance.session.Agent``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import IO, Any, Final

from conformance.checks import CheckContext, CheckResult, CheckSpec, HarnessError, Step
from conformance.http import Exchange
from conformance.results import ResultLog
from conformance.scenario_file import Scenario, ScenarioError, ScenarioStep, scenario_from_trace
from conformance.session import BASE_TIME, PASSWORD, Agent, RunContext
from conformance.target import Target
from records import MARKER, redact
from simulators.clock import SkewedClock
from simulators.device import AuthenticatorDevice, ProvisioningRefused

PLAN: Final = "scenarios"

#: The requirement ids (docs/conformance.md, the standards checklist) a step of each kind
#: speaks for; ``step_requirements`` adds ids for what a step's arguments exercise.
STEP_REQUIREMENTS: Final[dict[str, tuple[str, ...]]] = {
    "sign_in": ("SEED-01", "ENR-14"),
    "log_in": ("SEED-06", "WIN-01"),
    "enter_code": ("SEED-06", "WIN-01"),
    "enroll": ("SEED-04", "ENR-02", "ENR-14"),
    "start_reenrollment": ("SEED-05", "ENR-02", "ENR-03"),
    "confirm_reenrollment": ("SEED-05", "ENR-07", "ENR-14"),
    "abandon_reenrollment": ("SEED-05", "ENR-08"),
    "host": ("SEED-06", "ENR-14"),
    # The world's own steps check nothing by themselves; they set up what the next
    # answers are judged on (a lost phone, a restored backup, codes going stale).
    "lose_device": ("SEED-05",),
    "restore_device": ("SEED-05",),
    "advance": ("SEED-06",),
    "set_two_factor": ("SEED-01", "SEED-02"),
    "set_device_group": ("SEED-02",),
    "add_agent": ("SEED-01",),
    "set_seat": ("SEED-01",),
}


def step_requirements(scenario: Scenario) -> list[tuple[str, ...]]:
    """The requirement ids of each timeline step, from its kind and what it exercises.

    A code step adds the replay ids for ``code: last``, throttling for ``code: wrong``
    or ``expect: locked``, drift for a device with skew or drift, and ENR-07 for a
    device an earlier re-enrollment replaced (read from the timeline, not the answers).
    """
    current: dict[str, str] = {}
    retired: set[str] = set()
    found: list[tuple[str, ...]] = []
    for step in scenario.steps:
        ids = list(STEP_REQUIREMENTS[step.do])
        device = scenario.devices.get(step.args.get("device", ""))
        if step.do in ("log_in", "enter_code"):
            code = step.args.get("code", "current")
            if code == "last":
                ids += ["RPL-01", "RPL-02"]
            if code == "wrong" or (step.expect is not None and step.expect.kind == "locked"):
                ids += ["THR-01", "THR-02"]
            if device is not None and (device.skew or device.drift_ppm):
                ids += ["WIN-04", "WIN-05"]
            if step.args.get("steps"):
                ids += ["WIN-02", "WIN-04"]
            if step.args.get("device") in retired:
                ids.append("ENR-07")
        if step.do == "enroll":
            ids += ["SEED-03", "URI-09"] if step.args.get("by") == "key" else ["URI-01", "URI-03"]
            current[step.args["agent"]] = step.args["device"]
        if step.do == "confirm_reenrollment":
            old = current.get(step.args["agent"])
            if old is not None and old != step.args["device"]:
                retired.add(old)
            retired.discard(step.args["device"])
            current[step.args["agent"]] = step.args["device"]
        client = scenario.clients.get(step.args.get("client", "web"))
        if client is not None and client.kind != "web":
            ids.append("SEED-02")
        found.append(tuple(dict.fromkeys(ids)))
    return found


def shipped_scenarios() -> list[Path]:
    """The scenario files of ``conformance/scenarios/`` (package data: found when installed)."""
    folder = resources.files("conformance") / "scenarios"
    return sorted(
        Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith((".yaml", ".yml"))
    )


@dataclass
class Answer:
    """The server's answer a step's expectation is judged on, and a note for the report."""

    exchange: Exchange | None
    note: str = ""


class Player:
    """Plays one scenario inside a check context, one recorded step per timeline step."""

    def __init__(
        self, scenario: Scenario, ctx: CheckContext, trace: Callable[[dict[str, Any]], None]
    ) -> None:
        self.scenario = scenario
        #: The steps played so far: a step's requirement ids depend on the ones before it.
        self.played: list[ScenarioStep] = []
        self.ctx = ctx
        self.run = ctx.run
        self.trace = trace
        self.agents: dict[str, Agent] = {}
        self.devices: dict[str, AuthenticatorDevice] = {}
        self.lost: set[str] = set()
        #: The last code each device showed in this scenario (for ``code: last``).
        self.last_code: dict[str, str] = {}
        #: The step being played, counted from 1 (the trace's ``step``).
        self.number = 0
        #: Virtual seconds since the scenario's start.
        self.elapsed = 0

    def play(self) -> None:
        self.setup()
        for step in self.scenario.steps:
            self.play_step(step)

    def setup(self) -> None:
        """Reset the target to the scenario's seed at the base time; create agents and devices."""
        scenario, run = self.scenario, self.run
        run.fresh_start(scenario.seed(PASSWORD), at=BASE_TIME)
        self.elapsed = 0
        for name, actor in scenario.agents.items():
            self.agents[name] = Agent(run, actor.email, PASSWORD)
        for name, device in scenario.devices.items():
            clock = SkewedClock(run.clock, device.skew, device.drift_ppm, anchor=BASE_TIME)
            self.devices[name] = AuthenticatorDevice(device.profile, clock, name=name)

    def play_step(self, step: ScenarioStep) -> None:
        """Move the clock to the step's time and play it as the next recorded step."""
        self.number += 1
        if step.at > self.elapsed:
            self.run.advance(step.at - self.elapsed)
            self.elapsed = step.at
        title = f"{step.at_text} {step.describe()}"
        if step.expect is not None:
            title += f" → {step.expect.describe()}"
        self.played.append(step)
        requirements = step_requirements(replace(self.scenario, steps=tuple(self.played)))[-1]
        with self.ctx.step(title, requirements, on_failure="continue") as handle:
            handle.evidence(server_time=self.run.clock.now(), virtual_time=step.at, line=step.line)
            self.one(step, handle)

    def one(self, step: ScenarioStep, handle: Step) -> None:
        try:
            outcome = getattr(self, f"do_{step.do}")(step, handle)
        except ProvisioningRefused as exc:
            outcome = Answer(None, f"the device refused the setup: {exc}")
        answer = outcome.exchange
        number = self.number
        record: dict[str, Any] = {
            "scenario": self.scenario.name,
            "step": number,
            "line": step.line,
            "at": step.at,
            "at_text": step.at_text,
            "do": step.do,
            "args": trace_args(step.args),
            "expect": step.expect.describe() if step.expect else None,
            "requirements": list(self.ctx.steps[-1].requirements),
            "server_time": self.run.clock.now(),
            "status": answer.status if answer else None,
            "error_code": answer.error_code if answer else None,
        }
        if number == 1:
            # What a faithful re-run needs besides the steps (``twofa replay --trace``).
            record["setup"] = scenario_setup(self.scenario)
        if step.expect is None:
            handle.note(outcome.note or "done")
            record["held"] = True
        elif answer is None:
            handle.fail(outcome.note or "no answer from the server")
            record["held"] = False
        else:
            held = step.expect.holds(answer.status, answer.error_code)
            wanted_next = step.args.get("next")
            got_next = answer.body.get("next") if isinstance(answer.body, dict) else None
            if held and wanted_next is not None and got_next != wanted_next:
                held = False
                handle.fail(f"answered {answer.describe()} with next {got_next}, not {wanted_next}")
            elif held:
                handle.note(f"{answer.describe()}" + (f"; {outcome.note}" if outcome.note else ""))
            else:
                handle.fail(f"expected {step.expect.describe()}, answered {answer.describe()}")
            record["held"] = held
        self.trace(record)

    # -- helpers ------------------------------------------------------------------

    def agent(self, step: ScenarioStep) -> Agent:
        agent = self.agents[step.args["agent"]]
        client = self.scenario.clients[step.args.get("client", "web")]
        agent.client, agent.version = client.kind, client.version
        return agent

    def device(self, name: str) -> AuthenticatorDevice:
        if name in self.lost:
            raise HarnessError(f"device {name} was lost")
        return self.devices[name]

    def code(self, step: ScenarioStep, handle: Step) -> str:
        name = step.args["device"]
        device = self.device(name)
        if step.args.get("code") == "last":
            if name not in self.last_code:
                raise HarnessError(f"device {name} has shown no code yet")
            return self.last_code[name]
        at = device.clock.now() + step.args.get("steps", 0) * device.account().period
        code = device.code_at(at)
        if step.args.get("code") == "wrong":
            code = _wrong_code(device)
        self.last_code[name] = code
        handle.evidence(device=name, device_time=device.clock.now(), device_code=code)
        if step.args.get("steps"):
            handle.evidence(periods_away=step.args["steps"])
        return code

    @staticmethod
    def kept(handle: Step, exchange: Exchange) -> Exchange:
        return handle.exchange(exchange)

    def admin_call(
        self, step: ScenarioStep, handle: Step, method: str, path: str, body: Any = None
    ) -> Exchange:
        """Sign the admin in (a full token, as its seat is not subject to 2FA), then call."""
        admin = self.agent(step)
        signed = self.kept(handle, admin.sign_in())
        if signed.status != 200 or admin.stage != "done":
            raise HarnessError(
                f"the admin {admin.email} got no full token at sign-in: {signed.describe()}"
            )
        return self.kept(handle, admin.call(method, path, body))

    # -- step kinds ---------------------------------------------------------------

    def do_sign_in(self, step: ScenarioStep, handle: Step) -> Answer:
        agent = self.agent(step)
        signed = self.kept(handle, agent.sign_in(step.args.get("password")))
        return Answer(signed, f"next {agent.stage}" if _ok(signed) else "")

    def do_log_in(self, step: ScenarioStep, handle: Step) -> Answer:
        agent = self.agent(step)
        signed = self.kept(handle, agent.sign_in())
        if signed.status != 200 or agent.stage == "done":
            return Answer(signed, f"next {agent.stage}")
        return Answer(self.kept(handle, agent.submit_otp(self.code(step, handle))))

    def do_enter_code(self, step: ScenarioStep, handle: Step) -> Answer:
        agent = self.agent(step)
        return Answer(self.kept(handle, agent.submit_otp(self.code(step, handle))))

    def do_enroll(self, step: ScenarioStep, handle: Step) -> Answer:
        agent = self.agent(step)
        if agent.token is None or agent.stage not in ("enroll", "verify_otp", "done"):
            signed = self.kept(handle, agent.sign_in())
            if signed.status != 200:
                return Answer(signed)
        started = self.start(agent, handle)
        if not _ok(started):
            return Answer(started)
        return self.confirm(step, handle)

    def start(self, agent: Agent, handle: Step) -> Exchange:
        """Start (re-)enrollment, verify the email, fetch the setup.

        Answers the first refusal, or the start's answer when all went through.
        """
        started = self.kept(handle, agent.start_enrollment())
        if not _ok(started):
            return started
        verified = self.kept(handle, agent.verify_email(agent.latest_email_code()))
        if not _ok(verified):
            return verified
        fetched = self.kept(handle, agent.get_device())
        return started if _ok(fetched) else fetched

    def confirm(self, step: ScenarioStep, handle: Step) -> Answer:
        agent = self.agent(step)
        device = self.device(step.args["device"])
        info = agent.provisioning
        if not info:
            raise HarnessError(f"{agent.email} has fetched no device setup to confirm")
        if step.args.get("by", "qr") == "key":
            device.provision_from_key(
                str(info.get("manual_key", "")),
                account=str(info.get("account", agent.email)),
                issuer=info.get("issuer"),
                algorithm=str(info.get("algorithm", "SHA1")),
                digits=int(info.get("digits", 6)),
                period=int(info.get("period", 30)),
            )
        else:
            device.provision_from_uri(str(info.get("otpauth_uri", "")))
        return Answer(self.kept(handle, agent.confirm(self.code(step, handle))))

    def do_start_reenrollment(self, step: ScenarioStep, handle: Step) -> Answer:
        agent = self.agent(step)
        if agent.token is None:
            raise HarnessError(f"{agent.email} has no session: sign in or log in first")
        started = self.start(agent, handle)
        return Answer(started, "at connect_device" if _ok(started) else "")

    def do_confirm_reenrollment(self, step: ScenarioStep, handle: Step) -> Answer:
        return self.confirm(step, handle)

    def do_abandon_reenrollment(self, step: ScenarioStep, handle: Step) -> Answer:
        agent = self.agent(step)
        agent.token, agent.stage, agent.provisioning = None, None, {}
        return Answer(None, f"{agent.email} closed the wizard")

    def do_host(self, step: ScenarioStep, handle: Step) -> Answer:
        return Answer(self.kept(handle, self.agent(step).host_support_session()))

    def do_lose_device(self, step: ScenarioStep, handle: Step) -> Answer:
        self.lost.add(step.args["device"])
        return Answer(None, f"{step.args['device']} is lost")

    def do_restore_device(self, step: ScenarioStep, handle: Step) -> Answer:
        source = self.devices[step.args["from"]]
        name = step.args["device"]
        target = self.devices[name]
        self.devices[name] = AuthenticatorDevice.restore(source.backup(), target.clock, name=name)
        self.lost.discard(name)
        return Answer(
            None, f"{name} restored {len(source.accounts)} account(s) from the cloud backup"
        )

    def do_set_two_factor(self, step: ScenarioStep, handle: Step) -> Answer:
        body = {"two_factor_required": step.args["required"]}
        return Answer(self.admin_call(step, handle, "PUT", "/api/v1/admin/settings", body))

    def do_set_device_group(self, step: ScenarioStep, handle: Step) -> Answer:
        listed = self.admin_call(step, handle, "GET", "/api/v1/admin/device-groups")
        body: Any = listed.body
        if isinstance(body, dict):
            body = body.get("groups", body.get("device_groups", []))
        groups: list[Any] = body if isinstance(body, list) else []
        found = [g for g in groups if isinstance(g, dict) and g.get("name") == step.args["group"]]
        if not found:
            raise HarnessError(f"the server lists no device group {step.args['group']!r}")
        change = {"version": step.args["version"], "build": step.args["build"]}
        path = f"/api/v1/admin/device-groups/{found[0]['id']}"
        return Answer(self.kept(handle, self.agent(step).call("PATCH", path, change)))

    def do_add_agent(self, step: ScenarioStep, handle: Step) -> Answer:
        new = self.scenario.agents[step.args["new"]]
        body = {"email": new.email, "password": PASSWORD, "seat": new.seat, "role": new.role}
        return Answer(self.admin_call(step, handle, "POST", "/api/v1/admin/agents", body))

    def do_set_seat(self, step: ScenarioStep, handle: Step) -> Answer:
        who = self.scenario.agents[step.args["who"]]
        listed = self.admin_call(step, handle, "GET", "/api/v1/admin/agents")
        agents = listed.body if isinstance(listed.body, list) else []
        found = [a for a in agents if isinstance(a, dict) and a.get("email") == who.email]
        if not found:
            raise HarnessError(f"the server lists no agent {who.email}")
        path = f"/api/v1/admin/agents/{found[0]['id']}"
        change = {"seat": step.args["seat"]}
        return Answer(self.kept(handle, self.agent(step).call("PATCH", path, change)))

    def do_advance(self, step: ScenarioStep, handle: Step) -> Answer:
        return Answer(None, f"the clock reads {step.at_text}")


def trace_args(args: dict[str, Any]) -> dict[str, Any]:
    """A step's arguments for the trace: a typed password is never written down.

    The right password is dropped (the step then types it by default); a wrong one
    becomes the redaction marker, which is still a wrong password when the trace is replayed.
    """
    kept = {k: v for k, v in args.items() if k != "password"}
    if "password" in args and args["password"] != PASSWORD:
        kept["password"] = MARKER
    return kept


def scenario_setup(scenario: Scenario) -> dict[str, Any]:
    """Everything of a scenario but its timeline, in the scenario file's terms."""
    setup: dict[str, Any] = {
        "title": scenario.title,
        "two_factor_required": scenario.two_factor_required,
        "device_groups": [dict(g) for g in scenario.device_groups],
        "actors": {
            "agents": {
                a.name: {"seat": a.seat, "role": a.role, "seeded": a.seeded}
                for a in scenario.agents.values()
            },
            "devices": {
                d.name: {"profile": d.profile, "skew": d.skew, "drift_ppm": d.drift_ppm}
                for d in scenario.devices.values()
            },
            "clients": {
                c.name: {"kind": c.kind, "version": c.version}
                for c in scenario.clients.values()
                if c.name != "web"
            },
        },
    }
    if scenario.description:
        setup["description"] = scenario.description
    return setup


def _wrong_code(device: AuthenticatorDevice) -> str:
    """A code of the right length that no step within three of the device's clock shows."""
    account = device.account()
    now = device.clock.now()
    near = {account.code_at(now + k * account.period) for k in range(-3, 4)}
    value = (int(account.code_at(now)) + 10 ** (account.digits - 1) // 2) % 10**account.digits
    while f"{value:0{account.digits}d}" in near:
        value = (value + 1) % 10**account.digits
    return f"{value:0{account.digits}d}"


def _ok(exchange: Exchange) -> bool:
    return 200 <= exchange.status < 300


def scenario_check(scenario: Scenario, trace: Callable[[dict[str, Any]], None]) -> CheckSpec:
    """The scenario as a check of plan ``scenarios`` (id: the file's stem)."""

    def play(ctx: CheckContext) -> None:
        Player(scenario, ctx, trace).play()

    ids = [i for step in step_requirements(scenario) for i in step]
    return CheckSpec(
        id=scenario.name,
        title=scenario.title,
        plan=PLAN,
        requirements=tuple(dict.fromkeys(ids)),
        severity="error",
        run=play,
        description=scenario.description,
    )


@dataclass
class ReplaySummary:
    results: list[CheckResult]
    exit_status: int


def replay(
    target: Target,
    scenarios: list[Scenario],
    folder: Path,
    *,
    run_id: str | None = None,
    progress: Callable[[Scenario, CheckResult], None] | None = None,
) -> ReplaySummary:
    """Play every scenario (each from a fresh harness reset); write results.jsonl and trace.jsonl.

    The target must have the harness endpoints (the caller checks: without them
    no scenario can control time).
    """
    run = RunContext(target)
    run.output_dir = folder
    log = ResultLog(folder / "results.jsonl")
    algorithm, digits, period = run.totp_parameters
    log.start(
        command="replay",
        target=target.describe(),
        plans=[PLAN],
        variant={"algorithm": algorithm, "digits": digits, "period": period},
        expectations_file=None,
        run_id=run_id,
        policy=run.policy,
        seed=None,
    )
    results: list[CheckResult] = []
    with (folder / "trace.jsonl").open("w", encoding="utf-8") as trace_file:
        try:
            for scenario in scenarios:
                result = scenario_check(scenario, _writer(trace_file)).execute(run)
                results.append(result)
                log.check(result, None)
                if progress:
                    progress(scenario, result)
        except BaseException:
            log.close()
            raise
    return ReplaySummary(results, log.end())


def _writer(file: IO[str]) -> Callable[[dict[str, Any]], None]:
    def write(record: dict[str, Any]) -> None:
        file.write(json.dumps(redact(record), default=str) + "\n")
        file.flush()

    return write


def iter_step_lines(result: CheckResult) -> Iterator[tuple[str, str]]:
    """(outcome word, text) per recorded step, for the progress output."""
    for record in result.steps:
        yield record.outcome.value, f"{record.title}: {record.message}"


# -- trace replay (twofa replay --trace) -----------------------------------------------

#: What a step's outcome is, in a trace record: compared between a recording and a re-run.
OUTCOME_KEYS: Final = ("server_time", "status", "error_code", "held")


@dataclass
class RecordedScenario:
    """One scenario of a trace: rebuilt from its records, and the records themselves."""

    scenario: Scenario
    records: list[dict[str, Any]]


def load_trace(path: Path) -> list[RecordedScenario]:
    """Read a trace.jsonl; raise ScenarioError (``FILE:LINE: message``) when it is malformed.

    A scenario's records are consecutive, numbered from ``step: 1``, and the first
    carries the scenario's ``setup``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, 0, f"cannot read the trace: {exc}") from None
    groups: list[tuple[str, tuple[int, Any], list[tuple[int, dict[str, Any]]]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScenarioError(path, number, f"not JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise ScenarioError(path, number, "a trace record is a JSON object")
        missing = [k for k in ("scenario", "step", "at", "do", *OUTCOME_KEYS) if k not in record]
        if missing:
            raise ScenarioError(path, number, f"a step record lacks {', '.join(missing)}")
        name, step = record["scenario"], record["step"]
        if not isinstance(name, str) or not name:
            raise ScenarioError(path, number, "scenario must be a non-empty string")
        if step == 1:
            if "setup" not in record:
                raise ScenarioError(path, number, f"step 1 of {name} has no setup")
            if any(g[0] == name for g in groups):
                raise ScenarioError(path, number, f"scenario {name} appears twice")
            groups.append((name, (number, record["setup"]), []))
        elif not groups or groups[-1][0] != name or step != len(groups[-1][2]) + 1:
            expected = len(groups[-1][2]) + 1 if groups and groups[-1][0] == name else 1
            raise ScenarioError(
                path, number, f"{name} step {step!r} out of order (expected step {expected})"
            )
        groups[-1][2].append((number, record))
    if not groups:
        raise ScenarioError(path, 1, "the trace has no step records")
    return [
        RecordedScenario(
            scenario_from_trace(path, name, setup, steps), [record for _, record in steps]
        )
        for name, setup, steps in groups
    ]


@dataclass(frozen=True)
class Difference:
    """The first step whose outcome differs from the recording."""

    scenario: str
    step: int
    line: int
    title: str
    recorded: str
    now: str

    def describe(self) -> str:
        return (
            f"{self.scenario} step {self.step} (scenario line {self.line}: {self.title}): "
            f"recorded {self.recorded}; now {self.now}"
        )


def outcome_text(record: dict[str, Any] | None) -> str:
    """A step's outcome in words: the answer, the expectation's verdict, the server time."""
    if record is None:
        return "the step did not finish (a harness error; see the report)"
    answer = "no answer" if record.get("status") is None else str(record["status"])
    if record.get("error_code"):
        answer += f" {record['error_code']}"
    verdict = "held" if record.get("held") else "did not hold"
    return f"{answer}, expectation {verdict}, server time {record.get('server_time')}"


def first_difference(
    recorded: list[RecordedScenario], now: list[dict[str, Any]]
) -> Difference | None:
    """Compare a re-run's trace records with the recording, step by step, in order."""
    replayed = {(r.get("scenario"), r.get("step")): r for r in now}
    for entry in recorded:
        for step, record in zip(entry.scenario.steps, entry.records, strict=True):
            again = replayed.get((entry.scenario.name, record["step"]))
            if again is None or any(again.get(k) != record.get(k) for k in OUTCOME_KEYS):
                return Difference(
                    entry.scenario.name,
                    record["step"],
                    step.line,
                    f"{step.at_text} {step.describe()}",
                    outcome_text(record),
                    outcome_text(again),
                )
    return None


def read_trace_records(path: Path) -> list[dict[str, Any]]:
    """The records of a trace this harness just wrote (no checks)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
