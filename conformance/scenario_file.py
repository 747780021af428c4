"""Load scenario files (docs/scenarios.md) with ``FILE:LINE: message`` errors.

The YAML is composed into nodes (PyYAML keeps each node's line) and checked
node by node, so every error names the line of the offending key or value.
Nothing is run from a file that has any error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import yaml

from simulators.profiles import UnknownProfileError, get_profile

SCENARIO_EMAIL_DOMAIN: Final = "scenario.test"
CLIENT_KINDS: Final = ("web", "desktop", "mobile")
NEXT_STAGES: Final = ("enroll", "verify_email", "connect_device", "verify_otp", "done")
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_STEM: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_VERSION: Final = re.compile(r"^\d+\.\d+\.\d+$")
_TIME: Final = re.compile(r"^\+((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?$")
_UNIT_SECONDS: Final = (86_400, 3_600, 60, 1)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"

#: Step kind → (required keys, optional keys, whether the step gets a server answer).
STEP_KINDS: Final[dict[str, tuple[frozenset[str], frozenset[str], bool]]] = {
    "sign_in": (frozenset({"agent"}), frozenset({"client", "password", "next"}), True),
    "log_in": (frozenset({"agent", "device"}), frozenset({"client", "code", "steps"}), True),
    "enter_code": (frozenset({"agent", "device"}), frozenset({"code", "steps"}), True),
    "enroll": (frozenset({"agent", "device"}), frozenset({"client", "by"}), True),
    "start_reenrollment": (frozenset({"agent"}), frozenset({"client"}), True),
    "confirm_reenrollment": (frozenset({"agent", "device"}), frozenset({"by"}), True),
    "abandon_reenrollment": (frozenset({"agent"}), frozenset(), False),
    "host": (frozenset({"agent"}), frozenset(), True),
    "lose_device": (frozenset({"device"}), frozenset(), False),
    "restore_device": (frozenset({"device", "from"}), frozenset(), False),
    "set_two_factor": (frozenset({"agent", "required"}), frozenset(), True),
    "set_device_group": (frozenset({"agent", "group", "version", "build"}), frozenset(), True),
    "add_agent": (frozenset({"agent", "new"}), frozenset(), True),
    "set_seat": (frozenset({"agent", "who", "seat"}), frozenset(), True),
    "advance": (frozenset(), frozenset(), False),
}
#: How many periods away from its clock a ``steps:`` code may be (a day at 30 s).
MAX_CODE_STEPS: Final = 2880
_ADMIN_STEPS: Final = frozenset({"set_two_factor", "set_device_group", "add_agent", "set_seat"})


class ScenarioError(ValueError):
    """A scenario file that cannot run; ``str()`` is ``FILE:LINE: message``."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Expectation:
    """What a step's answer must be: ``accepted``, ``refused`` (with ``code``) or ``locked``."""

    kind: str
    code: str | None = None

    def describe(self) -> str:
        return f"refused: {self.code}" if self.kind == "refused" else self.kind

    def holds(self, status: int, error_code: str | None) -> bool:
        if self.kind == "accepted":
            return 200 <= status < 300
        if self.kind == "locked":
            return status == 423
        return 400 <= status < 500 and error_code == self.code


ACCEPTED: Final = Expectation("accepted")


@dataclass(frozen=True)
class AgentActor:
    name: str
    seat: str
    role: str = "agent"
    seeded: bool = True

    @property
    def email(self) -> str:
        return f"{self.name}@{SCENARIO_EMAIL_DOMAIN}"


@dataclass(frozen=True)
class DeviceActor:
    name: str
    profile: str
    skew: float = 0.0
    drift_ppm: float = 0.0


@dataclass(frozen=True)
class ClientActor:
    name: str
    kind: str
    version: str = "4.3.1575"


