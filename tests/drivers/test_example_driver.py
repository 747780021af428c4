"""The example target driver (examples/totp_service_driver.py) works as documented.

It is the tested form of docs/targets.md's "writing a driver": the documented
commands run, every verifier check reaches a verdict, its option moves both
the declared and the measured window, and it stays about fifty lines.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.drivers import parse_target
from conformance.drivers.faketime import libfaketime

ROOT = Path(__file__).parents[2]
README = (ROOT / "examples" / "README.md").read_text()
DRIVER = ROOT / "examples" / "totp_service_driver.py"
TWOFA = str(Path(sys.executable).with_name("twofa"))

pytestmark = pytest.mark.skipif(
    libfaketime() is None and not os.environ.get("CI"), reason="libfaketime: run 'make peers'"
)


def documented() -> list[str]:
    """The ``twofa run`` commands of examples/README.md that use the example driver."""
    return [c for c in re.findall(r"\$ (twofa run .+)", README) if "totp_service_driver" in c]


def run(command: str, out: Path) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    argv = shlex.split(command)
    done = subprocess.run(
        [TWOFA, *argv[1:], "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TZ": "UTC"},
    )
    log = out / "latest" / "results.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, records


def test_the_readme_documents_two_commands() -> None:
    assert len(documented()) == 2


def test_the_driver_passes_every_verifier_check(tmp_path: Path) -> None:
    [command] = [c for c in documented() if "--target-option" not in c]
    done, records = run(command, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = [r for r in records if r["record"] == "check"]
    outcomes = {c["id"]: c["outcome"] for c in checks}
    # The verifier checks all reach a verdict; the product-flow checks are not applicable.
    verifier = {c["id"]: c["outcome"] for c in checks if "flow" not in c["needs"]}
    assert len(verifier) == 16
    assert set(verifier.values()) <= {"passed", "not_applicable"}
    assert all(c["outcome"] == "not_applicable" for c in checks if "flow" in c["needs"])
    assert outcomes["replay-parallel-race"] == "passed"
    assert outcomes["throttling-lock-released-after-lock-time"] == "passed"
    assert outcomes["window-measured-matches-declared"] == "passed"
    assert outcomes["enrollment-email-code-errors"] == "not_applicable"
    [measured] = [r for r in records if r["record"] == "measured"]
    assert measured["target"] == "totp-service"
    assert measured["measured"]["window"]["back"] == 1
    assert measured["measured"]["throttle"] == {
        "locks_after": 5,
        "lock_seconds": 300,
        "budget": 100,
    }
    assert done.stdout.startswith("PASSED: 42 checks, 15 passed, 27 not applicable")


def test_its_window_option_moves_the_declared_and_the_measured_window(tmp_path: Path) -> None:
    [command] = [c for c in documented() if "--target-option window=2" in c]
    done, records = run(command, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    outcomes = {r["id"]: r["outcome"] for r in records if r["record"] == "check"}
    assert outcomes == {
        "window-measured-matches-declared": "passed",
        "window-at-most-one-step-back": "warning",
    }
    [measured] = [r for r in records if r["record"] == "measured"]
    assert measured["declared"]["window"] == {"back": 2, "forward": 2}
    assert (measured["measured"]["window"]["back"], measured["measured"]["window"]["forward"]) == (
        2,
        2,
    )
    assert done.stdout.startswith("PASSED WITH WARNINGS: 2 checks, 1 passed, 1 warning")


def test_the_driver_is_about_fifty_lines_of_code() -> None:
    tree = ast.parse(DRIVER.read_text())
    [driver] = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert driver.end_lineno is not None
    assert driver.end_lineno - driver.lineno + 1 <= 60
    assert parse_target(str(DRIVER.relative_to(ROOT))).driver.__name__ == "TotpServiceDriver"
