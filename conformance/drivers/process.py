"""A server under test started as its own process, and how to tell it is ready.

The output goes to a log file in the driver's state directory (so a failed
start can show its tail and a long run never blocks on a full pipe). A server
is ready when a line matching ``ready`` appears, or, without one, when its
port accepts a connection.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from conformance.drivers.seam import DriverError

START_TIMEOUT_SECONDS: Final = 60.0


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """One peer process: started, waited for, stopped; its output kept in ``log_path``."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        name: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready: str | None = None,
        port: int | None = None,
        timeout: float = START_TIMEOUT_SECONDS,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.command = list(command)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        environment = {**os.environ, "TZ": "UTC", "PYTHONUNBUFFERED": "1", **(env or {})}
        try:
            self.process = subprocess.Popen(  # noqa: S603 - a peer the driver chose
                self.command,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                cwd=cwd,
                start_new_session=True,  # a stop ends the whole process group
            )
        except OSError as exc:
            self._log.close()
            raise DriverError(f"cannot start {name} ({self.command[0]}): {exc}") from exc
        self.ready_match: re.Match[str] | None = None
        self._wait(re.compile(ready) if ready else None, port, timeout)

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def _wait(self, ready: re.Pattern[str] | None, port: int | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self._log.close()
                raise DriverError(
                    f"{self.name} exited at start (status {self.process.returncode}):\n"
                    + self.tail()
                )
            if ready is not None:
                self.ready_match = ready.search(
                    self.log_path.read_text(encoding="utf-8", errors="replace")
                )
                if self.ready_match:
                    return
            elif port is not None and _accepts(port):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise DriverError(
                    f"{self.name} did not start within {timeout:.0f} s:\n" + self.tail()
                )
            time.sleep(0.05)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Terminate the process group, then kill what is left after five seconds."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, 9)
                self.process.wait()
        self._log.close()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
