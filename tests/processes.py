"""What the system says about processes (Linux ``/proc``): children, CPU time; and the
installed commands run as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

#: The ``twofa`` command installed beside this interpreter.
TWOFA: Final = str(Path(sys.executable).with_name("twofa"))


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float = 240,
    unset: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``argv`` as its own process with ``TZ=UTC`` (and without the variables ``unset``);
    its exit status and output, never raising for a non-zero status."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        list(argv),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env, "TZ": "UTC"},
        check=False,
    )


def twofa(
    *args: str, cwd: Path | None = None, timeout: float = 240, unset: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """The installed ``twofa ARGS`` (``run``)."""
    return run([TWOFA, *args], cwd=cwd, timeout=timeout, unset=unset)


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def children(pid: int) -> set[int]:
    """The live (not zombie) child processes of ``pid``: a gunicorn master's workers."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None and int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time of ``pid`` in clock ticks (0 once it is gone)."""
    fields = _stat_fields(pid)
    return 0 if fields is None else int(fields[11]) + int(fields[12])


def interruptible() -> None:
    """``preexec_fn`` for a child the test will press Ctrl-C at: SIGINT at its default.

    A test run started in the background by a shell without job control inherits
    SIGINT ignored (POSIX shells do that to background jobs), and Python then
    installs no KeyboardInterrupt handler in the child: the test's SIGINT would
    be ignored. A terminal's Ctrl-C reaches a foreground CLI at the default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
