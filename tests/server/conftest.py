"""Fixtures for the reference server, flaskr style: app → client → api helper.

Every test runs twice, on SQLite and on PostgreSQL 15 (a throwaway cluster
started once per session, ``tests/postgres.py``), each time with its own
database and instance folder, a server clock standing at ``T0`` (set it,
never sleep), and the real embedded SMTP server (one per session; each app
points its captured mail at its own database).
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from reference_server.app import Services, create_app
from reference_server.clock import ServerClock
from reference_server.mail import EmbeddedSmtp
from simulators.hotp import CodeGenerator, decode_base32
from tests.postgres import Cluster
from tests.postgres import missing as postgres_missing

#: argon2id at its cheapest: the tests are about the flow, not the hash cost.
FAST_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}

#: A Unix time at the start of a 30-second step (56666667 * 30).
T0 = 1_700_000_010.0

#: A secret-encryption key for apps built outside harness mode (which require one).
PRODUCTION_KEY = Fernet.generate_key().decode()

ADMIN = ("admin@example.com", "password-admin")
V5 = ("v5@example.com", "password-v5")
RS = ("rs@example.com", "password-rs")
OTHER = ("other@example.com", "password-other")
ADMIN_RS = ("admin.rs@example.com", "password-admin-rs")

SEED: dict[str, Any] = {
    "agents": [
        {"email": ADMIN[0], "password": ADMIN[1], "seat": "account_admin", "role": "admin"},
        {"email": V5[0], "password": V5[1], "seat": "remote_support_v5", "role": "agent"},
        {"email": RS[0], "password": RS[1], "seat": "remote_support", "role": "agent"},
        {"email": OTHER[0], "password": OTHER[1], "seat": "rescue_lens", "role": "agent"},
        {"email": ADMIN_RS[0], "password": ADMIN_RS[1], "seat": "remote_support", "role": "admin"},
    ],
    "device_groups": [{"name": "Desk", "version": "4.3", "build": 1575}],
    "two_factor_required": True,
}


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[EmbeddedSmtp]:
    sink = EmbeddedSmtp("127.0.0.1", 0)
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def clock() -> ServerClock:
    server_clock = ServerClock()
    server_clock.set(T0)
    return server_clock


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL 15 cluster for the session (skipped, or in CI failed, without)."""
    problem = postgres_missing()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)  # CI must test PostgreSQL: never skip it there
        pytest.skip(problem)
    cluster = Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a database of the test cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    name = cluster.create_database()
    yield cluster.url(name)
    cluster.drop_database(name)


