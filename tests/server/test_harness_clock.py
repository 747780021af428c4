"""The harness clock in the database: shared by every app (worker) on one database.

Two apps built on one database stand for two worker processes: what one sets
through ``/__harness__/clock`` is what the other reads, a reset puts both back
to real time, and a request reads the clock row once however often it asks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from reference_server.app import create_app
from reference_server.clock import DatabaseClock, ServerClock

from .conftest import PRODUCTION_KEY, SEED


@pytest.fixture
def shared_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Harness mode with the clock it has when served (no in-memory test clock)."""
    return {**app_config, "CLOCK": None}


@pytest.fixture
def workers(shared_config: dict[str, Any]) -> Iterator[tuple[Flask, Flask]]:
    first, second = create_app(shared_config), create_app(shared_config)
    yield first, second
    for app in (first, second):
        app.extensions["twofa"].engine.dispose()


def clock_reads(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """Every read of the clock row by ``app``, as it happens."""
    clock = app.extensions["twofa"].clock
    read = clock._read
    seen: list[float | None] = []

    def counted(via: Any = None) -> float | None:
        seen.append(read(via))
        return seen[-1]

    monkeypatch.setattr(clock, "_read", counted)
    return seen


def test_harness_mode_keeps_its_clock_in_the_database(
    workers: tuple[Flask, Flask], shared_config: dict[str, Any]
) -> None:
    first, _ = workers
    assert isinstance(first.extensions["twofa"].clock, DatabaseClock)
    production = create_app({**shared_config, "HARNESS": False, "TWOFA_SECRET_KEY": PRODUCTION_KEY})
    assert type(production.extensions["twofa"].clock) is ServerClock
    production.extensions["twofa"].engine.dispose()


def test_what_one_worker_sets_the_other_reads(workers: tuple[Flask, Flask]) -> None:
    first, second = (app.test_client() for app in workers)
    assert first.put("/__harness__/clock", json={"now": 1_700_000_010}).json == {
        "now": 1_700_000_010.0
    }
    assert second.get("/__harness__/clock").json == {"now": 1_700_000_010.0}
    assert second.put("/__harness__/clock", json={"advance": 45}).json == {"now": 1_700_000_055.0}
    assert first.get("/__harness__/clock").json == {"now": 1_700_000_055.0}
    # a reset through either puts every worker back to real time
    assert second.post("/__harness__/reset", json=SEED).status_code == 200
    for client in (first, second):
        assert abs(client.get("/__harness__/clock").json["now"] - time.time()) < 600


def test_the_time_a_worker_set_decides_the_other_workers_flow(
    workers: tuple[Flask, Flask],
) -> None:
    first, second = (app.test_client() for app in workers)
    assert first.post("/__harness__/reset", json=SEED).status_code == 200
    assert first.put("/__harness__/clock", json={"now": 1_700_000_010}).status_code == 200
    signed = second.post(
        "/api/v1/auth/sign-in", json={"email": "admin@example.com", "password": "password-admin"}
    )
    assert signed.status_code == 200
    # the token was issued at the shared time: a move past its lifetime ends it everywhere
    token = signed.json["token"]
    assert first.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert second.put("/__harness__/clock", json={"advance": 13 * 3600}).status_code == 200
    answer = first.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_a_request_reads_the_clock_row_once(
    workers: tuple[Flask, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = workers
    client = first.test_client()
    assert client.post("/__harness__/reset", json=SEED).status_code == 200
    assert client.put("/__harness__/clock", json={"now": 1_700_000_010}).status_code == 200
    signed = client.post(
        "/api/v1/auth/sign-in", json={"email": "admin@example.com", "password": "password-admin"}
    )
    admin = {"Authorization": f"Bearer {signed.json['token']}"}
    reads = clock_reads(first, monkeypatch)
    clock = first.extensions["twofa"].clock
    now = clock.now
    asked: list[float] = []
    monkeypatch.setattr(clock, "now", lambda via=None: asked.append(now(via)) or asked[-1])
    assert client.get("/api/v1/admin/agents", headers=admin).status_code == 200
    assert len(asked) > 1  # listing agents asks the time more than once ...
    assert reads == [1_700_000_010.0]  # ... and the row is read once
    # the next request reads again: a move made meanwhile by another worker is seen
    second.test_client().put("/__harness__/clock", json={"now": 1_700_000_100})
    assert client.get("/__harness__/clock").json == {"now": 1_700_000_100.0}
    assert reads == [1_700_000_010.0, 1_700_000_100.0]


def test_outside_a_request_every_call_reads_the_row(workers: tuple[Flask, Flask]) -> None:
    first, second = (app.extensions["twofa"].clock for app in workers)
    assert first.set(1_700_000_010) == 1_700_000_010.0
    assert second.now() == 1_700_000_010.0
    assert second.frozen
    assert second.advance(30) == 1_700_000_040.0
    assert first.now() == 1_700_000_040.0
    first.reset()
    assert not second.frozen
    moved = second.advance(60)  # from real time
    assert abs(moved - (time.time() + 60)) < 5
    assert first.now() == moved
