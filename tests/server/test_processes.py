"""Concurrency across processes: 2 gunicorn masters x 2 workers on one PostgreSQL 15.

Replay protection, the second factor's lock and the email code's attempts are
decided in the database (conditional updates under a row lock), so they hold
however requests are spread over processes: 200 simultaneous submissions of one
valid code are accepted exactly once, and wrong codes (TOTP or email) lock at
exactly the declared count. Every request of a burst goes to one master or the
other in turn, and each master's kernel queue hands it to one of its workers.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from simulators.hotp import CodeGenerator
from simulators.otpauth import parse_uri
from tests.postgres import Cluster
from tests.processes import children

from .servers import Server, base_env, call, start

T0 = 2_000_000_010.0
EMAIL, PASSWORD = "burst.agent@example.com", "burst-agent-password"
SEED = {
    "agents": [
        {"email": EMAIL, "password": PASSWORD, "seat": "remote_support_v5", "role": "agent"}
    ],
    "device_groups": [{"name": "Desk", "version": "4.3", "build": 1575}],
    "two_factor_required": True,
}
BURST = 200


def answer(status: int, body: Any) -> str:
    """``200`` or ``401 otp_invalid``: what a submission came to."""
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    return f"{status} {code}" if code else str(status)


@pytest.fixture
def masters(postgres_cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two harness masters of 2 workers each on one fresh PostgreSQL database, seeded."""
    name = postgres_cluster.create_database()
    env = base_env(tmp_path, DATABASE_URL=postgres_cluster.url(name))
    args = ["--harness", "--workers", "2", "--password-cost", "test"]
    # One after the other: the first seeds the empty database, the second finds it seeded.
    first = start(args, env, tmp_path)
    second = start(args, env, tmp_path)
    try:
        for server in (first, second):
            assert len(children(server.pid)) == 2  # two worker processes each
        assert call(first, "POST", "/__harness__/reset", SEED)[0] == 200
        # The clock a reset left is the database's: set through one master, read by both.
        assert call(first, "PUT", "/__harness__/clock", {"now": T0})[0] == 200
        assert call(second, "GET", "/__harness__/clock")[1]["now"] == T0
        yield first, second
    finally:
        for server in (first, second):
            server.stop()
        postgres_cluster.drop_database(name)


def sign_in(server: Server) -> tuple[str, str]:
    status, body = call(
        server, "POST", "/api/v1/auth/sign-in", {"email": EMAIL, "password": PASSWORD}
    )
    assert status == 200, body
    return str(body["token"]), str(body["next"])


def enroll(first: Server, second: Server) -> CodeGenerator:
    """The agent enrolled, each call through one master or the other."""
    token, stage = sign_in(first)
    assert stage == "enroll"
    assert call(second, "POST", "/api/v1/enrollment/start", token=token)[0] == 202
    _, mails = call(first, "GET", f"/__harness__/mailbox?to={quote(EMAIL)}")
    code = [m for m in mails if m["code"]][-1]["code"]
    status, _ = call(second, "POST", "/api/v1/enrollment/email/verify", {"code": code}, token)
    assert status == 200
    _, device = call(first, "GET", "/api/v1/enrollment/device", token=token)
    generator = CodeGenerator(parse_uri(device["otpauth_uri"]).key())
    status, _ = call(
        second, "POST", "/api/v1/enrollment/confirm", {"code": generator.code_at(T0)}, token
    )
    assert status == 200
    return generator


def burst(requests: list[tuple[Server, str, str, Any, str]]) -> Counter[str]:
    """Every request at once (one thread each, released together): the answers, counted."""
    barrier = threading.Barrier(len(requests))

    def one(request: tuple[Server, str, str, Any, str]) -> str:
        server, method, path, body, token = request
        barrier.wait()
        return answer(*call(server, method, path, body, token))

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return Counter(pool.map(one, requests))


def test_one_valid_code_from_200_clients_across_processes_is_accepted_once(
    masters: tuple[Server, Server],
) -> None:
    first, second = masters
    generator = enroll(first, second)
    at = T0 + 60
    assert call(first, "PUT", "/__harness__/clock", {"now": at})[0] == 200
    servers = [first if n % 2 == 0 else second for n in range(BURST)]
    tokens = [sign_in(server)[0] for server in servers]
    code = generator.code_at(at)
    answers = burst(
        [
            (s, "POST", "/api/v1/auth/otp", {"code": code}, t)
            for s, t in zip(servers, tokens, strict=True)
        ]
    )
    assert answers["200"] == 1, answers
    assert sum(answers.values()) == BURST
    assert all(not key.startswith("5") for key in answers), answers


def test_wrong_codes_across_processes_lock_at_exactly_max_failures(
    masters: tuple[Server, Server],
) -> None:
    first, second = masters
    generator = enroll(first, second)
    policy = call(first, "GET", "/__harness__/policy")[1]
    max_failures = policy["throttle"]["max_failures"]
    at = T0 + 60
    assert call(second, "PUT", "/__harness__/clock", {"now": at})[0] == 200
    near = {generator.code_at(at + 30 * k) for k in range(-3, 4)}
    wrong = next(c for c in (str(n).zfill(6) for n in range(10**6)) if c not in near)
    sessions = 4 * max_failures
    servers = [first if n % 2 == 0 else second for n in range(sessions)]
    tokens = [sign_in(server)[0] for server in servers]
    answers = burst(
        [
            (s, "POST", "/api/v1/auth/otp", {"code": wrong}, t)
            for s, t in zip(servers, tokens, strict=True)
        ]
    )
    assert answers == Counter(
        {"401 otp_invalid": max_failures, "423 otp_locked": sessions - max_failures}
    )
    # Locked, then, for the right code too, through either master.
    status, body = call(
        first, "POST", "/api/v1/auth/otp", {"code": generator.code_at(at)}, tokens[1]
    )
    assert answer(status, body) == "423 otp_locked"


def test_wrong_email_codes_across_processes_stop_at_exactly_max_attempts(
    masters: tuple[Server, Server],
) -> None:
    first, second = masters
    policy = call(first, "GET", "/__harness__/policy")[1]
    max_attempts = policy["email_code"]["max_attempts"]
    token, _ = sign_in(first)
    assert call(second, "POST", "/api/v1/enrollment/start", token=token)[0] == 202
    _, mails = call(first, "GET", f"/__harness__/mailbox?to={quote(EMAIL)}")
    right = [m for m in mails if m["code"]][-1]["code"]
    wrong = str((int(right) + 1) % 10**6).zfill(6)
    tries = 4 * max_attempts
    answers = burst(
        [
            (
                first if n % 2 == 0 else second,
                "POST",
                "/api/v1/enrollment/email/verify",
                {"code": wrong},
                token,
            )
            for n in range(tries)
        ]
    )
    assert answers == Counter(
        {"401 email_code_invalid": max_attempts, "429 too_many_attempts": tries - max_attempts}
    )
    # The code's attempts are spent, for the right code too.
    status, body = call(second, "POST", "/api/v1/enrollment/email/verify", {"code": right}, token)
    assert answer(status, body) == "429 too_many_attempts"
