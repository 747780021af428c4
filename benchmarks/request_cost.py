"""``make bench``: what one ``POST /api/v1/auth/otp`` costs in-process, on one core.

The WSGI app is called directly (no gunicorn, no sockets, no load generator), so the
figure is the server's own work per request: the reference server in harness mode on a
SQLite file (agents seeded as ``throughput`` seeds them, each signed in before the timed
part), against the bare Flask endpoint (``bare_flask.make_app``) in the same process. It
is where ``throughput``'s ratios come from once gunicorn's share is taken out, and the
figure a change to the sign-in code's path moves first.

    python -m benchmarks request_cost [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from werkzeug.test import EnvironBuilder

from benchmarks import bare_flask
from benchmarks.throughput import (
    FROZEN_AT,
    OTP_PATH,
    PASSWORD,
    PERIOD,
    agent_email,
    seed_agents,
    totp,
    wrong_code,
)

#: Requests per path and round (each valid code has an agent and token of its own).
REQUESTS: Final = 500
ROUNDS: Final = 5

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _environ(code: str, token: str) -> dict[str, Any]:
    return EnvironBuilder(
        path=OTP_PATH,
        method="POST",
        json={"code": code},
        headers=[("Authorization", f"Bearer {token}")],
    ).get_environ()


def _cost(app: WsgiApp, environs: list[dict[str, Any]], expected: str) -> float:
    """Milliseconds per request of ``environs`` through ``app``; every status checked."""
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc: Any = None) -> None:
        statuses.append(status)

    started = time.perf_counter()
    for environ in environs:
        body = app(environ, start_response)
        close = getattr(body, "close", None)
        if close is not None:
            close()
    spent = time.perf_counter() - started
    wrong = {s for s in statuses if not s.startswith(expected)}
    if wrong:
        raise RuntimeError(f"expected {expected}, got {sorted(wrong)}")
    return spent / len(environs) * 1000


def measure(requests: int, rounds: int, workdir: Path) -> dict[str, list[float]]:
    """Per round, the milliseconds of one request: bare, wrong code, valid code."""
    from reference_server.__main__ import PASSWORD_COSTS
    from reference_server.app import create_app

    url = f"sqlite:///{workdir / 'cost.sqlite3'}"
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    agents = requests * (rounds + 1) * 2  # a wrong-code and a valid-code agent per request
    secrets = seed_agents(url, key, agents)
    app = create_app(
        {
            "HARNESS": True,
            "DATABASE_URL": url,
            "TWOFA_SECRET_KEY": key,
            "INSTANCE_PATH": str(workdir / "instance"),
            "PASSWORD_HASH": PASSWORD_COSTS["test"],
        }
    )
    client = app.test_client()
    if client.put("/__harness__/clock", json={"now": FROZEN_AT}).status_code != 200:
        raise RuntimeError("the harness clock could not be set")
    step = int(FROZEN_AT // PERIOD)

    def signed_in(index: int) -> str:
        answer = client.post(
            "/api/v1/auth/sign-in", json={"email": agent_email(index), "password": PASSWORD}
        )
        if answer.status_code != 200 or answer.json is None:
            raise RuntimeError(f"sign-in of {agent_email(index)} answered {answer.status_code}")
        return str(answer.json["token"])

    bare: WsgiApp = bare_flask.make_app()
    server: WsgiApp = app
    costs: dict[str, list[float]] = {"bare": [], "wrong": [], "valid": []}
    # Round 0 warms the interpreter and the statement caches; it is not kept.
    for round_ in range(rounds + 1):
        first = round_ * requests * 2
        wrong = [
            _environ(wrong_code(secrets[i], step), signed_in(i))
            for i in range(first, first + requests)
        ]
        valid = [
            _environ(totp(secrets[i], step), signed_in(i))
            for i in range(first + requests, first + 2 * requests)
        ]
        figures = {
            "bare": _cost(bare, [_environ("000000", "x") for _ in range(requests)], "200"),
            "wrong": _cost(server, wrong, "401"),
            "valid": _cost(server, valid, "200"),
        }
        if round_:
            for name, value in figures.items():
                costs[name].append(value)
    return costs


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks request_cost", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    if args.requests < 1 or args.rounds < 1:
        parser.error("--requests and --rounds must be 1 or more")
    print(
        f"POST {OTP_PATH} in-process (the WSGI app called directly, SQLite, harness mode): "
        f"median of {args.rounds} rounds of {args.requests} requests per path"
    )
    with tempfile.TemporaryDirectory(prefix="twofa-request-cost-") as workdir:
        costs = measure(args.requests, args.rounds, Path(workdir))
    medians = {name: statistics.median(values) for name, values in costs.items()}
    labels = {
        "bare": "bare Flask endpoint",
        "wrong": "reference server, wrong code",
        "valid": "reference server, valid code",
    }
    for name, label in labels.items():
        values = costs[name]
        line = f"  {label:32} {medians[name]:6.3f} ms  [{min(values):.3f}-{max(values):.3f}]"
        if name != "bare":
            line += f"  {medians[name] / medians['bare']:5.1f}x the bare endpoint"
        print(line)
    return medians
