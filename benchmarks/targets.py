"""``make bench``: how long judging each real peer takes, managed and in real time.

One ``twofa run`` with every peer ``make peers`` installed, at its defaults, as
a user runs it (a subprocess): each target's time is from its start to the
end of its checks in the result log, its start included. Target: under 60 s a
managed target. Then a whole real-time run (``privacyidea+URL``) against a
privacyIDEA started here on the real clock, from the command's start to its
exit: target under 2 minutes.
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

from conformance.drivers import parse_target
from conformance.drivers.privacyidea import start_server

PEERS = ("privacyidea", "pam-google-authenticator", "pam-oath", "django-otp", "flask-security")
MANAGED_TARGET_SECONDS = 60.0
REAL_TIME_TARGET_SECONDS = 120.0


def _twofa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC", **(env or {})},
        check=False,
    )


def _verdict(seconds: float, target: float) -> str:
    return f"target < {target:.0f} s: {'met' if seconds < target else 'NOT MET'}"


def main() -> None:
    print("judging the real peers (make peers), each at its defaults")
    installed = [p for p in PEERS if parse_target(p).missing() is None]
    if not installed:
        print("  no peer is installed: run 'make peers'")
        return
    with tempfile.TemporaryDirectory(prefix="twofa-bench-peers-") as tmp:
        out = Path(tmp) / "reports"
        started = time.perf_counter()
        _twofa(*(f"--target={p}" for p in installed), "--out", str(out))
        whole = time.perf_counter() - started
        records = [
            json.loads(line) for line in (out / "latest" / "results.jsonl").read_text().splitlines()
        ]
        checks_time: dict[str, float] = defaultdict(float)
        ended: dict[str, float] = defaultdict(float)
        for record in records:
            # Not-applicable checks never ran: they have no start time.
            if record["record"] == "check" and record["started_at"]:
                name, seconds = record["target"], record["duration_ms"] / 1000
                checks_time[name] += seconds
                ended[name] = max(ended[name], record["started_at"] + seconds)
        starts = {r["name"]: r["started_at"] for r in records if r["record"] == "target"}
        for name in installed:
            seconds = ended[name] - starts[name]
            print(
                f"  {name:28} {seconds:6.1f} s ({checks_time[name]:5.1f} s in checks)  "
                f"{_verdict(seconds, MANAGED_TARGET_SECONDS)}"
            )
        print(f"  {'the whole run, reports written':28} {whole:6.1f} s ({len(starts)} targets)")
        if "privacyidea" not in installed:
            return
        server = start_server(Path(tmp) / "unfaked-privacyidea")
        try:
            env = {"TWOFA_TARGET_USER": server.user, "TWOFA_TARGET_PASSWORD": server.password}
            started = time.perf_counter()
            _twofa("--target", f"privacyidea+{server.url}", "--out", str(out), env=env)
            seconds = time.perf_counter() - started
        finally:
            server.stop()
        print(
            f"  {'privacyidea+URL, real time':28} {seconds:6.1f} s (the whole command)  "
            f"{_verdict(seconds, REAL_TIME_TARGET_SECONDS)}"
        )


if __name__ == "__main__":
    main()
