"""The target seam: what a server under test can do, as capabilities.

Checks talk to capabilities, not to one HTTP contract:

- ``verifier``: make a fresh TOTP credential, submit one code for it and read
  the answer, drop it (``Driver.provision`` / ``submit`` / ``drop``);
- ``clock``: set the server's time (``Driver.clock``), absent for a server the
  harness did not start;
- ``declared_policy``: what the server's configuration says, in the shape of
  ``/__harness__/policy`` (``Driver.declared_policy``), derived from the
  server's own documentation;
- ``flow``: the seed's product flow through the v1 contract (``Driver.flow``).

A driver for a team's own server subclasses ``Driver`` and fills in the three
verifier methods (``docs/targets.md``, ``examples/totp_service_driver.py``).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

from simulators.hotp import CodeGenerator

if TYPE_CHECKING:
    from conformance.target import Target


class Capability(StrEnum):
    """What a target can do; each check names the ones it needs."""

    VERIFIER = "verifier"
    CLOCK = "clock"
    DECLARED_POLICY = "declared_policy"
    FLOW = "flow"


#: Why a check cannot run without a capability: the reason a not-applicable outcome gives.
MISSING_REASONS: Final[dict[Capability, str]] = {
    Capability.VERIFIER: "the target offers no verifier the harness can provision and submit to",
    Capability.CLOCK: "the target's clock cannot be moved (the harness did not start it)",
    Capability.DECLARED_POLICY: "the target declares no policy",
    Capability.FLOW: "the target does not implement the v1 contract's product flow "
    "(sign-in, email code, enrollment, seats, sessions)",
}


class DriverError(RuntimeError):
    """The driver or its peer failed (cannot start, answered nonsense): a harness error."""


class NotInstalled(DriverError):
    """The peer a driver needs is not installed here; the message names the remedy."""


class OptionError(ValueError):
    """A ``--target-option`` the driver does not know, or a value it cannot use."""


class Unsupported(Exception):
    """The target cannot provision a credential with these parameters (not a failure)."""


@dataclass(frozen=True)
class TotpParameters:
    """The parameters of a TOTP credential (RFC 6238; the otpauth URI's names)."""

    algorithm: str = "SHA1"
    digits: int = 6
    period: int = 30

    def describe(self) -> str:
        return f"{self.algorithm}, {self.digits} digits, {self.period} s"


#: The parameters nearly every server and app uses: the checks' default credential.
DEFAULT_PARAMETERS: Final = TotpParameters()


@dataclass
class Credential:
    """A TOTP credential the target verifies, and what the harness knows of it.

    ``key`` is the shared secret, read from what the server handed out (its
    otpauth URI or key) or, where the server has no provisioning of its own,
    written by the harness. It never reaches a report.
    """

    #: The driver's name for it (a token serial, a user, a device id).
    label: str
    key: bytes = field(repr=False)
    parameters: TotpParameters
    #: Server time when it was made.
    created_at: float
    #: ``server`` when the server generated the secret, ``harness`` when the driver wrote it.
    provisioned_by: Literal["server", "harness"] = "server"
    #: The otpauth URI the server handed out, if it hands one out.
    uri: str | None = field(default=None, repr=False)
    #: Other fields the server handed out beside the URI (issuer, account, ...), no secrets.
    fields: dict[str, Any] = field(default_factory=dict)
    #: The last time step the provisioning itself used up (a setup code), if any.
    used_step: int | None = None
    #: The driver's own state for this credential.
    handle: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        p = self.parameters
        self._generator = CodeGenerator(
            self.key, digits=p.digits, algorithm=p.algorithm, period=p.period
        )

    def step_at(self, unix_time: float) -> int:
        return self._generator.step_at(unix_time)

    def code_at(self, unix_time: float, offset: int = 0) -> str:
        """The code of the step ``offset`` steps away from the one at ``unix_time``."""
        return self._generator.code_for_counter(self.step_at(unix_time) + offset)

    def code_for_step(self, step: int) -> str:
        return self._generator.code_for_counter(step)


class Verdict(StrEnum):
    """What the target answered to one code, as far as it tells refusals apart."""

    ACCEPTED = "accepted"
    INVALID = "invalid"
    REUSED = "reused"
    LOCKED = "locked"
    MALFORMED = "malformed"
    #: Refused, and the target does not say why (a PAM module's exit status).
    REFUSED = "refused"
    #: The target failed to answer properly (a 5xx, a crash): never a verdict on the code.
    ERROR = "error"


@dataclass(frozen=True)
class Answer:
    """The target's answer to one submitted code."""

    verdict: Verdict
    #: What the target said, in its own words ("401 otp_reused", "wrong otp value", "exit 7").
    said: str
    #: Evidence of the exchange (request and answer, credentials redacted).
    evidence: dict[str, Any] = field(default_factory=dict)
    #: Seconds the target asks the client to wait, when it says so.
    retry_after: float | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.ACCEPTED

    @property
    def refused(self) -> bool:
        return self.verdict not in (Verdict.ACCEPTED, Verdict.ERROR)

    def describe(self) -> str:
        return f"{self.verdict.value} ({self.said})" if self.said else self.verdict.value


#: Ways a code can be presented beside the plain digit string, for the code-format check.
CodeForm = Literal["json_number", "non_ascii_digits", "whitespace"]


class ServerClock(ABC):
    """The target's clock, as the harness moves it.

    ``now()`` is what the harness believes the server's clock reads. A clock
    that keeps running after ``set`` (libfaketime) reads later than the last
    ``set`` by the real time since; a harness-endpoint clock stands still.
    """

    #: The latest Unix time the clock can be set to (CPython under libfaketime: 2262).
    max_time: float = float("inf")
    #: Whether the clock keeps running in real time between ``set`` calls.
    runs: bool = False

    @abstractmethod
    def set(self, unix_time: float) -> None: ...

    @abstractmethod
    def now(self) -> float: ...

    def advance(self, seconds: float) -> None:
        self.set(self.now() + seconds)


class ManualServerClock(ServerClock):
    """A clock the driver itself applies to each call (``faketime @T`` per command)."""

    runs = True

    def __init__(self, start: float, *, max_time: float = float("inf")) -> None:
        self.max_time = max_time
        self._base = start
        self._set_at = time.monotonic()

    def set(self, unix_time: float) -> None:
        if unix_time > self.max_time:
            raise DriverError(f"this target's clock cannot reach {unix_time:.0f}")
        self._base, self._set_at = unix_time, time.monotonic()

    def now(self) -> float:
        return self._base + (time.monotonic() - self._set_at)


class RealTimeClock:
    """The real time, for a target whose clock the harness cannot move."""

    def now(self) -> float:
        return time.time()


@dataclass(frozen=True)
class Option:
    """A ``--target-option``, named as the peer names the setting."""

    name: str
    help: str
    #: Parses and checks the value given on the command line; raises ``ValueError``.
    parse: Callable[[str], Any] = str
    #: The peer's own default, shown by ``twofa targets`` (None: the peer's default is "unset").
    default: Any = None


def integer(low: int, high: int) -> Callable[[str], int]:
    """A parser for a whole number within ``low..high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def boolean(text: str) -> bool:
    """A parser for yes/no values (true/false, 1/0, yes/no, on/off)."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not true or false")


