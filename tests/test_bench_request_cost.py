"""``python -m benchmarks request_cost``: one sign-in code's cost, in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import request_cost


def test_every_path_is_measured_and_answered_as_expected(tmp_path: Path) -> None:
    costs = request_cost.measure(requests=4, rounds=2, workdir=tmp_path)
    assert set(costs) == {"bare", "wrong", "valid"}
    assert all(len(values) == 2 and all(v > 0 for v in values) for values in costs.values())


def test_an_unexpected_answer_stops_the_measurement() -> None:
    def refusing(_environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("500 INTERNAL SERVER ERROR", [])
        return [b""]

    with pytest.raises(RuntimeError, match="expected 200"):
        request_cost._cost(refusing, [{}], "200")


def test_the_printed_figures_are_the_medians(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    measured = {"bare": [0.1, 0.3, 0.2], "wrong": [0.5, 0.4, 0.9], "valid": [1.0, 0.8, 0.6]}
    monkeypatch.setattr(request_cost, "measure", lambda *_args: measured)
    medians = request_cost.main(["--rounds", "3"])
    assert medians == {"bare": 0.2, "wrong": 0.5, "valid": 0.8}
    out = capsys.readouterr().out
    assert "0.500 ms  [0.400-0.900]    2.5x the bare endpoint" in out