@dataclass(frozen=True)
class ScenarioStep:
    line: int
    at: int
    at_text: str
    do: str
    args: dict[str, Any]
    expect: Expectation | None

    def describe(self) -> str:
        words = [self.do.replace("_", " ")]
        words += [f"{k}={'***' if k == 'password' else v}" for k, v in self.args.items()]
        return " ".join(words)


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str
    title: str
    description: str
    two_factor_required: bool
    device_groups: tuple[dict[str, Any], ...]
    agents: dict[str, AgentActor]
    devices: dict[str, DeviceActor]
    clients: dict[str, ClientActor]
    steps: tuple[ScenarioStep, ...] = field(default=())

    @property
    def duration(self) -> int:
        """Virtual seconds the timeline covers."""
        return self.steps[-1].at if self.steps else 0

    def seed(self, password: str) -> dict[str, Any]:
        """The harness seed: the seeded agents, the device groups, the 2FA switch."""
        return {
            "agents": [
                {"email": a.email, "password": password, "seat": a.seat, "role": a.role}
                for a in self.agents.values()
                if a.seeded
            ],
            "device_groups": [dict(g) for g in self.device_groups],
            "two_factor_required": self.two_factor_required,
        }


DEFAULT_GROUPS: Final = ({"name": "Support desk", "version": "4.3", "build": 1575},)


def parse_time(text: str) -> int | None:
    """``+2h``, ``+1h30m``, ``+90s`` → seconds; None when malformed."""
    match = _TIME.match(text)
    if not match or text == "+":
        return None
    groups = match.group(2), match.group(4), match.group(6), match.group(8)
    return sum(int(g) * unit for g, unit in zip(groups, _UNIT_SECONDS, strict=True) if g)


