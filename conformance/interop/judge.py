"""One interop cell's verdict, and which side is at fault by the standards.

A cell is one server handing one parameter set to one app. Three things are
compared for each probe: the app's code, the code the URI's *stated* parameters
define (the Key Uri Format: an omitted ``algorithm``, ``digits`` or ``period``
means SHA1, 6, 30), and the code of the parameters the server really verifies
(what the driver was asked to provision). So:

- the app's code differs from the URI's: the app did not follow the URI (the app);
- it equals the URI's, but the URI's parameters are not the server's: the URI
  misstates them (the server: URI-05, URI-06, URI-07);
- it equals both and the server refused it: at the server's own time, the server
  refuses its own code (WIN-01); a device behind or ahead by the window the
  server declares, the declared window does not hold (the server).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

from conformance.drivers.seam import Answer, TotpParameters
from conformance.vendor.verdicts import TIME_MODE_TEXT, TIME_MODES, kept_step
from simulators.hotp import CodeGenerator, OtpError
from simulators.otpauth import OtpauthError, lint_uri, parse_uri

#: A cell's verdict: what a user of that app on that server meets.
CellVerdict = Literal["works", "silently_wrong", "refused", "failed", "not_applicable"]
#: The verdicts, most dangerous first (the report's order).
VERDICT_ORDER: Final[tuple[CellVerdict, ...]] = (
    "silently_wrong",
    "failed",
    "refused",
    "works",
    "not_applicable",
)
VERDICT_TEXT: Final[dict[CellVerdict, str]] = {
    "works": "works",
    "silently_wrong": "silently wrong",
    "refused": "refused by the app",
    "failed": "failed",
    "not_applicable": "not applicable",
}
#: Who is at fault for a cell that does not work.
Side = Literal["server", "app"]

PARAMETERS: Final = ("algorithm", "digits", "period")
#: What the Key Uri Format says an omitted parameter means.
DEFAULTS: Final[dict[str, object]] = {"algorithm": "SHA1", "digits": 6, "period": 30}
#: The requirement each parameter's URI rule is (shared/reference/standards-checklist.md).
URI_REQUIREMENT: Final = {"algorithm": "URI-05", "digits": "URI-06", "period": "URI-07"}
#: A Unix time past the largest unsigned 32-bit one (2106-02-07 06:28:15 UTC), where an app
#: whose clock wraps in 2038, keeps 32 bits or stops at 2^32 - 1 shows another code (ALG-08).
FAR_FUTURE: Final = 2**32 + 30 * 86400
#: The probe at ``FAR_FUTURE``: at each server's default parameters only (time handling is
#: the app's, whatever the parameters), on a timeline and credentials of its own.
FAR_PROBE: Final = "after 2106"
_DIAGNOSIS_PERIODS: Final = (15, 30, 60)
_DIAGNOSIS_ALGORITHMS: Final = ("SHA1", "SHA256", "SHA512")


def value_text(name: str, value: object) -> str:
    """``60 s``, ``8-digit``, ``HMAC-SHA256``: a parameter's value as a sentence says it."""
    if name == "period":
        return f"{value} s"
    if name == "digits":
        return f"{value}-digit"
    return f"HMAC-{value}"


@dataclass(frozen=True)
class Stated:
    """What an otpauth URI says: its parameters (defaults applied), which it omits, its key."""

    algorithm: str
    digits: int
    period: int
    omitted: frozenset[str]
    key: bytes = field(repr=False)

    @classmethod
    def of(cls, uri: str) -> Stated:
        """Read the URI; ``OtpauthError`` when it defines no TOTP code."""
        parsed = parse_uri(uri)
        if parsed.type != "totp":
            raise OtpauthError(f"a {parsed.type} URI, not totp")
        omitted = frozenset(n for n in PARAMETERS if parsed.parameter(n) is None)
        stated = cls(parsed.algorithm, parsed.digits, parsed.period, omitted, parsed.key())
        try:
            stated.generator()
        except OtpError as exc:
            raise OtpauthError(str(exc)) from exc
        return stated

    @property
    def parameters(self) -> TotpParameters:
        return TotpParameters(self.algorithm, self.digits, self.period)

    def generator(self) -> CodeGenerator:
        return CodeGenerator(
            self.key, digits=self.digits, algorithm=self.algorithm, period=self.period
        )


