"""Measured beside declared (reports.policy) and the window chart drawn from a measured record."""

from __future__ import annotations

import copy
from html import unescape
from typing import Any

import pytest

from reports.charts import ChartDataError, measured_window_html, window_from_measured
from reports.log import Measurement
from reports.policy import PolicyRow, compare
from tests.reports.records import (
    PEER_DECLARED,
    PEER_MEASURED,
    PEER_SOURCES,
    REAL_TIME_DECLARED,
    REAL_TIME_MEASURED,
    REFERENCE_DECLARED,
    REFERENCE_MEASURED,
)


def _rows(
    measured: dict[str, Any] | None,
    declared: dict[str, Any] | None,
    sources: dict[str, str] | None = None,
) -> dict[str, PolicyRow]:
    measurement = Measurement(
        target="t", real_time=False, declared=declared, sources=sources or {}, measured=measured
    )
    return {row.aspect: row for row in compare(measurement)}


def _statuses(rows: dict[str, PolicyRow]) -> dict[str, str]:
    return {aspect: row.status for aspect, row in rows.items()}


def test_the_reference_server_measures_as_it_declares() -> None:
    rows = _rows(REFERENCE_MEASURED, REFERENCE_DECLARED, {"*": "GET /__harness__/policy"})
    assert set(_statuses(rows).values()) == {"same"}
    assert len(rows) == 12
    assert rows["drift: furthest shift accepted"].declared == "3 steps (max_steps 2 + window 1)"
    assert rows["throttle: lock lasts"].measured == "300 s (5 min 0 s)"
    assert {row.source for row in rows.values()} == {"*"}


def test_every_difference_of_the_peer_is_marked() -> None:
    rows = _rows(PEER_MEASURED, PEER_DECLARED, PEER_SOURCES)
    differs = [aspect for aspect, status in _statuses(rows).items() if status == "differs"]
    assert differs == [
        "window back",
        "replay: the same code twice",
        "replay: one code sent in parallel, accepted",
    ]
    assert (rows["window back"].declared, rows["window back"].measured) == ("2 steps", "3 steps")
    assert rows["replay: the same code twice"].declared == "refused (monotonic_step)"
    assert rows["replay: the same code twice"].measured == "accepted"
    assert (
        rows["replay: one code sent in parallel, accepted"].measured
        == "3, 1, 2, 1, 1 of 10 (5 rounds)"
    )
    assert rows["throttle: lock lasts"].declared == "permanent (until an admin acts)"
    assert rows["drift: furthest shift accepted"].declared == "2 steps (the window, no tracking)"
    # More than the declared parameters work: listed, not a difference.
    assert rows["supported algorithms"].measured == "SHA1, SHA256, SHA512"
    assert rows["supported algorithms"].status == "same"
    # The most specific source: throttle.max_failures for locks_after, none for lock_seconds.
    assert rows["throttle: locks after"].source == "throttle.max_failures"
    assert rows["throttle: lock lasts"].source is None
    assert rows["window forward"].source == "window"


def test_what_a_real_time_run_did_not_measure_is_not_a_difference() -> None:
    rows = _rows(REAL_TIME_MEASURED, REAL_TIME_DECLARED)
    statuses = _statuses(rows)
    assert statuses["window forward"] == "differs"  # declared 1, accepted none forward
    assert statuses["replay: the same code twice"] == "same"
    # same_code declares nothing against an older step's code: it is accepted; refused differs.
    assert statuses["replay: an older step's code after a newer one"] == "differs"
    assert statuses["replay: one code sent in parallel, accepted"] == "not_measured"
    assert statuses["throttle: locks after"] == "same"  # no lock, none declared
    assert rows["throttle: locks after"].measured == "no lock within 20 wrong codes"
    assert statuses["drift: follows a drifting device"] == "not_measured"
    assert statuses["supported algorithms"] == "not_measured"


def test_nothing_declared_is_never_a_difference() -> None:
    statuses = _statuses(_rows(PEER_MEASURED, None))
    assert set(statuses.values()) == {"not_declared"}


def test_an_unknown_replay_rule_is_shown_not_compared() -> None:
    rows = _rows(REFERENCE_MEASURED, {**REFERENCE_DECLARED, "replay": "per_device"})
    row = rows["replay: the same code twice"]
    assert (row.declared, row.status) == ("per_device (not a known replay rule)", "not_declared")


@pytest.mark.parametrize(
    ("measured_lock", "status"),
    [(301, "same"), (299, "same"), (302, "differs"), ("permanent", "differs")],
)
def test_a_lock_measured_to_the_second_matches(measured_lock: object, status: str) -> None:
    measured = copy.deepcopy(REFERENCE_MEASURED)
    measured["throttle"]["lock_seconds"] = measured_lock
    assert _rows(measured, REFERENCE_DECLARED)["throttle: lock lasts"].status == status


def test_an_unbounded_drift_differs_from_a_declared_limit() -> None:
    measured = copy.deepcopy(REFERENCE_MEASURED)
    measured["drift"]["bounded_steps"] = None
    row = _rows(measured, REFERENCE_DECLARED)["drift: furthest shift accepted"]
    assert (row.measured, row.status) == ("not stopped within 21 steps ahead", "differs")


def test_the_window_chart_data_from_a_measured_record() -> None:
    data = window_from_measured(PEER_MEASURED["window"], PEER_DECLARED["window"])
    # One step past the widest accepted offset (-3) and the declared window (2).
    assert data["offsets"] == list(range(-4, 5))
    assert data["phases"] == [0, 1, 15, 29]
    assert data["accepted_by_phase"][3] == [False, True, True, True, True, True, True, False, False]
    assert data["accepted_by_phase"][0][1] is False  # -3 refused at phase 0
    assert data["declared"] == {"back": 2, "forward": 2}
    real_time = window_from_measured(REAL_TIME_MEASURED["window"])
    assert "phases" not in real_time
    assert real_time["offsets"] == [-2, -1, 0, 1, 2]
    assert real_time["accepted"] == [False, True, True, False, False]
    assert "declared" not in real_time


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        ("wide", "the measured window must be an object"),
        ({"accepted_by_phase": {}}, "accepted_by_phase must be an object with one list per phase"),
        (
            {"accepted_by_phase": {"0": [0, "1"]}},
            "accepted_by_phase['0'] must be a list of integers",
        ),
    ],
)
def test_a_measured_window_that_cannot_be_drawn_says_why(window: Any, problem: str) -> None:
    with pytest.raises(ChartDataError, match=problem.replace("[", r"\[")):
        window_from_measured(window)
    html = measured_window_html("w", window)
    assert f"Cannot draw this window: {problem}" in unescape(html)
    assert "<svg" not in html