class _Reader:
    """Walks composed YAML nodes and raises ScenarioError with the node's line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: yaml.Node, message: str) -> ScenarioError:
        return ScenarioError(self.path, node.start_mark.line + 1, message)

    def mapping(
        self, node: yaml.Node, what: str, required: set[str] | frozenset[str], allowed: set[str]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Key → (key node, value node); unknown, missing and repeated keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or key_node.tag != _STR:
                raise self.error(key_node, f"{what}: keys must be words")
            if key in found:
                raise self.error(key_node, f"{what}: {key!r} given twice")
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(key_node, f"{what}: unknown key {key!r} (known: {known})")
            found[key] = (key_node, value_node)
        missing = sorted(set(required) - set(found))
        if missing:
            raise self.error(node, f"{what}: missing {', '.join(repr(m) for m in missing)}")
        return found

    def names(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping of actor names (lowercase words) to their definitions."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping of names")
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
            if key_node.tag != _STR or not _NAME.match(str(key)):
                raise self.error(key_node, f"{what}: a name is a lowercase word, not {key!r}")
            if key in found:
                raise self.error(key_node, f"{what}: {key!r} given twice")
            found[key] = (key_node, value_node)
        return found

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value:
            raise self.error(node, f"{what} must be a non-empty string")
        return str(node.value)

    def integer(self, node: yaml.Node, what: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT:
            raise self.error(node, f"{what} must be an integer")
        return int(node.value)

    def number(self, node: yaml.Node, what: str) -> float:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (_INT, _FLOAT):
            raise self.error(node, f"{what} must be a number")
        try:
            return float(node.value)
        except ValueError:
            raise self.error(node, f"{what} must be a finite number") from None

    def boolean(self, node: yaml.Node, what: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL:
            raise self.error(node, f"{what} must be true or false")
        return str(node.value).lower() in ("true", "yes", "on")

    def choice(self, node: yaml.Node, what: str, choices: tuple[str, ...]) -> str:
        value = self.string(node, what)
        if value not in choices:
            raise self.error(node, f"{what} must be one of {', '.join(choices)}, not {value!r}")
        return value


def load_scenario(path: Path | str) -> Scenario:
    """Read and check one scenario file; raise ScenarioError (``FILE:LINE: message``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, 0, f"cannot read the file: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise ScenarioError(path, line, f"not valid YAML: {exc.problem or exc}") from None
    if root is None:
        raise ScenarioError(path, 1, "the file is empty")
    if not _STEM.match(path.stem):
        # The stem is the scenario's check id in the reports: kebab-case, as every check id.
        raise ScenarioError(path, 1, "name the file in kebab-case (like lost-phone.yaml)")
    return _Builder(_Reader(path)).scenario(root)


class _Builder:
    def __init__(self, reader: _Reader) -> None:
        self.r = reader
        self.agents: dict[str, AgentActor] = {}
        self.devices: dict[str, DeviceActor] = {}
        self.clients: dict[str, ClientActor] = {"web": ClientActor("web", "web")}
        self.groups: tuple[dict[str, Any], ...] = DEFAULT_GROUPS

    def scenario(self, root: yaml.Node) -> Scenario:
        r = self.r
        top = r.mapping(
            root,
            "the scenario",
            {"title", "actors", "timeline"},
            {"title", "description", "two_factor_required", "device_groups", "actors", "timeline"},
        )
        title = r.string(top["title"][1], "title")
        description = r.string(top["description"][1], "description") if "description" in top else ""
        required = (
            r.boolean(top["two_factor_required"][1], "two_factor_required")
            if "two_factor_required" in top
            else True
        )
        if "device_groups" in top:
            self.groups = self.device_groups(top["device_groups"][1])
        self.actors(top["actors"][1])
        steps = self.timeline(top["timeline"][1])
        return Scenario(
            path=r.path,
            name=r.path.stem,
            title=title,
            description=description,
            two_factor_required=required,
            device_groups=self.groups,
            agents=self.agents,
            devices=self.devices,
            clients=self.clients,
            steps=steps,
        )

    def device_groups(self, node: yaml.Node) -> tuple[dict[str, Any], ...]:
        r = self.r
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise r.error(node, "device_groups must be a non-empty list")
        groups = []
        for item in node.value:
            keys = r.mapping(
                item, "a device group", {"name", "version", "build"}, {"name", "version", "build"}
            )
            groups.append(
                {
                    "name": r.string(keys["name"][1], "a device group's name"),
                    "version": r.string(keys["version"][1], "a device group's version"),
                    "build": r.integer(keys["build"][1], "a device group's build"),
                }
            )
        return tuple(groups)

    def actors(self, node: yaml.Node) -> None:
        r = self.r
        keys = r.mapping(node, "actors", {"agents"}, {"agents", "devices", "clients"})
        for name, (_, value) in r.names(keys["agents"][1], "agents").items():
            spec = r.mapping(value, f"agent {name}", {"seat"}, {"seat", "role", "seeded"})
            self.agents[name] = AgentActor(
                name,
                r.string(spec["seat"][1], f"agent {name}: seat"),
                r.choice(spec["role"][1], f"agent {name}: role", ("agent", "admin"))
                if "role" in spec
                else "agent",
                r.boolean(spec["seeded"][1], f"agent {name}: seeded") if "seeded" in spec else True,
            )
        if not self.agents:
            raise r.error(keys["agents"][1], "agents: name at least one agent")
        if "devices" in keys:
            for name, (_, value) in r.names(keys["devices"][1], "devices").items():
                spec = r.mapping(
                    value, f"device {name}", {"profile"}, {"profile", "skew", "drift_ppm"}
                )
                profile = r.string(spec["profile"][1], f"device {name}: profile")
                try:
                    get_profile(profile)
                except UnknownProfileError as exc:
                    raise r.error(spec["profile"][1], f"device {name}: {exc}") from None
                self.devices[name] = DeviceActor(
                    name,
                    profile,
                    r.number(spec["skew"][1], f"device {name}: skew") if "skew" in spec else 0.0,
                    r.number(spec["drift_ppm"][1], f"device {name}: drift_ppm")
                    if "drift_ppm" in spec
                    else 0.0,
                )
        if "clients" in keys:
            for name, (key_node, value) in r.names(keys["clients"][1], "clients").items():
                if name == "web":
                    raise r.error(key_node, "clients: 'web' is built in; name yours otherwise")
                spec = r.mapping(value, f"client {name}", {"kind", "version"}, {"kind", "version"})
                kind = r.choice(spec["kind"][1], f"client {name}: kind", CLIENT_KINDS)
                version = r.string(spec["version"][1], f"client {name}: version")
                if not _VERSION.match(version):
                    raise r.error(
                        spec["version"][1],
                        f"client {name}: version is MAJOR.MINOR.BUILD, not {version!r}",
                    )
                self.clients[name] = ClientActor(name, kind, version)

    def timeline(self, node: yaml.Node) -> tuple[ScenarioStep, ...]:
        r = self.r
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise r.error(node, "timeline must be a non-empty list of steps")
        steps: list[ScenarioStep] = []
        now, now_text = 0, "+0s"
        lost: dict[str, int] = {}
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                raise r.error(item, "a step must be a mapping with 'do'")
            do_node = next((v for k, v in item.value if getattr(k, "value", None) == "do"), None)
            if do_node is None:
                raise r.error(item, "a step needs 'do' (one of: " + ", ".join(STEP_KINDS) + ")")
            do = r.string(do_node, "do")
            if do not in STEP_KINDS:
                raise r.error(do_node, f"unknown step {do!r} (known: {', '.join(STEP_KINDS)})")
            required, optional, answers = STEP_KINDS[do]
            keys = r.mapping(
                item,
                f"step {do}",
                required | {"do"},
                set(required | optional | {"do", "at", "expect"}),
            )
            if "at" in keys:
                at_node = keys["at"][1]
                at_text = r.string(at_node, "at")
                at = parse_time(at_text)
                if at is None:
                    raise r.error(
                        at_node, f"at: {at_text!r} is not a time like +90s, +15m, +2h, +1d, +1h30m"
                    )
                if at < now:
                    raise r.error(
                        at_node,
                        f"at: {at_text} is before the previous step's {now_text} "
                        "(time never goes back)",
                    )
                now, now_text = at, at_text
            expect: Expectation | None = ACCEPTED if answers else None
            if "expect" in keys:
                if not answers:
                    raise r.error(
                        keys["expect"][0], f"step {do} gets no answer: it takes no 'expect'"
                    )
                expect = self.expectation(keys["expect"][1])
            args = {
                k: self.argument(do, k, v, lost)
                for k, (_, v) in keys.items()
                if k not in ("do", "at", "expect")
            }
            if do == "lose_device":
                lost[args["device"]] = item.start_mark.line + 1
            if do == "restore_device":
                self.check_restore(keys, args)
                lost.pop(args["device"], None)
            if do in _ADMIN_STEPS and self.agents[args["agent"]].role != "admin":
                raise r.error(keys["agent"][1], f"step {do}: {args['agent']} is not an admin")
            steps.append(ScenarioStep(item.start_mark.line + 1, now, now_text, do, args, expect))
        return tuple(steps)

    def expectation(self, node: yaml.Node) -> Expectation:
        r = self.r
        if isinstance(node, yaml.MappingNode):
            keys = r.mapping(node, "expect", {"refused"}, {"refused"})
            return Expectation("refused", r.string(keys["refused"][1], "expect: refused"))
        text = r.string(node, "expect")
        if text in ("accepted", "locked"):
            return Expectation(text)
        if text.startswith("refused:") and re.match(r"^[a-z_]+$", text[8:].strip()):
            return Expectation("refused", text[8:].strip())
        raise r.error(node, f"expect must be accepted, locked or refused: CODE, not {text!r}")

    def argument(self, do: str, key: str, node: yaml.Node, lost: dict[str, int]) -> Any:
        r = self.r
        what = f"step {do}: {key}"
        if key in ("agent", "new", "who"):
            name = r.string(node, what)
            if name not in self.agents:
                raise r.error(node, f"{what}: no agent {name!r} among the actors")
            if key == "new" and self.agents[name].seeded:
                raise r.error(
                    node, f"{what}: {name} is already in the seed (declare it seeded: false)"
                )
            return name
        if key in ("device", "from"):
            name = r.string(node, what)
            if name not in self.devices:
                raise r.error(node, f"{what}: no device {name!r} among the actors")
            if name in lost and do != "restore_device":  # the cloud copy outlives the phone
                raise r.error(node, f"{what}: {name} was lost at line {lost[name]}")
            return name
        if key == "client":
            name = r.string(node, what)
            if name not in self.clients:
                raise r.error(
                    node, f"{what}: no client {name!r} (known: {', '.join(self.clients)})"
                )
            return name
        if key == "by":
            return r.choice(node, what, ("qr", "key"))
        if key == "code":
            return r.choice(node, what, ("current", "last", "wrong"))
        if key == "required":
            return r.boolean(node, what)
        if key == "build":
            return r.integer(node, what)
        if key == "steps":
            steps = r.integer(node, what)
            if not -MAX_CODE_STEPS <= steps <= MAX_CODE_STEPS:
                raise r.error(
                    node, f"{what}: at most {MAX_CODE_STEPS} periods either way, not {steps}"
                )
            return steps
        if key == "group":
            name = r.string(node, what)
            if name not in {g["name"] for g in self.groups}:
                raise r.error(node, f"{what}: no device group {name!r}")
            return name
        if key == "next":
            return r.choice(node, what, NEXT_STAGES)
        if key == "seat":
            seat = r.string(node, what)
            if not re.fullmatch(r"[a-z][a-z0-9_]*", seat):
                raise r.error(node, f"{what}: a seat is a lower-case name like remote_support")
            return seat
        return r.string(node, what)  # password, version

    def check_restore(
        self, keys: dict[str, tuple[yaml.Node, yaml.Node]], args: dict[str, Any]
    ) -> None:
        r = self.r
        target, source = self.devices[args["device"]], self.devices[args["from"]]
        if target.name == source.name:
            raise r.error(keys["from"][1], "restore_device: a device cannot restore from itself")
        profile = get_profile(source.profile)
        if not profile.cloud_backup:
            raise r.error(keys["from"][1], f"restore_device: {profile.title} has no cloud backup")
        if target.profile != source.profile:
            raise r.error(
                keys["device"][1],
                f"restore_device: {target.name} runs {target.profile}, "
                f"the backup is from {source.profile}",
            )


def scenario_from_trace(
    path: Path | str, name: str, setup: tuple[int, Any], steps: list[tuple[int, dict[str, Any]]]
) -> Scenario:
    """Rebuild a scenario from a trace's records (``twofa replay --trace``), checked as a file.

    ``setup`` is (trace line, the first step's ``setup`` object); ``steps`` are
    (trace line, step record). The records are written back as a scenario document,
    one timeline step per line, and loaded with every check of a scenario file; an
    error names the trace's line.
    """
    path = Path(path)
    setup_line, spec = setup
    if not isinstance(spec, dict):
        raise ScenarioError(path, setup_line, "setup must be an object")
    lines = [f"{key}: {json.dumps(value)}" for key, value in spec.items()]
    origin = [setup_line] * len(lines)
    lines.append("timeline:")
    origin.append(steps[0][0] if steps else setup_line)
    for line, record in steps:
        item: dict[str, Any] = {"at": record.get("at_text"), "do": record.get("do")}
        args = record.get("args")
        if not isinstance(args, dict):
            raise ScenarioError(path, line, "args must be an object")
        item.update(args)
        if record.get("expect") is not None:
            item["expect"] = record["expect"]
        lines.append(f"  - {json.dumps(item)}")
        origin.append(line)
    try:
        root = yaml.compose("\n".join(lines) + "\n", Loader=yaml.SafeLoader)
        if root is None:
            raise ScenarioError(path, setup_line, "the setup is empty")
        scenario = _Builder(_Reader(path)).scenario(root)
    except ScenarioError as exc:
        line = origin[min(max(exc.line, 1), len(origin)) - 1]
        raise ScenarioError(path, line, exc.message) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, setup_line, f"the setup is not a scenario: {exc}") from None
    rebuilt = []
    for (line, record), step in zip(steps, scenario.steps, strict=True):
        if record.get("at") != step.at:
            raise ScenarioError(path, line, f"at {record.get('at')!r} is not {step.at_text}")
        # The step keeps the line of the scenario file it came from, as in the recording.
        origin_line = record.get("line")
        rebuilt.append(replace(step, line=origin_line if isinstance(origin_line, int) else line))
    return replace(scenario, name=name, steps=tuple(rebuilt))