def uri_errors(uri: str) -> list[str]:
    """The Key Uri Format errors of the URI (``twofa lint-uri``), as ``ID: message``."""
    return [f"{f.requirement}: {f.message}" for f in lint_uri(uri) if f.severity == "error"]


@dataclass
class Probe:
    """One code: the app's device clock ``offset`` seconds from the server's, submitted."""

    name: str
    #: Device time minus server time (a device behind is negative).
    offset: int
    #: Steps of the server's period that offset is (the declared window's edge, or 0).
    steps: int
    server_time: float
    app_code: str
    by_uri: str
    by_server: str
    answer: Answer | None = None
    #: The secret of this probe's credential (each probe kind has its own credential).
    key: bytes = field(default=b"", repr=False)

    @property
    def matches_uri(self) -> bool:
        return self.app_code == self.by_uri

    @property
    def matches_server(self) -> bool:
        return self.app_code == self.by_server

    def describe(self) -> str:
        if self.name == FAR_PROBE:
            day = datetime.fromtimestamp(self.server_time, UTC).date()
            return f"at the server's time on {day} (after 2^32 - 1 s)"
        if self.offset == 0:
            return "at the server's time"
        return f"a device {abs(self.offset)} s {'ahead' if self.offset > 0 else 'behind'}"


@dataclass(frozen=True)
class Judgement:
    """A cell's verdict, the side at fault, a reason for this cell, a sentence for findings."""

    verdict: CellVerdict
    reason: str
    side: Side | None = None
    #: The findings this cell shows (one fault each), in words that hold for every cell.
    findings: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()

    @property
    def finding(self) -> str:
        return "; ".join(self.findings)


def diagnose(key: bytes, code: str, device_time: float, stated: Stated) -> dict[str, object] | None:
    """The algorithm, digits, period and time handling (check-authenticator's: a 32-bit
    wrap, a clock stopped at 2^32 - 1) that give ``code`` at ``device_time``, closest to
    the URI's first; None when none the harness tries does."""
    if not (code.isascii() and code.isdigit()) or not 6 <= len(code) <= 8:
        return None
    algorithms = sorted(_DIAGNOSIS_ALGORITHMS, key=lambda a: a != stated.algorithm)
    periods = sorted({*_DIAGNOSIS_PERIODS, stated.period}, key=lambda p: p != stated.period)
    candidates = sorted(
        itertools.product(algorithms, periods, TIME_MODES),
        key=lambda c: (c[0] != stated.algorithm) + (c[1] != stated.period) + (c[2] != "exact"),
    )
    t = math.floor(device_time)
    for algorithm, period, mode in candidates:
        generator = CodeGenerator(key, digits=len(code), algorithm=algorithm, period=period)
        if generator.code_for_counter(kept_step(t, period, mode)) == code:
            return {
                "algorithm": algorithm,
                "digits": len(code),
                "period": period,
                "time_mode": mode,
            }
    return None


def app_deviation(stated: Stated, used: dict[str, object] | None) -> list[str]:
    """What the app did instead of what the URI says, one fault each: ``ignores `digits=8` ...``."""
    if used is None:
        return [
            "shows codes that match no algorithm, digit count or period the harness tried "
            "with the URI's secret"
        ]
    parts = []
    mode = str(used.get("time_mode", "exact"))
    if mode != "exact":
        parts.append(f"computes its codes with {TIME_MODE_TEXT[mode]}")
    for name in PARAMETERS:
        asked, got = getattr(stated, name), used[name]
        if asked == got:
            continue
        if name in stated.omitted:
            parts.append(
                f"computes {value_text(name, got)} codes where the URI, omitting `{name}`, "
                f"means {value_text(name, asked)}"
            )
        else:
            parts.append(f"ignores `{name}={asked}` (its codes are {value_text(name, got)})")
    return parts or ["shows another code than the URI's secret gives"]


def uri_misstatement(stated: Stated, real: TotpParameters) -> tuple[list[str], tuple[str, ...]]:
    """How the URI misstates the server's parameters, and the URI requirements it breaks."""
    parts, requirements = [], []
    for name in PARAMETERS:
        says, verifies = getattr(stated, name), getattr(real, name)
        if says == verifies:
            continue
        requirements.append(URI_REQUIREMENT[name])
        if name in stated.omitted:
            parts.append(
                f"the server's URI omits `{name}` although it verifies "
                f"{value_text(name, verifies)} codes: every app that follows the Key Uri "
                f"Format computes {value_text(name, DEFAULTS[name])} codes"
            )
        else:
            parts.append(
                f"the server's URI says `{name}={says}` although it verifies "
                f"{value_text(name, verifies)} codes"
            )
    if not parts:
        return ["the server's URI carries another secret than the one it verifies"], ("URI-03",)
    return parts, tuple(requirements)