@pytest.fixture
def app_config(
    tmp_path: Path, smtp_sink: EmbeddedSmtp, clock: ServerClock, database_url: str
) -> dict[str, Any]:
    return {
        "TESTING": True,
        "HARNESS": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SMTP_SINK": smtp_sink,
        "CLOCK": clock,
        "PASSWORD_HASH": FAST_HASH,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(app_config)
    yield application
    application.extensions["twofa"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@contextmanager
def threaded_server(app: Flask) -> Iterator[BaseWSGIServer]:
    """``app`` behind a real threaded WSGI server on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def live_server(app: Flask) -> Iterator[BaseWSGIServer]:
    with threaded_server(app) as server:
        yield server


def post_json(
    port: int, path: str, body: dict[str, Any], token: str | None = None
) -> tuple[int, dict[str, Any]]:
    """One POST over a connection of its own: (status, JSON body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


T = TypeVar("T")


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in a thread of its own, released together by a barrier; the results."""
    barrier = threading.Barrier(len(calls))
    results: list[T] = []
    lock = threading.Lock()

    def run(call: Callable[[], T]) -> None:
        barrier.wait()
        result = call()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class Enrolled:
    """An agent who finished enrollment: the full token and a generator for its device."""

    def __init__(self, token: str, secret: bytes, generator: CodeGenerator) -> None:
        self.token = token
        self.secret = secret
        self.generator = generator


class Api:
    """Small helpers over the HTTP contract; every call goes through the test client."""

    def __init__(self, client: FlaskClient, app: Flask, clock: ServerClock) -> None:
        self.client = client
        self.app = app
        self.clock = clock

    @property
    def services(self) -> Services:
        found: Services = self.app.extensions["twofa"]
        return found

    # -- plumbing ---------------------------------------------------------------
    @staticmethod
    def headers(token: str | None = None, **extra: str) -> dict[str, str]:
        headers = {key.replace("_", "-"): value for key, value in extra.items()}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    @staticmethod
    def sent(response: Any) -> Any:
        """The response read and closed, as a WSGI server does once it is sent: what runs
        after the answer (the security notices' delivery, ``outbox``) has run."""
        response.get_data()
        response.close()
        return response

    def post(self, path: str, token: str | None = None, json: Any = None, **headers: str) -> Any:
        response = self.client.post(path, json=json, headers=self.headers(token, **headers))
        return self.sent(response)

    def get(self, path: str, token: str | None = None, **headers: str) -> Any:
        return self.sent(self.client.get(path, headers=self.headers(token, **headers)))

    def reset(self, seed: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/__harness__/reset", json=SEED if seed is None else seed)
        assert response.status_code == 200, response.json
        self.clock.set(T0)  # a reset goes back to real time; tests want the fixed T0
        result: dict[str, Any] = response.json
        return result

    def advance(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    # -- flow -------------------------------------------------------------------
    def sign_in(self, who: tuple[str, str], **headers: str) -> Any:
        return self.post(
            "/api/v1/auth/sign-in", json={"email": who[0], "password": who[1]}, **headers
        )

    def token(self, who: tuple[str, str], expect: str | None = None) -> str:
        response = self.sign_in(who)
        assert response.status_code == 200, response.json
        if expect is not None:
            assert response.json["next"] == expect
        token: str = response.json["token"]
        return token

    def mails(self, email: str) -> list[dict[str, Any]]:
        """The captured mails to ``email``, oldest first."""
        found: list[dict[str, Any]] = self.get(
            f"/__harness__/mailbox?{urlencode({'to': email})}"
        ).json
        return found

    def mail_code(self, email: str) -> str:
        """The code of the newest mail to ``email`` that carries one (notices carry none)."""
        mails = [m for m in self.mails(email) if m["code"]]
        assert mails, f"no mail with a code for {email}"
        code: str = mails[-1]["code"]
        return code

    def start(self, token: str, **headers: str) -> Any:
        return self.post("/api/v1/enrollment/start", token, **headers)

    def verify_email(self, token: str, code: Any) -> Any:
        return self.post("/api/v1/enrollment/email/verify", token, json={"code": code})

    def device(self, token: str, **headers: str) -> Any:
        return self.get("/api/v1/enrollment/device", token, **headers)

    def confirm(self, token: str, code: Any) -> Any:
        return self.post("/api/v1/enrollment/confirm", token, json={"code": code})

    def otp(self, token: str, code: Any) -> Any:
        return self.post("/api/v1/auth/otp", token, json={"code": code})

    def to_connect_device(self, token: str) -> CodeGenerator:
        """From a token that may start enrollment to the connect-device step."""
        email = self.get("/api/v1/me", token).json["email"]
        assert self.start(token).status_code == 202
        assert self.verify_email(token, self.mail_code(email)).status_code == 200
        device = self.device(token).json
        return CodeGenerator(
            decode_base32(device["manual_key"].replace(" ", "")),
            digits=device["digits"],
            algorithm=device["algorithm"],
            period=device["period"],
        )

    def enroll(self, who: tuple[str, str]) -> Enrolled:
        """Sign in, go through the whole wizard, confirm; the next step is fresh."""
        token = self.token(who, expect="enroll")
        generator = self.to_connect_device(token)
        response = self.confirm(token, generator.code_at(self.clock.now()))
        assert response.status_code == 200, response.json
        self.advance(generator.period)  # the setup step is used: sign-in needs the next code
        return Enrolled(response.json["token"], b"", generator)

    def code(self, generator: CodeGenerator, steps: int = 0) -> str:
        return generator.code_at(self.clock.now() + steps * generator.period)

    def wrong(self, generator: CodeGenerator) -> str:
        """A well-formed code that matches no step near now (nor any recorded drift)."""
        near = {self.code(generator, steps) for steps in range(-6, 7)}
        return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)

    def full_token(self, who: tuple[str, str], generator: CodeGenerator) -> str:
        partial = self.token(who, expect="verify_otp")
        response = self.otp(partial, self.code(generator))
        assert response.status_code == 200, response.json
        token: str = response.json["token"]
        return token

    def admin(self) -> str:
        return self.token(ADMIN, expect="done")


@pytest.fixture
def api(client: FlaskClient, app: Flask, clock: ServerClock) -> Api:
    helper = Api(client, app, clock)
    helper.reset()
    return helper


def error_code(response: Any) -> str:
    """The contract's error shape, checked, and its code."""
    body = response.json
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str)
    code: str = body["error"]["code"]
    return code
