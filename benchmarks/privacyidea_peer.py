"""privacyIDEA's ``POST /validate/check`` as a target of ``benchmarks/throughput.py``.

Where ``make peers`` installed privacyIDEA (``.peers/privacyidea``):

1. a fresh privacyIDEA is set up in a state directory by the driver's own
   ``start_server`` (``conformance/drivers/privacyidea.py``: config file, keys,
   tables, an admin), which is stopped again at once;
2. its TOTP tokens (one per request, SHA-1, 6 digits, 30 s, no PIN) are made in
   its database by ``peers/privacyidea/bench_tokens.py`` in privacyIDEA's own
   environment (its ``init_token``, what ``POST /token/init`` calls);
3. it is served by gunicorn from its environment with the same settings as the
   reference server: 2 sync workers, the default backlog, no access log, on
   the real clock (codes are made for the real time when a point is prepared;
   privacyIDEA's default ``timeWindow`` of 180 s keeps them valid for the point).

A valid code answers 200 ``"authentication": "ACCEPT"``, a wrong one 200
``"authentication": "REJECT"``; the bench tells them apart by that mark in the
body. privacyIDEA runs as installed: its SQL audit log (an RSA signature per
entry) and its answer's signature are part of every request, as in a deployment.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Final

from conformance.drivers.peers import peer_python
from conformance.drivers.privacyidea import ENVIRONMENT, SETUP_DIR, PrivacyIdeaDriver, start_server
from conformance.drivers.process import ServerProcess, free_port

TOKENS_SCRIPT: Final = SETUP_DIR / "bench_tokens.py"
PATH: Final = "/validate/check"
#: privacyIDEA answers a few dozen checks a second here: fewer requests per point keep
#: the bench short (every figure is a rate, so the counts need not be the same).
REQUESTS_PER_POINT: Final = 100
WORKERS: Final = 2


class PrivacyIdeaTarget:
    """privacyIDEA under gunicorn with tokens made for every point."""

    label = "privacyIDEA"
    #: (wrong, valid): the status and the mark in the body of each.
    expected: Final = (200, 200)
    marks: Final = ('"authentication": "REJECT"', '"authentication": "ACCEPT"')

    def __init__(self, workdir: Path, *, points: int, per_point: int) -> None:
        from benchmarks.throughput import request_line, totp, wrong_code

        self._request_line, self._totp, self._wrong_code = request_line, totp, wrong_code
        self.requests_per_point = REQUESTS_PER_POINT
        self._per_point = per_point
        state = workdir.resolve()
        started = time.perf_counter()
        setup = start_server(state)
        setup.stop()
        config = state / "pi.cfg"
        self._secrets = [secrets.token_bytes(20) for _ in range(points * per_point)]
        keys = state / "bench-keys.txt"
        keys.write_text(
            "".join(f"{self.serial(i)} {key.hex()}\n" for i, key in enumerate(self._secrets)),
            encoding="ascii",
        )
        environment = {**os.environ, "PRIVACYIDEA_CONFIGFILE": str(config), "TZ": "UTC"}
        made = subprocess.run(
            [str(peer_python(ENVIRONMENT)), str(TOKENS_SCRIPT), "--config", str(config),
             "--keys", str(keys)],
            capture_output=True, text=True, cwd=state, env=environment, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            raise RuntimeError(f"privacyIDEA tokens not made: {made.stderr.strip()[-500:]}")
        gunicorn = peer_python(ENVIRONMENT).parent / "gunicorn"
        port = free_port()
        factory = (
            f'privacyidea.app:create_app(config_name="production", config_file="{config}", '
            "silent=True)"
        )
        self.process = ServerProcess(
            [str(gunicorn), "--workers", str(WORKERS), "--worker-class", "sync",
             "--bind", f"127.0.0.1:{port}", "--error-logfile", "-", factory],
            name="privacyIDEA (gunicorn)",
            log_path=state / "gunicorn.log",
            env={"PRIVACYIDEA_CONFIGFILE": str(config)},
            cwd=state,
            ready=r"Booting worker with pid(?s:.*)Booting worker with pid",
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        self.seed_seconds = time.perf_counter() - started

    @staticmethod
    def serial(index: int) -> str:
        return f"BENCH{index:06d}"

    def prepare(self, point: int, count: int, spares: int) -> tuple[list[str], list[str]]:
        """Wrong codes (``wrong_per_token`` each, round-robin), then the valid ones."""
        from benchmarks.throughput import WRONG_PER_TOKEN, spread

        first = point * self._per_point
        if count + spares > self._per_point:
            raise RuntimeError(f"{count + spares} tokens asked of {self._per_point} per point")
        step = int(time.time() // 30)
        wrong: list[list[str]] = []
        valid: list[str] = []
        for i in range(first, first + count + spares):
            secret = self._secrets[i]
            body = {"serial": self.serial(i), "pass": self._wrong_code(secret, step)}
            wrong.append([self._request_line(PATH, body, form=True)] * WRONG_PER_TOKEN)
            valid.append(
                self._request_line(
                    PATH, {"serial": self.serial(i), "pass": self._totp(secret, step)}, form=True
                )
            )
        return spread(wrong, WRONG_PER_TOKEN), valid

    def stop(self) -> None:
        self.process.stop()


def start(workdir: Path, *, points: int, spares: int) -> PrivacyIdeaTarget | str:
    """privacyIDEA ready for ``points`` points, or why it cannot run here."""
    missing = PrivacyIdeaDriver.missing()
    if missing is not None:
        return missing
    return PrivacyIdeaTarget(workdir, points=points, per_point=REQUESTS_PER_POINT + spares)