class Driver(ABC):
    """A target: a server under test, reached through its own interfaces.

    Subclasses set ``name``, ``title`` and ``options``, start their server in
    ``__init__`` (as its own process, in ``workdir``, on loopback) and implement
    the verifier. They may set ``clock`` (a ``ServerClock``) and override
    ``declared_policy`` and ``flow``. The capabilities follow from what is set.
    """

    #: The name ``--target`` uses and the report keys the target by.
    name: str = ""
    title: ClassVar[str] = ""
    #: The capabilities this kind of target has when the harness starts it (``twofa targets``).
    provides: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.VERIFIER, Capability.CLOCK, Capability.DECLARED_POLICY}
    )
    #: Whether ``NAME+URL`` reaches a server the harness did not start (real-time mode).
    reaches_urls: ClassVar[bool] = False
    #: The peer's settings, by the peer's own names.
    options: ClassVar[Sequence[Option]] = ()
    #: The code forms the transport can carry beside the plain digits (see ``CodeForm``).
    code_forms: ClassVar[frozenset[str]] = frozenset({"non_ascii_digits", "whitespace"})
    #: Wrong codes the throttle measurement may spend per probe (NIST SP 800-63B §5.2.2: 100).
    throttle_budget: ClassVar[int] = 100
    #: The TOTP parameters the harness can set this kind of target to (``twofa run
    #: --variants``); () when it runs at its own parameters only.
    variants: ClassVar[tuple[TotpParameters, ...]] = ()
    #: Whether ``provision`` honours any of the ``variants`` on one server (each credential
    #: has parameters of its own, as a privacyIDEA token), so no restart is needed per set.
    provisions_every_variant: ClassVar[bool] = False

    clock: ServerClock | None = None

    def __init__(
        self, options: Mapping[str, Any], workdir: Path, *, url: str | None = None
    ) -> None:
        self.settings = dict(options)
        self.workdir = workdir
        #: The server's base URL in real-time mode (``NAME+URL``); None when the driver starts it.
        self.url = url

    # -- installation ------------------------------------------------------------

    @classmethod
    def missing(cls) -> str | None:
        """What is missing to run this driver here (one line naming the remedy), or None."""
        return None

    @classmethod
    def parse_options(cls, given: Mapping[str, str]) -> dict[str, Any]:
        """The driver's settings from ``--target-option NAME=VALUE`` pairs; ``OptionError``."""
        known = {option.name: option for option in cls.options}
        settings: dict[str, Any] = {}
        for name, text in given.items():
            option = known.get(name)
            if option is None:
                names = ", ".join(known) or "none"
                raise OptionError(f"target {cls.name!r} has no option {name!r} (options: {names})")
            try:
                settings[name] = option.parse(text)
            except ValueError as exc:
                raise OptionError(f"target {cls.name!r} option {name}: {exc}") from None
        return settings

    @classmethod
    def variant_options(
        cls, variant: TotpParameters, given: Mapping[str, str], workdir: Path
    ) -> dict[str, str]:
        """``given``'s options with what sets the target to ``variant`` (one of ``variants``);
        files it needs go in ``workdir``."""
        raise OptionError(f"target {cls.name!r} cannot be set to other TOTP parameters")

    # -- the verifier ------------------------------------------------------------

    @abstractmethod
    def provision(self, parameters: TotpParameters) -> Credential:
        """A fresh credential with these parameters; ``Unsupported`` when it cannot."""

    @abstractmethod
    def submit(self, credential: Credential, code: str | int) -> Answer:
        """Submit one code for ``credential`` (an ``int`` only in ``code_forms``)."""

    def drop(self, credential: Credential) -> None:  # noqa: B027 - optional for a driver
        """Remove the credential from the server (nothing, when the next one replaces it)."""

    def submit_together(self, credential: Credential, codes: Sequence[str]) -> list[Answer]:
        """Submit the codes at once, from parallel clients (the replay race).

        The default starts one thread per code and releases them together;
        a driver whose submissions need a session each may prepare those first.
        """
        barrier = threading.Barrier(len(codes))

        def one(code: str) -> Answer:
            barrier.wait()
            return self.submit(credential, code)

        with ThreadPoolExecutor(max_workers=len(codes)) as pool:
            return list(pool.map(one, codes))

    # -- the other capabilities ----------------------------------------------------

    def declared_policy(self) -> dict[str, Any] | None:
        """The policy the server's configuration declares, or None when it declares none."""
        return None

    def policy_sources(self) -> dict[str, str]:
        """For each declared key, the documentation it was derived from (URL and words)."""
        return {}

    @property
    def flow(self) -> Target | None:
        """The v1-contract target (the seed's product flow), for servers that implement it."""
        return None

    @property
    def capabilities(self) -> frozenset[Capability]:
        found = {Capability.VERIFIER}
        if self.clock is not None:
            found.add(Capability.CLOCK)
        if self.declared_policy() is not None:
            found.add(Capability.DECLARED_POLICY)
        if self.flow is not None:
            found.add(Capability.FLOW)
        return frozenset(found)

    def now(self) -> float:
        """The server's time as the harness knows it: its clock, else the real time."""
        return self.clock.now() if self.clock is not None else time.time()

    def describe(self) -> dict[str, Any]:
        """The target as the result log's run record lists it."""
        return {
            "name": self.name,
            "title": self.title,
            "kind": "peer",
            "capabilities": sorted(c.value for c in self.capabilities),
            "options": {k: v for k, v in self.settings.items()},
            "clock": "moved by the harness" if self.clock is not None else "real time",
        }

    def close(self) -> None:  # noqa: B027 - a driver without a process has nothing to close
        """Stop what the driver started and remove what it wrote outside ``workdir``."""

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
