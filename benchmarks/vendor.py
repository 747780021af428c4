"""``make bench``: check-authenticator throughput through the JSON-lines adapter.

500 cases (the case matrix, repeated) against
``python -m simulators.vendor_process --profile rfc-reference``, the way
``twofa check-authenticator --jsonl`` runs them: provision, one codes request
with every time of the case, forget, and the comparison with the reference
algorithm. The process start is counted once per round. Target: 500 cases in
under 5 seconds.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time

from conformance.vendor.adapters import JsonLinesAdapter
from conformance.vendor.cases import ALL_CASES
from conformance.vendor.runner import run_cases

CASES = 500
ROUNDS = 5
TARGET_SECONDS = 5.0
COMMAND = [sys.executable, "-m", "simulators.vendor_process", "--profile", "rfc-reference"]


def one_round() -> tuple[float, float]:
    """(wall seconds for 500 cases with the process start, seconds of the cases alone)."""
    cases = list(itertools.islice(itertools.cycle(ALL_CASES), CASES))
    start = time.perf_counter()
    adapter = JsonLinesAdapter(COMMAND)
    started = time.perf_counter()
    run = run_cases(adapter, cases, timeout=5)
    end = time.perf_counter()
    # Compatible, or a refusal a URI dialect allows (the uri-dialects family).
    assert all(r.outcome == "passed" for r in run.results), "the reference is not compatible"
    return end - start, end - started


def main() -> None:
    rounds = [one_round() for _ in range(ROUNDS)]
    wall = statistics.median(r[0] for r in rounds)
    cases_only = statistics.median(r[1] for r in rounds)
    codes = sum(len(c.times) for c in itertools.islice(itertools.cycle(ALL_CASES), CASES))
    print(f"check-authenticator through the JSON-lines adapter, median of {ROUNDS} rounds")
    print(
        f"{'500 cases, process start included':48} {wall:>10.2f} s"
        f"  (target < {TARGET_SECONDS:.0f} s: {'met' if wall < TARGET_SECONDS else 'MISSED'})"
    )
    print(f"{'cases per second (after the start)':48} {CASES / cases_only:>10,.0f} cases/s")
    print(f"{'codes per second (after the start)':48} {codes / cases_only:>10,.0f} codes/s")


if __name__ == "__main__":
    main()
