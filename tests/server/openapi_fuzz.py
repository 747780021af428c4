"""An outside fuzzer against the reference server: schemathesis, over HTTP, at a budget.

``run(max_examples)`` starts ``python -m reference_server serve --harness --port 0
--password-cost test`` as a process on a fresh SQLite database, runs the
``schemathesis`` command (its own process, every check it has, every phase,
deterministic) against ``/api/v1/openapi.json`` with the hooks of
``fuzz_hooks.py`` (tokens of every kind, state snapshots, two checks of ours),
and returns what it counted. ``tests/server/test_openapi_fuzz.py`` runs it at a
CI budget; ``make fuzz`` (``python tests/server/openapi_fuzz.py``) at 10,000
requests or more, and prints the counts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LISTENING = "twofa-reference-server listening on "
#: The budgets, in examples per operation and phase: `make test`, and `make fuzz`
#: (which must reach at least FUZZ_REQUESTS requests).
CI_EXAMPLES = 25
FUZZ_EXAMPLES = 400
FUZZ_REQUESTS = 10_000


@dataclass
class FuzzResult:
    """What one run counted, and how it ended."""

    exit_code: int
    tally: dict[str, Any]
    output: str
    seconds: float

    @property
    def requests(self) -> int:
        return int(self.tally.get("requests", 0))

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.tally.get("by_status", {}).items() if int(status) >= 500)

    def schemathesis_failures(self) -> list[str]:
        """The failure lines of schemathesis's summary (its checks and ours)."""
        summary = self.output.split("SUMMARY", 1)[-1]
        return re.findall(r"❌ (ST\d+ .*?: \d+|.*?: \d+)$", summary, flags=re.MULTILINE)


class Server:
    """The reference server as a process in harness mode, on its own SQLite file."""

    def __init__(self, workdir: Path, policy: Path | None = None) -> None:
        self.database = workdir / "fuzz.sqlite3"
        env = {
            **os.environ,
            "TWOFA_INSTANCE_PATH": str(workdir / "instance"),
            "DATABASE_URL": f"sqlite:///{self.database}",
            "PYTHONUNBUFFERED": "1",
            "TZ": "UTC",
        }
        env.pop("SMTP_HOST", None)
        command = [sys.executable, "-m", "reference_server", "serve", "--harness"]
        command += ["--port", "0", "--password-cost", "test"]
        if policy is not None:
            command += ["--policy", str(policy)]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=workdir,
        )
        self.output: deque[str] = deque(maxlen=400)
        found: list[str] = []
        ready = threading.Event()
        assert self.process.stdout is not None
        stdout = self.process.stdout

        def read() -> None:
            for line in stdout:
                self.output.append(line.rstrip("\n"))
                if not found and line.startswith(LISTENING):
                    found.append(line[len(LISTENING) :].strip())
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(60) or not found:
            self.close()
            raise RuntimeError("the server did not start:\n" + "\n".join(self.output))
        self.url = found[0]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def run(
    max_examples: int,
    *,
    workdir: Path | None = None,
    policy: Path | None = None,
    include_path: str | None = None,
) -> FuzzResult:
    """One fuzz run at ``max_examples`` per operation and phase; the server is stopped after.

    ``policy`` starts the server with a policy file (its ``faults:`` make a mutant);
    ``include_path`` fuzzes the operations of that one path only.
    """
    own = tempfile.TemporaryDirectory(prefix="twofa-fuzz-") if workdir is None else None
    where = Path(own.name) if own is not None else workdir
    assert where is not None
    where = where.resolve()  # the server and schemathesis run in it: no relative paths
    where.mkdir(parents=True, exist_ok=True)
    server = Server(where, policy)
    started = time.monotonic()
    try:
        tally_path = where / "tally.json"
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(HERE / "fuzz_hooks.py"),
            "TWOFA_FUZZ_URL": server.url,
            "TWOFA_FUZZ_DATABASE_URL": f"sqlite:///{server.database}",
            "TWOFA_FUZZ_TALLY": str(tally_path),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "NO_COLOR": "1",
        }
        command = [sys.executable, "-m", "schemathesis.cli", "--no-color"]
        command += ["--config-file", str(HERE / "schemathesis.toml"), "run"]
        command += [f"{server.url}/api/v1/openapi.json", "--checks", "all"]
        # Replaced by the hooks' documented_refusal (the reasons: schemathesis.toml).
        command += ["--exclude-checks", "positive_data_acceptance"]
        command += ["--max-examples", str(max_examples), "--generation-database", "none"]
        command += ["--report", "junit", "--report-dir", str(where / "report")]
        if include_path is not None:
            command += ["--include-path", include_path]
        finished = subprocess.run(
            command, env=env, cwd=where, capture_output=True, text=True, check=False
        )
        output = finished.stdout + finished.stderr
        (where / "schemathesis.txt").write_text(output, encoding="utf-8")
        tally = json.loads(tally_path.read_text(encoding="utf-8")) if tally_path.exists() else {}
        return FuzzResult(finished.returncode, tally, output, time.monotonic() - started)
    finally:
        server.close()
        if own is not None:
            own.cleanup()


def report(result: FuzzResult) -> str:
    """The counts, as ``make fuzz`` prints them."""
    tally = result.tally
    lines = [
        f"requests: {result.requests} in {result.seconds:.0f} s "
        f"(world built {tally.get('world_builds', 0)} times; repairs: "
        + (
            ", ".join(f"{k} {v}" for k, v in sorted(tally.get("world_repairs", {}).items()))
            or "none"
        )
        + ")",
        "by mode: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.get("by_mode", {}).items())),
        "by status: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(tally.get("by_status", {}).items())),
        f"responses >= 500: {result.server_errors}",
        f"refused requests whose stored state was compared: {tally.get('refused_checked', 0)}",
        f"failures of our checks: {len(tally.get('failures', []))}",
        "schemathesis failures: " + (", ".join(result.schemathesis_failures()) or "none"),
        "requests by operation:",
    ]
    for operation, count in sorted(tally.get("by_operation", {}).items()):
        lines.append(f"  {count:6d}  {operation}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument("--min-requests", type=int, default=FUZZ_REQUESTS)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "fuzz")
    args = parser.parse_args(argv)
    result = run(args.max_examples or FUZZ_EXAMPLES, workdir=args.out)
    print(result.output.split("SUMMARY", 1)[-1].strip())
    print()
    print(report(result))
    ok = (
        result.exit_code == 0
        and result.server_errors == 0
        and not result.tally.get("failures")
        and result.requests >= args.min_requests
    )
    if result.requests < args.min_requests:
        print(f"FAILED: {result.requests} requests, fewer than {args.min_requests}")
    print("PASSED" if ok else f"FAILED (schemathesis exit status {result.exit_code})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
