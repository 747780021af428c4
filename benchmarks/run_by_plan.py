"""``make bench``: wall time of ``twofa run`` by plan, against the embedded reference server.

One whole run (every plan) as a user runs it, in a subprocess: the whole
run's wall time includes starting the embedded server and writing the
reports; the time of each plan is the sum of its checks' durations from the
result log. Targets: the non-browser plans together under 10 s, the whole
run under 60 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from reports import read_latest

NON_BROWSER_TARGET_SECONDS = 10.0
WHOLE_RUN_TARGET_SECONDS = 60.0
#: A plan is a browser plan when its name says so or one of its checks attached a screenshot.
BROWSER_PLAN_WORDS = ("wizard", "browser")


def _records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def _is_browser_plan(plan: str, checks: list[dict[str, Any]]) -> bool:
    if any(word in plan for word in BROWSER_PLAN_WORDS):
        return True
    return any(a.get("kind") == "screenshot" for c in checks for a in c.get("attachments") or [])


def _verdict(seconds: float, target: float) -> str:
    return f"target < {target:.0f} s: {'met' if seconds < target else 'NOT MET'}"


def main() -> None:
    print("twofa run by plan (one whole run, every plan, embedded reference server)")
    with tempfile.TemporaryDirectory(prefix="twofa-bench-") as tmp:
        out = Path(tmp) / "reports"
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "TZ": "UTC"},
        )
        wall = time.perf_counter() - start
        run_id = read_latest(out)
        if run_id is None:
            print(f"  twofa run wrote no result log (exit {result.returncode}):")
            print("  " + (result.stderr.strip().splitlines() or ["no output"])[-1])
            return
        records = _records(out / run_id / "results.jsonl")
    checks = [r for r in records if r.get("record") == "check"]
    by_plan: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for check in checks:
        by_plan[check["plan"]].append(check)
    print(f"{'plan':16} {'checks':>6} {'seconds':>9}  slowest check")
    browser_seconds = non_browser_seconds = 0.0
    for plan, plan_checks in by_plan.items():
        seconds = sum(c.get("duration_ms") or 0.0 for c in plan_checks) / 1000
        slowest = max(plan_checks, key=lambda c: c.get("duration_ms") or 0.0)
        browser = _is_browser_plan(plan, plan_checks)
        if browser:
            browser_seconds += seconds
        else:
            non_browser_seconds += seconds
        label = plan + (" (browser)" if browser else "")
        print(
            f"{label:16} {len(plan_checks):>6} {seconds:>9.2f}  "
            f"{slowest['id']} {(slowest.get('duration_ms') or 0.0) / 1000:.2f} s"
        )
    print(
        f"{'non-browser plans':23} {non_browser_seconds:>9.2f} s  "
        f"{_verdict(non_browser_seconds, NON_BROWSER_TARGET_SECONDS)}"
    )
    print(f"{'browser plans':23} {browser_seconds:>9.2f} s")
    print(
        f"{'whole run (wall)':23} {wall:>9.2f} s  {_verdict(wall, WHOLE_RUN_TARGET_SECONDS)}"
        "  (server start, checks, reports)"
    )
    if result.returncode != 0:
        print(
            f"  note: twofa run exited {result.returncode} (unexpected results); times still hold"
        )


if __name__ == "__main__":
    main()
