"""A check killed by a mutant fails through every runner: one mutant server process
(``twofa serve --harness`` with ``faults: [no_replay_guard]``), judged by ``twofa run``,
by ``twofa replay`` and by the pytest plugin, each a process of its own as a user runs it,
all through the shared run skeleton and result model."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conformance.drivers.process import ServerProcess
from tests.processes import TWOFA, run, twofa

CHECK = "replay-same-code-twice"
SCENARIO = "cloud-backup-restore"  # its replayed code is refused only with a replay guard
FAULT = "no_replay_guard"
SCENARIOS = Path(__file__).resolve().parents[2] / "conformance" / "scenarios"


@pytest.fixture(scope="module")
def mutant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("mutant-server")
    policy = folder / "mutant.yaml"
    policy.write_text(yaml.safe_dump({"faults": [FAULT]}), encoding="utf-8")
    server = ServerProcess(
        [TWOFA, "serve", "--harness", "--port", "0", "--policy", str(policy)],
        name="mutant reference server",
        log_path=folder / "server.log",
        env={**os.environ, "TZ": "UTC", "TWOFA_INSTANCE_PATH": str(folder / "instance")},
        ready=r"twofa-reference-server listening on (http://\S+)",
    )
    assert server.ready_match is not None
    try:
        yield server.ready_match.group(1)
    finally:
        server.stop()


def _checks(log: Path) -> dict[str, str]:
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return {r["id"]: r["outcome"] for r in records if r["record"] == "check"}


def test_twofa_run_fails_the_check(mutant: str, tmp_path: Path) -> None:
    done = twofa("run", "--target", mutant, "--check", CHECK, "--out", "out", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"unexpected: replay/{CHECK}" in done.stdout
    assert _checks(tmp_path / "out" / "latest" / "results.jsonl") == {CHECK: "failed"}


def test_twofa_replay_fails_the_scenario(mutant: str, tmp_path: Path) -> None:
    done = twofa(
        "replay", str(SCENARIOS / f"{SCENARIO}.yaml"), "--target", mutant, "--out", "out",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"FAIL {SCENARIO}" in done.stderr
    assert _checks(tmp_path / "out" / "latest" / "results.jsonl") == {SCENARIO: "failed"}


def test_the_pytest_plugin_fails_the_check(mutant: str, tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    done = run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:playwright",
         "-p", "no:base_url", "--twofa-target", mutant, "-k", CHECK,
         "--twofa-results", "results.jsonl", "-q"],
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout
    assert _checks(tmp_path / "results.jsonl") == {CHECK: "failed"}
