"""The live progress bar of ``twofa run`` / ``replay`` / ``check-authenticator`` on a
terminal, and the plain one-line-per-check output everywhere else."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import pytest

from conformance.progress import SETTING, LiveProgress, wants_live
from tests.processes import TWOFA, twofa


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "terminal", "live"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"CI": "true"}, True, False),
        ({"TERM": "dumb"}, True, False),
        ({SETTING: "plain"}, True, False),
        ({SETTING: "live"}, False, True),
        ({SETTING: "live", "CI": "1"}, False, True),
    ],
)
def test_the_bar_is_drawn_on_a_terminal_outside_ci_unless_told(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], terminal: bool, live: bool
) -> None:
    for name in ("CI", "TERM", SETTING):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stream = Terminal() if terminal else io.StringIO()
    assert wants_live(stream) is live


def test_without_the_bar_each_line_is_printed_as_it_comes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with LiveProgress(["a", "b"], "checks", live=False) as bar:
        bar.done("[1/2] PASS a")
        bar.done("[2/2] FAIL b", "    -> why")
    assert capsys.readouterr().err == "[1/2] PASS a\n[2/2] FAIL b\n    -> why\n"
    assert bar.finished == 2


def _read_terminal(argv: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    """Run ``argv`` with standard error on a pseudo-terminal; its exit status and output."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", SETTING)}
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**env, "TZ": "UTC", "TERM": "xterm-256color", "COLUMNS": "160"},
    )
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the other side closed: the command ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert process.stdout is not None
    with process.stdout:
        process.stdout.read()
    return process.wait(timeout=30), seen.decode("utf-8", "replace")


def test_twofa_run_on_a_terminal_shows_a_live_bar_above_which_the_lines_stay(
    tmp_path: Path,
) -> None:
    status, output = _read_terminal(
        [TWOFA, "run", "--plan", "replay", "--out", str(tmp_path / "out")], tmp_path, 240
    )
    assert status == 0, output
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    assert re.search(r"\d+/\d+ checks", plain), plain[-2000:]  # the bar: done of total
    assert " left " in plain  # and its estimate
    assert re.search(r"\[\s*1/\d+\] PASS replay/", plain)  # each check's line, as without
    assert "\x1b[" in output  # drawn with terminal controls


def test_piped_the_output_is_the_plain_lines_only(tmp_path: Path) -> None:
    done = twofa("run", "--plan", "replay", "--out", str(tmp_path / "out"), unset=(SETTING,))
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr
    assert " left " not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert lines
    assert all(re.match(r"\[\s*\d+/\d+\] (PASS|FAIL|WARN|SKIP|N/A |ERR ) ", line) for line in lines)
