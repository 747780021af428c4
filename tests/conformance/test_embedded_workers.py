"""The conformance suite, unchanged, against the reference server with 2 worker processes.

``--target-option workers=2`` starts the embedded server under gunicorn; the
harness clock, the mailbox and resets are shared through its database, so the
plans (the parallel replay race, throttling across sessions, enrollment by the
mailed code) must pass as they do against one process, with both workers
answering.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.drivers.reference import ReferenceDriver
from conformance.runner import run_checks, select_checks
from conformance.target import EmbeddedTarget
from tests.processes import children, cpu_ticks

PLANS = ["replay", "throttling", "enrollment"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
]


def test_plans_pass_against_two_worker_processes(tmp_path: Path) -> None:
    driver = ReferenceDriver(ReferenceDriver.parse_options({"workers": "2"}), tmp_path)
    try:
        target = driver.target
        assert isinstance(target, EmbeddedTarget)
        assert "harness mode, gunicorn, 2 sync workers" in "\n".join(target.output)
        assert driver.describe()["workers"] == 2
        workers = children(target.process.pid)
        assert len(workers) == 2
        before = {pid: cpu_ticks(pid) for pid in workers}
        checks = select_checks(PLANS)
        summary = run_checks(driver, checks, tmp_path / "results.jsonl")
        outcomes = {r.check.id: r.outcome.value for r in summary.results}
        assert "replay-parallel-race" in outcomes
        assert {r.check.plan for r in summary.results} == set(PLANS)
        failed = {
            i: r.reason
            for i, r in zip(outcomes, summary.results, strict=True)
            if r.outcome.value != "passed"
        }
        assert failed == {}
        # the same two workers served the run (none died), and both did work
        assert children(target.process.pid) == workers
        assert all(cpu_ticks(pid) > before[pid] for pid in workers)
    finally:
        driver.close()
