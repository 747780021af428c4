"""Reference servers started for real as processes (``python -m reference_server serve``)."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import urlsplit

import pytest

from reference_server.__main__ import LISTENING

START_SECONDS = 30.0


def base_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment with nothing of the caller's deployment settings in it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SMTP_", "TWOFA_", "DATABASE_URL", "MAIL_SENDER"))
    }
    env.update(
        {
            "TZ": "UTC",
            "PYTHONUNBUFFERED": "1",
            "TWOFA_INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp / 'data' / 'server.sqlite3'}",
        }
    )
    (tmp / "data").mkdir(parents=True, exist_ok=True)
    env.update(extra)
    return env


def cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reference_server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


class LineReader:
    """The lines a process prints on a pipe, read by a thread of their own, so that every
    wait for one has a deadline (a server that hangs without a word fails its test in
    seconds, instead of blocking a read forever)."""

    _END: Final = object()

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[object] = queue.Queue()
        self._ended = False
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self._queue.put(line.rstrip("\n"))
        finally:
            # Closed here, at the end of the output: closing it from another thread would
            # wait for this read (which a process's orphaned children can hold open).
            stream.close()
            self._queue.put(self._END)

    def join(self, timeout: float) -> None:
        """Wait (at most ``timeout``) for the output to end."""
        self._thread.join(timeout)

    def until(self, wanted: Callable[[str], bool], timeout: float) -> str | None:
        """Read lines until one is ``wanted`` (that line), the output ends or the deadline
        passes (None)."""
        deadline = time.monotonic() + timeout
        while not self._ended:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if item is self._END:
                self._ended = True
                break
            assert isinstance(item, str)
            self.lines.append(item)
            if wanted(item):
                return item
        return None

    def rest(self, timeout: float) -> list[str]:
        """Every line until the output ends (within ``timeout``): the lines read now."""
        before = len(self.lines)
        self.until(lambda _line: False, timeout)
        return self.lines[before:]


@dataclass
class Server:
    """A running ``serve`` process: its URL, port, pid and what it printed."""

    process: subprocess.Popen[str]
    url: str
    reader: LineReader
    stderr: Path

    @property
    def lines(self) -> list[str]:
        """What it printed on standard output so far (as read)."""
        return self.reader.lines

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM: a clean stop (exit 0, "stopped"), or a test failure saying why not."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
            rest = self.reader.rest(timeout=10)
            assert self.process.returncode == 0, self.stderr.read_text()
            assert rest[-1:] == ["twofa reference server stopped"], rest
        finally:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a power cut would (nothing is flushed or closed), and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.join(timeout=5)  # the reader closes the pipe at its end


def start(args: list[str], env: dict[str, str], tmp: Path) -> Server:
    """Start ``serve --port 0 ARGS`` and wait (``START_SECONDS`` at most) for its listening
    line; the one way the server tests start a server process."""
    stderr = tmp / f"stderr-{time.monotonic_ns()}.log"
    with stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "reference_server", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
    assert process.stdout is not None
    reader = LineReader(process.stdout)
    listening = reader.until(lambda line: line.startswith(LISTENING), START_SECONDS)
    if listening is not None:
        return Server(process, listening.split()[-1], reader, stderr)
    process.kill()
    process.wait()
    reader.join(timeout=5)
    pytest.fail(
        f"serve did not say it was listening within {START_SECONDS:.0f} s: {reader.lines} "
        f"{stderr.read_text()}"
    )


@contextmanager
def serving(args: list[str], env: dict[str, str], tmp: Path) -> Iterator[Server]:
    """Start ``serve ARGS``; stop it with SIGTERM at the end (exit 0, "stopped")."""
    server = start(args, env, tmp)
    try:
        yield server
    finally:
        server.stop()


def call(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    *,
    timeout: float = 120,
) -> tuple[int, Any]:
    """One JSON request on a connection of its own: (status, body). A dropped connection raises."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, None if body is None else json.dumps(body), headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()
