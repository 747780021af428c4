"""A target's measured policy beside its declared one: one row per aspect, differences marked.

The comparison is literal: a row ``differs`` when the measured value is not
the one the declaration implies (``replay: monotonic_step`` implies the same
code twice is refused, and so is an older step after a newer one). Whether a
difference fails the run is for the checks to say; this only shows it, so
the reports can put what a server does beside what its configuration says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from reports.log import Measurement
from reports.text import duration_text

#: Row statuses: compared and equal, compared and different, or nothing to compare.
STATUSES: Final = ("same", "differs", "not_measured", "not_declared")
#: What each declared replay rule implies for (the same code twice, an older step after a newer).
REPLAY_RULES: Final = {
    "monotonic_step": ("refused", "refused"),
    "same_code": ("refused", "accepted"),
    "none": ("accepted", "accepted"),
}
#: A bisection measures a lock to the second: a declared 300 s lock measured as 301 s is the same.
LOCK_SECONDS_TOLERANCE: Final = 1
#: Said in every report of a target whose clock the harness could not move.
REAL_TIME_NOTE: Final = "ran in real time: checks that move the clock are not applicable"


@dataclass(frozen=True)
class PolicyRow:
    """One aspect of the policy: declared and measured value in words, and how they compare."""

    aspect: str
    declared: str
    measured: str
    #: One of ``STATUSES``.
    status: str
    #: The key of ``Measurement.sources`` the declaration of this aspect comes from, if any.
    source: str | None


#: A missing value (absent from the record), told apart from a logged null.
_ABSENT: Final = object()


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _ABSENT
        obj = obj[key]
    return obj


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _status(declared_known: bool, measured_known: bool, same: bool) -> str:
    if not measured_known:
        return "not_measured"
    if not declared_known:
        return "not_declared"
    return "same" if same else "differs"


def source_key(sources: dict[str, str], *keys: str) -> str | None:
    """The most specific source of an aspect: ``throttle.lock_seconds``, ``throttle``, ``*``."""
    for key in (*keys, "*"):
        if key in sources:
            return key
    return None


def _window(declared: Any, measured: Any, sources: dict[str, str]) -> list[PolicyRow]:
    rows = []
    contiguous = _get(measured, "window", "contiguous")
    for side in ("back", "forward"):
        d = _int(_get(declared, "window", side))
        m = _int(_get(measured, "window", side))
        text = "not measured" if m is None else _steps(m)
        if m is not None and contiguous is False:
            text += " (with holes: not every offset inside was accepted)"
        rows.append(
            PolicyRow(
                f"window {side}",
                "not declared" if d is None else _steps(d),
                text,
                _status(d is not None, m is not None, d == m),
                source_key(sources, f"window.{side}", "window"),
            )
        )
    return rows


def _replay(declared: Any, measured: Any, sources: dict[str, str]) -> list[PolicyRow]:
    rule = _get(declared, "replay")
    implied = REPLAY_RULES.get(rule) if isinstance(rule, str) else None
    source = source_key(sources, "replay")
    rows = []
    for i, (aspect, key) in enumerate(
        (
            ("replay: the same code twice", "same_code"),
            ("replay: an older step's code after a newer one", "older_step_after_newer"),
        )
    ):
        value = _get(measured, "replay", key)
        known = value in ("refused", "accepted")
        if value is _ABSENT:
            text = "not measured"
        elif value is None:
            text = (
                "not tried (the window accepts no other step)"
                if key == "older_step_after_newer"
                else "inconclusive"
            )
        else:
            text = str(value)
        if implied is not None:
            said = f"{implied[i]} ({rule})"
        elif rule is _ABSENT or rule is None:
            said = "not declared"
        else:
            said = f"{rule} (not a known replay rule)"
        rows.append(
            PolicyRow(
                aspect,
                said,
                text,
                _status(implied is not None, known, implied is not None and value == implied[i]),
                source,
            )
        )
    # One count per round of the race (an int in logs from before rounds).
    raw = _get(measured, "replay", "parallel_accepted")
    rounds = [_int(n) for n in raw] if isinstance(raw, list) else [_int(raw)]
    counts = [n for n in rounds if n is not None]
    submissions = _int(_get(measured, "replay", "parallel_submissions"))
    expected: int | None = None
    said = "not declared"
    if implied is not None and submissions is not None:
        # A replay guard lets one of the parallel copies in; no guard lets them all in.
        expected = 1 if implied[0] == "refused" else submissions
        said = f"{expected} of {submissions} ({rule})"
    elif implied is not None:
        said = f"{'1' if implied[0] == 'refused' else 'all'} ({rule})"
    rows.append(
        PolicyRow(
            "replay: one code sent in parallel, accepted",
            said,
            "not measured"
            if not counts
            else f"{', '.join(map(str, counts))} of {submissions}"
            + (f" ({len(counts)} rounds)" if len(counts) > 1 else ""),
            _status(expected is not None, bool(counts), all(n == expected for n in counts)),
            source,
        )
    )
    return rows


def _lock_text(value: Any) -> str:
    if value == "permanent":
        return "permanent (until an admin acts)"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g} s" + (f" ({duration_text(value)})" if value >= 60 else "")
    return "no lock" if value is None else str(value)


def _same_lock(declared: Any, measured: Any) -> bool:
    numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (declared, measured)
    )
    if numbers:
        return bool(abs(declared - measured) <= LOCK_SECONDS_TOLERANCE)
    return bool(declared == measured)


def _throttle(declared: Any, measured: Any, sources: dict[str, str]) -> list[PolicyRow]:
    throttle = _get(declared, "throttle")
    declared_known = isinstance(throttle, dict)
    kind = _get(throttle, "kind")
    kind_text = f" ({kind})" if isinstance(kind, str) else ""
    max_failures = _get(throttle, "max_failures")
    if not declared_known:
        said = "not declared"
    elif _int(max_failures) is not None:
        said = f"after {max_failures} wrong code(s){kind_text}"
    else:
        said = f"no lock{kind_text}"
    measured_throttle = _get(measured, "throttle")
    measured_known = isinstance(measured_throttle, dict)
    locks_after = _get(measured_throttle, "locks_after")
    budget = _get(measured_throttle, "budget")
    if not measured_known:
        text = "not measured"
    elif _int(locks_after) is not None:
        text = f"after {locks_after} wrong code(s)"
    else:
        text = f"no lock within {budget} wrong codes" if _int(budget) else "no lock"
    declared_limit = _int(max_failures) if declared_known else None
    measured_limit = _int(locks_after)
    rows = [
        PolicyRow(
            "throttle: locks after",
            said,
            text,
            _status(declared_known, measured_known, declared_limit == measured_limit),
            source_key(sources, "throttle.max_failures", "throttle"),
        )
    ]
    declared_lock = _get(throttle, "lock_seconds")
    if declared_lock is _ABSENT:
        declared_lock = None
    lock = _get(measured_throttle, "lock_seconds")
    if not measured_known:
        lock_known, lock_text = False, "not measured"
    elif measured_limit is None:
        lock, lock_known, lock_text = None, True, "no lock"
    elif lock is None or lock is _ABSENT:
        lock_known, lock_text = False, "not measured"
    else:
        lock_known, lock_text = True, _lock_text(lock)
    rows.append(
        PolicyRow(
            "throttle: lock lasts",
            _lock_text(declared_lock) if declared_known else "not declared",
            lock_text,
            _status(declared_known, lock_known, _same_lock(declared_lock, lock)),
            source_key(sources, "throttle.lock_seconds", "throttle"),
        )
    )
    return rows


def _drift(declared: Any, measured: Any, sources: dict[str, str]) -> list[PolicyRow]:
    tracking = _get(declared, "drift", "tracking")
    max_steps = _int(_get(declared, "drift", "max_steps"))
    declared_known = isinstance(tracking, bool)
    drift = _get(measured, "drift")
    direction = _get(drift, "direction")
    walked = isinstance(drift, dict) and direction in ("ahead", "behind")
    if not isinstance(drift, dict):
        not_walked = "not measured"
    else:
        not_walked = "not tried (the window accepts no other step)"
    measured_tracking = _get(drift, "tracking")
    rows = [
        PolicyRow(
            "drift: follows a drifting device",
            ("yes" if tracking else "no") if declared_known else "not declared",
            ("yes" if measured_tracking else "no") if walked else not_walked,
            _status(declared_known, walked, tracking == bool(measured_tracking)),
            source_key(sources, "drift.tracking", "drift"),
        )
    ]
    # The furthest shift accepted: the window's edge that way, plus max_steps when tracking.
    edge = _int(_get(measured, "window", "forward" if direction == "ahead" else "back"))
    limit: int | None = None
    if not declared_known:
        said = "not declared"
    elif edge is None:
        said = "the window" if not tracking else f"max_steps {max_steps} + the window"
    elif not tracking:
        limit, said = edge, f"{_steps(edge)} (the window, no tracking)"
    elif max_steps is not None:
        limit = max_steps + edge
        said = f"{_steps(limit)} (max_steps {max_steps} + window {edge})"
    else:
        said = "no limit declared"
    bounded = _get(drift, "bounded_steps")
    if not walked:
        text = not_walked
    elif _int(bounded) is not None:
        text = f"{_steps(bounded)} {direction}"
    else:
        text = f"not stopped within {_get(drift, 'budget_steps')} steps {direction}"
    rows.append(
        PolicyRow(
            "drift: furthest shift accepted",
            said,
            text,
            _status(limit is not None, walked, _int(bounded) == limit),
            source_key(sources, "drift.max_steps", "drift"),
        )
    )
    return rows


def _supported(declared: Any, measured: Any, sources: dict[str, str]) -> list[PolicyRow]:
    rows = []
    for dimension, aspect in (
        ("algorithm", "supported algorithms"),
        ("digits", "supported digits"),
        ("period", "supported periods"),
    ):
        value = _get(declared, "totp", dimension)
        values = _get(measured, "supported", dimension)
        measured_known = isinstance(values, list)
        shown = [str(v) for v in values] if isinstance(values, list) else []
        declared_known = value is not _ABSENT and value is not None
        rows.append(
            PolicyRow(
                aspect,
                str(value) if declared_known else "not declared",
                (", ".join(shown) or "none") if measured_known else "not measured",
                # The declared parameters must be among those that work; more may work too.
                _status(
                    declared_known,
                    measured_known,
                    str(value).upper() in (x.upper() for x in shown),
                ),
                source_key(sources, f"totp.{dimension}", "totp"),
            )
        )
    return rows


def compare(measurement: Measurement) -> list[PolicyRow]:
    """The rows of a target's measured-versus-declared table, in report order."""
    declared, measured, sources = measurement.declared, measurement.measured, measurement.sources
    return [
        *_window(declared, measured, sources),
        *_replay(declared, measured, sources),
        *_throttle(declared, measured, sources),
        *_drift(declared, measured, sources),
        *_supported(declared, measured, sources),
    ]
