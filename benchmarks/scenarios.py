"""``make bench``: wall time of each shipped scenario (and the virtual time it covers).

Each scenario is replayed on its own against one embedded reference server, as
``twofa replay`` does (harness reset, every step, the result log and trace),
without the server's start-up. Target: under a second per scenario.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from conformance.replay import replay, shipped_scenarios
from conformance.scenario_file import load_scenario
from conformance.target import EmbeddedTarget

ROUNDS = 3
TARGET_SECONDS = 1.0


def _virtual(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or f"{seconds}s"


def main() -> None:
    print(f"scenario wall time per shipped scenario (virtual time covered), median of {ROUNDS}")
    scenarios = [load_scenario(path) for path in shipped_scenarios()]
    target = EmbeddedTarget()
    try:
        with tempfile.TemporaryDirectory(prefix="twofa-bench-") as tmp:
            for scenario in scenarios:
                times, outcome = [], "passed"
                for n in range(ROUNDS):
                    folder = Path(tmp) / f"{scenario.name}-{n}"
                    folder.mkdir()
                    start = time.perf_counter()
                    summary = replay(target, [scenario], folder)
                    times.append(time.perf_counter() - start)
                    outcome = summary.results[0].outcome.value
                wall = statistics.median(times)
                verdict = "met" if wall < TARGET_SECONDS else "NOT MET"
                print(
                    f"  {scenario.name:32} {wall:6.2f} s  for {_virtual(scenario.duration):>7} "
                    f"virtual, {len(scenario.steps):2} steps, {outcome}"
                    f"  (target < {TARGET_SECONDS:.0f} s: {verdict})"
                )
    finally:
        target.close()


if __name__ == "__main__":
    main()
