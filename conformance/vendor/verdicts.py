"""Verdicts: compatible, silently wrong, refused, failed; and what a wrong code was computed with.

A silently wrong case is the dangerous one: the app imported the account and
shows codes the server will never accept. The diagnosis tries the other
algorithms, digit counts and periods, a time or counter kept in 32 bits, and
a clock that stops at the largest unsigned 32-bit time, to say in plain words
what the app computed instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

from conformance.vendor.cases import ALGORITHMS, PERIODS, Case
from records import model
from simulators.hotp import CodeGenerator, OtpError

#: A matrix verdict (the result log's own words), or a case that did not apply.
Verdict = Literal[model.Verdict, "not_applicable"]
#: The verdicts a run can give, worst last (the order of the report's matrix).
VERDICTS: Final = get_args(model.Verdict)

#: How a time can be mangled by an implementation, for the diagnosis.
TimeMode = Literal["exact", "signed32", "time32", "counter32", "clamp32"]
#: The largest unsigned 32-bit Unix time: 2106-02-07 06:28:15 UTC.
UINT32_MAX_TIME: Final = 2**32 - 1
TIME_MODE_TEXT: Final = {
    "exact": "",
    "signed32": "the Unix time kept in a signed 32-bit integer (wraps in January 2038)",
    "time32": "the Unix time kept in 32 bits",
    "counter32": "the time step kept in 32 bits",
    "clamp32": "a clock that stops at 2^32 - 1 (2106-02-07 06:28:15 UTC)",
}


@dataclass(frozen=True)
class Diagnosis:
    """What a vendor's wrong codes were computed with, when the harness could tell."""

    algorithm: str | None = None
    digits: int | None = None
    period: int | None = None
    time_mode: TimeMode = "exact"

    @property
    def explained(self) -> bool:
        return self.algorithm is not None

    def differences(self, case: Case) -> list[tuple[str, str, str]]:
        """(dimension, asked, used) for each parameter the app did not honour."""
        if not self.explained:
            return []
        found = []
        for name, asked, used in (
            ("algorithm", case.algorithm, self.algorithm),
            ("digits", case.digits, self.digits),
            ("period", case.period, self.period),
        ):
            if asked != used:
                found.append((name, str(asked), str(used)))
        if self.time_mode != "exact":
            found.append(("time", "64-bit", self.time_mode))
        return found

    def describe(self, case: Case) -> str:
        if not self.explained:
            return (
                "the codes match no algorithm, digit count, period or 32-bit time the harness "
                "tried with this secret"
            )
        parts = []
        if not self.differences(case) and getattr(case, "otp_type", "totp") == "hotp":
            # Nothing differs but the kind: an HOTP URI's codes computed from the time.
            return "codes computed as TOTP from the time, not from the HOTP URI's counter"
        for name, asked, used in self.differences(case):
            if name == "algorithm":
                parts.append(f"{used} instead of {asked}")
            elif name == "digits":
                parts.append(f"{used} digits instead of {asked}")
            elif name == "period":
                parts.append(f"a {used} s period instead of {asked} s")
            else:
                parts.append(TIME_MODE_TEXT[used])
        return "codes computed with " + ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "algorithm": self.algorithm,
            "digits": self.digits,
            "period": self.period,
            "time_mode": self.time_mode,
        }


#: The time handlings a diagnosis tries, the right one first.
TIME_MODES: Final[tuple[TimeMode, ...]] = get_args(TimeMode)


def kept_step(t: int, period: int, mode: TimeMode) -> int:
    """The time step (the HOTP counter) an implementation with this time handling uses at
    Unix time ``t``: ``t // period`` for ``exact``."""
    if mode == "signed32":
        # C's or Java's int: wraps negative at 2^31, the division truncates toward zero,
        # and the negative step goes into the 8-byte counter in two's complement.
        wrapped = (t + 2**31) % 2**32 - 2**31
        step = abs(wrapped) // period * (1 if wrapped >= 0 else -1)
        return step % 2**64
    if mode == "time32":
        return (t & 0xFFFFFFFF) // period
    if mode == "counter32":
        return (t // period) & 0xFFFFFFFF
    if mode == "clamp32":
        # An unsigned 32-bit conversion that saturates (Qt's toTime_t gives
        # 0xFFFFFFFF past 2106): every later time is that second.
        return min(t, UINT32_MAX_TIME) // period
    return t // period


def _codes(
    case: Case, algorithm: str, digits: int, period: int, mode: TimeMode
) -> tuple[str, ...] | None:
    try:
        generator = CodeGenerator(case.secret, digits=digits, algorithm=algorithm, period=period)
    except OtpError:
        return None
    return tuple(generator.code_for_counter(kept_step(t, period, mode)) for t in case.times)


def diagnose(case: Case, received: Sequence[str]) -> Diagnosis:
    """The parameters that reproduce ``received`` for this case's secret, if any.

    Candidates closest to what was asked come first, so a single fallback is
    named rather than a coincidence of several.
    """
    lengths = {len(code) for code in received}
    if len(lengths) != 1:
        return Diagnosis()
    (digits,) = lengths
    algorithms = sorted(ALGORITHMS, key=lambda a: a != case.algorithm)
    periods = sorted({*PERIODS, case.period}, key=lambda p: p != case.period)
    wanted = tuple(received)
    candidates = sorted(
        itertools.product(algorithms, periods, TIME_MODES),
        key=lambda c: (c[0] != case.algorithm) + (c[1] != case.period) + (c[2] != "exact"),
    )
    for algorithm, period, mode in candidates:
        if _codes(case, algorithm, digits, period, mode) == wanted:
            return Diagnosis(algorithm, digits, period, mode)
    return Diagnosis()


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    diagnosis: Diagnosis | None = None
    #: Indexes of the times whose code differs from the reference.
    wrong_at: tuple[int, ...] = ()


def judge(case: Case, received: Sequence[str]) -> Judgement:
    """Compare a vendor's codes with the reference algorithm's."""
    unreadable = [c for c in received if not (c.isascii() and c.isdigit())]
    if unreadable:
        return Judgement("failed", f"unreadable code {unreadable[0][:40]!r}: codes are digits")
    if getattr(case, "defined_codes", ()) is None:
        # A URI matrix row that defines no code (no secret, two secrets, an unknown type...).
        rules = "; ".join(getattr(case, "reject_cells", ())) or "no dialect defines a code"
        return Judgement(
            "silently_wrong",
            f"imported a URI that must be refused ({rules}), showing {', '.join(received)}: "
            "no code is right for it, and the user is not told",
            None,
            tuple(range(len(received))),
        )
    wrong = tuple(
        i
        for i, (got, want) in enumerate(zip(received, case.expected_codes, strict=False))
        if got != want
    )
    if not wrong:
        return Judgement("compatible", "")
    diagnosis = diagnose(case, received)
    times = ", ".join(str(case.times[i]) for i in wrong)
    first = wrong[0]
    return Judgement(
        "silently_wrong",
        f"accepted, but {len(wrong)} of {len(received)} codes wrong (at {times}; "
        f"e.g. {received[first]} where {case.expected_codes[first]} was expected): "
        f"{diagnosis.describe(case)}",
        diagnosis,
        wrong,
    )
