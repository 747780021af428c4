"""The wall time of one full desktop enrollment through the browser.

Sign-in → enrollment message → email code read from the mailbox page → install
app → QR code scanned from its pixels → setup code → done → Home, with every
step's screenshot saved, as the conformance checks run it. Timed after the
browser and the embedded server have started; the database is reset before
each run (not timed).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from conformance.browser import (
    BrowserNotFound,
    Evidence,
    PagesMissing,
    WizardDriver,
    new_context,
    open_browser,
)
from conformance.session import BASE_TIME, CHECK_SEED, PASSWORD
from conformance.target import EmbeddedTarget

RUNS = 5
TARGET_SECONDS = 3.0
AGENT = "v5@conformance.test"


def enrollment_times(runs: int = RUNS) -> list[float]:
    """Seconds per enrollment, one per run, against a fresh embedded server."""
    times: list[float] = []
    with (
        EmbeddedTarget() as target,
        open_browser() as browser,
        tempfile.TemporaryDirectory() as folder,
    ):
        harness = target.harness
        assert harness is not None
        for run in range(runs):
            harness.reset(CHECK_SEED)
            harness.set_time(BASE_TIME)
            context = new_context(browser)
            try:
                driver = WizardDriver(
                    context.new_page(), target, Evidence(Path(folder), f"run-{run}")
                )
                start = time.perf_counter()
                driver.enroll(AGENT, PASSWORD, "rfc-reference", by="qr")
                times.append(time.perf_counter() - start)
            finally:
                context.close()
    return times


def main() -> None:
    label = "desktop enrollment through the browser"
    try:
        times = enrollment_times()
    except BrowserNotFound as exc:
        print(f"{label:48} skipped: {exc}")
        return
    except PagesMissing as exc:
        print(f"{label:48} skipped: {exc}")
        return
    median = statistics.median(times)
    verdict = "met" if median < TARGET_SECONDS else "NOT met"
    print(
        f"{label:48} {median:>10.2f} s median of {len(times)}"
        f" (min {min(times):.2f}, max {max(times):.2f})"
        f"  target < {TARGET_SECONDS:.0f} s: {verdict}"
    )


if __name__ == "__main__":
    main()
