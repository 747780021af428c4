"""The test suite's xdist groups hold: tests that share a costly fixture run in one process.

``make test`` runs the tests in two processes with ``--dist loadgroup`` (pyproject's
addopts); tests marked ``xdist_group`` go to one of them, so a fixture such as the
whole embedded run is built once. A pytest or pytest-xdist upgrade has broken this
silently before (pytest 9.2's node ids), so this checks it on a small suite of its own.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = """
import os
import pytest

@pytest.fixture(scope="session")
def costly(tmp_path_factory):
    with open(os.environ["BUILT_LOG"], "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + "\\n")
"""

TESTS = """
import time
import pytest

@pytest.mark.xdist_group("costly")
def test_first(costly): time.sleep(0.3)

def test_filler_a(): time.sleep(0.3)

def test_filler_b(): time.sleep(0.3)
"""


def test_the_suite_distributes_by_group() -> None:
    pytest_config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert "--dist loadgroup" in pytest_config["ini_options"]["addopts"]


def test_two_grouped_tests_in_two_files_build_their_fixture_once(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_one.py").write_text(TESTS)
    (tmp_path / "test_two.py").write_text(TESTS.replace("test_first", "test_second"))
    built = tmp_path / "built.log"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
    done = subprocess.run(
        [*command, "--dist", "loadgroup", "-o", "addopts=", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"BUILT_LOG": str(built), "PATH": "/usr/bin:/bin", "TZ": "UTC"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout
    # Both grouped tests ran in one process: the session fixture was built once.
    assert built.read_text().split() in (["gw0"], ["gw1"])
