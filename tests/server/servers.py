"""Reference servers started for real as processes (``python -m reference_server serve``)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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


@dataclass
class Server:
    """A running ``serve`` process: its URL, port, pid and what it printed."""

    process: subprocess.Popen[str]
    url: str
    lines: list[str]
    stderr: Path

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
            rest, _ = self.process.communicate(timeout=20)
            assert self.process.returncode == 0, self.stderr.read_text()
            assert rest.splitlines()[-1] == "twofa reference server stopped"
        finally:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a power cut would (nothing is flushed or closed), and wait for it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start(args: list[str], env: dict[str, str], tmp: Path) -> Server:
    """Start ``serve --port 0 ARGS`` and wait for its listening line."""
    stderr = tmp / f"stderr-{time.monotonic_ns()}.log"
    with stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "reference_server", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith(LISTENING):
            return Server(process, lines[-1].split()[-1], lines, stderr)
    process.kill()
    process.communicate()
    pytest.fail(f"serve never listened: {lines} {stderr.read_text()}")


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