def judge_codes(
    probes: Sequence[Probe], stated: Stated, real: TotpParameters, window: dict[str, int]
) -> Judgement:
    """The verdict of a cell whose app showed codes, from the server's answers to them."""
    for probe in probes:
        answer = probe.answer
        assert answer is not None
        if answer.verdict.value == "error":
            return Judgement(
                "failed",
                f"the server failed to answer the app's code {probe.describe()}: {answer.said}",
                "server",
                ("the server fails to answer a code (an error, not a verdict)",),
            )
        if answer.accepted:
            continue
        said = f"refused ({answer.describe()})"
        if not probe.matches_uri:
            used = diagnose(
                probe.key or stated.key, probe.app_code, probe.server_time + probe.offset, stated
            )
            deviation = app_deviation(stated, used)
            broken = ["ALG-05"]
            if used and used["digits"] != stated.digits:
                broken.insert(0, "ALG-03")
            if used and used.get("time_mode", "exact") != "exact":
                broken.append("ALG-08")
            return Judgement(
                "silently_wrong",
                f"the app {'; '.join(deviation)}; the server {said} its code {probe.describe()}",
                "app",
                tuple(f"the app {part}" for part in deviation),
                tuple(broken),
            )
        if not probe.matches_server:
            parts, requirements = uri_misstatement(stated, real)
            return Judgement(
                "silently_wrong",
                f"{'; '.join(parts)}; the app followed the URI and the server {said} its code",
                "server",
                tuple(parts),
                requirements,
            )
        if probe.name == FAR_PROBE:
            text = "the server refuses the right code at its own time after 2106 (2^32 - 1 s)"
            return Judgement("silently_wrong", f"{text}: {said}", "server", (text,), ("ALG-08",))
        if probe.offset == 0:
            text = "the server refuses the right code at its own time"
            return Judgement("silently_wrong", f"{text}: {said}", "server", (text,), ("WIN-01",))
        way = "ahead" if probe.offset > 0 else "behind"
        edge = "forward" if probe.offset > 0 else "back"
        text = (
            f"the server declares a window of {window.get(edge, 0)} step(s) {edge} but refuses "
            f"the right code of a device {abs(probe.offset)} s {way}"
        )
        return Judgement(
            "silently_wrong", f"{text}: {said}", "server", (text,), ("WIN-02", "WIN-04")
        )
    tried = ", ".join(p.describe() for p in probes)
    if not all(p.matches_uri for p in probes):
        return Judgement(
            "works", f"accepted {tried}, though the app's codes differ from the URI's parameters"
        )
    return Judgement("works", f"accepted {tried}")


def judge_refusal(refusal: str, stated: Stated | None, uri: str, code: str = "") -> Judgement:
    """The verdict of a cell whose app refused the account (at import or for its codes);
    ``code`` is the app's error code (``unsupported_digits``), which findings group by."""
    errors = uri_errors(uri)
    if stated is None or errors:
        what = "; ".join(errors) or "the URI defines no TOTP code"
        text = f"the server's URI breaks the Key Uri Format ({what}), so apps refuse it"
        return Judgement("refused", f"{text}: {refusal}", "server", (text,), ("URI-01",))
    shown = ", ".join(
        f"{n}={getattr(stated, n)}" for n in PARAMETERS if getattr(stated, n) != DEFAULTS[n]
    )
    text = f"the app refuses a valid URI{f' with {shown}' if shown else ''}"
    finding = f"the app refuses valid URIs ({code})" if code else text
    return Judgement("refused", f"{text}: {refusal}", "app", (finding,), ("URI-01",))


__all__ = [
    "FAR_FUTURE",
    "FAR_PROBE",
    "VERDICT_ORDER",
    "VERDICT_TEXT",
    "CellVerdict",
    "Judgement",
    "Probe",
    "Side",
    "Stated",
    "diagnose",
    "judge_codes",
    "judge_refusal",
    "uri_errors",
]
