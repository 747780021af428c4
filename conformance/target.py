"""Targets: the server under test, reached over HTTP, and its harness controls.

``EmbeddedTarget`` starts the reference server as its own process (never by
import) in harness mode, with a fresh SQLite database, on a free loopback
port: one process, or gunicorn with several worker processes (``workers``, or
the environment's ``TWOFA_EMBEDDED_WORKERS``), which share the harness clock,
the mailbox and resets through the database. ``RemoteTarget`` is any server
that implements the v1 contract; its harness endpoints are used when it has them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from conformance.http import Exchange, HttpClient, TargetUnreachable

#: The line the reference server prints when it is ready.
LISTENING_LINE: Final = "twofa-reference-server listening on "
START_TIMEOUT_SECONDS: Final = 30.0
#: Runs every embedded server with this many gunicorn workers unless told otherwise.
WORKERS_VARIABLE: Final = "TWOFA_EMBEDDED_WORKERS"


class TargetError(RuntimeError):
    """Raised when the target cannot be started or reached: a harness problem, not a failure."""


class Harness:
    """The ``/__harness__`` controls of a target in harness mode."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def now(self) -> float:
        return float(self._ok(self.http.get("/__harness__/clock"))["now"])

    def set_time(self, unix_seconds: float) -> float:
        return float(self._ok(self.http.put("/__harness__/clock", {"now": unix_seconds}))["now"])

    def advance(self, seconds: float) -> float:
        return float(self._ok(self.http.put("/__harness__/clock", {"advance": seconds}))["now"])

    def mailbox(self, to: str | None = None) -> list[dict[str, Any]]:
        """The captured mails, oldest first (to ``to`` only: the address URL-encoded,
        so ``a+b@x`` is not read as ``a b@x``)."""
        path = "/__harness__/mailbox" + (f"?{urlencode({'to': to})}" if to else "")
        mails = self._ok(self.http.get(path))
        if not isinstance(mails, list):
            raise TargetError(f"GET {path} did not answer a list")
        return mails

    def clear_mailbox(self) -> None:
        self.http.delete("/__harness__/mailbox")

    def reset(self, seed: dict[str, Any] | None = None) -> dict[str, Any]:
        loaded = self._ok(self.http.post("/__harness__/reset", seed or {}))
        if not isinstance(loaded, dict):
            raise TargetError("POST /__harness__/reset did not answer the loaded seed")
        return loaded

    def policy(self) -> dict[str, Any]:
        policy = self._ok(self.http.get("/__harness__/policy"))
        if not isinstance(policy, dict):
            raise TargetError("GET /__harness__/policy did not answer an object")
        return policy

    @staticmethod
    def _ok(exchange: Exchange) -> Any:
        if exchange.status >= 300:
            raise TargetError(
                f"harness call {exchange.method} {exchange.path} answered {exchange.describe()}"
            )
        return exchange.body


class Target:
    """A server under test at ``base_url``."""

    kind = "remote"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = HttpClient(self.base_url)
        self._harness: Harness | None = None
        self._probed = False

    @property
    def harness(self) -> Harness | None:
        """The harness controls, or None when the target has none (probed once)."""
        if not self._probed:
            self._probed = True
            try:
                probe = self.http.get("/__harness__/policy")
            except TargetUnreachable as exc:
                raise TargetError(f"the target at {self.base_url} does not answer: {exc}") from exc
            if probe.status == 200 and isinstance(probe.body, dict):
                self._harness = Harness(self.http)
        return self._harness

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.base_url, "harness": self.harness is not None}

    def close(self) -> None:
        """Release what the target holds (nothing for a remote one)."""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def embedded_workers(workers: int | None) -> int | None:
    """``workers``, else ``TWOFA_EMBEDDED_WORKERS`` (None: one werkzeug process)."""
    if workers is not None:
        return workers
    text = os.environ.get(WORKERS_VARIABLE, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise TargetError(f"{WORKERS_VARIABLE} must be a whole number from 1 to 64, not {text!r}")
    return int(text)


class EmbeddedTarget(Target):
    """The reference server, started as a subprocess in harness mode on a free port."""

    kind = "embedded"

    def __init__(
        self,
        *,
        policy_file: Path | None = None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        workers: int | None = None,
    ) -> None:
        #: gunicorn worker processes (None: one werkzeug process).
        self.workers = embedded_workers(workers)
        self._workdir = tempfile.TemporaryDirectory(prefix="twofa-embedded-")
        instance = Path(self._workdir.name)
        # The cheapest argon2id: each harness reset hashes the seed's passwords, and
        # the checks are about the second factor, not the password hash's cost.
        command = [sys.executable, "-m", "reference_server", "serve", "--harness", "--port", "0"]
        command += ["--password-cost", "test"]
        if policy_file is not None:
            # Resolved here: the server may run in another working directory.
            command += ["--policy", str(Path(policy_file).resolve())]
        if self.workers is not None:
            command += ["--workers", str(self.workers)]
        command += list(extra_args)
        environment = {
            **os.environ,
            "TWOFA_INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'reference.sqlite'}",
            "PYTHONUNBUFFERED": "1",
            "TZ": "UTC",
            **(env or {}),
        }
        environment.pop("SMTP_HOST", None)
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
            cwd=instance,
        )
        self.output: deque[str] = deque(maxlen=200)
        url = self._wait_until_listening()
        super().__init__(url)

    def _wait_until_listening(self) -> str:
        found: list[str] = []
        ready = threading.Event()
        stdout = self.process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                self.output.append(line.rstrip("\n"))
                if not found and line.startswith(LISTENING_LINE):
                    found.append(line[len(LISTENING_LINE) :].strip())
                    ready.set()
            ready.set()

        # The reader keeps draining the pipe after start, so the server never blocks on it.
        self._reader = threading.Thread(target=read, name="embedded-server-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready.wait(0.05):
            if time.monotonic() > deadline:
                self.close()
                raise TargetError("the embedded reference server did not start in time")
        if not found:
            self.close()
            tail = "\n".join(self.output) or "(no output)"
            raise TargetError(f"the embedded reference server exited at start:\n{tail}")
        return found[0]

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        if self.workers is not None:
            described["workers"] = self.workers
        return described

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # The pipe reaches end-of-file once the process is gone; then close it.
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._workdir.cleanup()
