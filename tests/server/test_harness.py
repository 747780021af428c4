"""Harness control endpoints, and their absence outside harness mode."""

from __future__ import annotations

from typing import Any

import pytest

from reference_server.app import create_app

from .conftest import PRODUCTION_KEY, SEED, V5, Api, error_code

HARNESS_CALLS = [
    ("get", "/__harness__/clock"),
    ("put", "/__harness__/clock"),
    ("get", "/__harness__/mailbox"),
    ("delete", "/__harness__/mailbox"),
    ("post", "/__harness__/reset"),
    ("get", "/__harness__/policy"),
]


def test_clock_set_and_advance(api: Api) -> None:
    assert api.client.get("/__harness__/clock").json == {"now": api.clock.now()}
    response = api.client.put("/__harness__/clock", json={"now": 2_000_000_000})
    assert response.status_code == 200
    assert response.json == {"now": 2_000_000_000}
    assert api.client.put("/__harness__/clock", json={"advance": 30.5}).json == {
        "now": 2_000_000_030.5
    }
    assert api.client.get("/__harness__/clock").json == {"now": 2_000_000_030.5}  # stands still


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"now": "soon"},
        {"now": True},
        {"now": -1},
        {"now": 1e300},
        {"now": 1, "advance": 1},
        {"advance": None},
        {"later": 5},
        [1],
    ],
)
def test_clock_rejects_malformed_bodies(api: Api, body: Any) -> None:
    before = api.clock.now()
    response = api.client.put("/__harness__/clock", json=body)
    assert response.status_code == 400
    assert error_code(response) == "malformed_request"
    assert api.clock.now() == before


def test_reset_puts_the_clock_back_to_real_time(api: Api) -> None:
    api.client.put("/__harness__/clock", json={"now": 5})
    response = api.client.post("/__harness__/reset", json={})
    assert response.status_code == 200
    assert not api.clock.frozen
    assert api.clock.now() > 1_700_000_000


def test_reset_with_a_seed_and_the_demo_seed(api: Api) -> None:
    loaded = api.client.post("/__harness__/reset", json=SEED).json
    assert [a["email"] for a in loaded["agents"]] == [a["email"] for a in SEED["agents"]]
    assert loaded["agents"][0]["password"] == SEED["agents"][0]["password"]
    assert loaded["two_factor_required"] is True
    demo = api.client.post("/__harness__/reset").json
    seats = {a["seat"] for a in demo["agents"]}
    assert {"remote_support_v5", "remote_support"} <= seats
    assert len(seats) >= 3
    assert any(a["role"] == "admin" for a in demo["agents"])
    builds = sorted((g["version"], g["build"]) for g in demo["device_groups"])
    assert ("4.3", 1574) in builds
    assert ("4.3", 1575) in builds
    assert builds[-1] > ("4.3", 1575)
    for agent in demo["agents"]:
        assert api.sign_in((agent["email"], agent["password"])).status_code == 200


def test_reset_refuses_2fa_with_outdated_groups(api: Api) -> None:
    seed = {**SEED, "device_groups": [{"name": "Old", "version": "4.3", "build": 1574}]}
    response = api.client.post("/__harness__/reset", json=seed)
    assert response.status_code == 409
    assert error_code(response) == "device_groups_outdated"
    assert api.sign_in(V5).status_code == 200  # the previous state is intact


def test_reset_clears_everything(api: Api) -> None:
    token = api.token(V5)
    api.start(token)
    api.reset()
    assert api.client.get("/__harness__/mailbox").json == []
    assert api.get("/api/v1/me", token).status_code == 401


def test_mailbox_filters_and_clears(api: Api) -> None:
    api.start(api.token(V5))
    api.start(api.token(("rs@example.com", "password-rs")))
    assert len(api.client.get("/__harness__/mailbox").json) == 2
    only = api.client.get("/__harness__/mailbox?to=RS@example.com").json
    assert [m["to"] for m in only] == ["rs@example.com"]
    assert api.client.delete("/__harness__/mailbox?to=rs@example.com").status_code == 204
    assert len(api.client.get("/__harness__/mailbox").json) == 1
    assert api.client.delete("/__harness__/mailbox").status_code == 204
    assert api.client.get("/__harness__/mailbox").json == []


@pytest.mark.parametrize(("method", "path"), HARNESS_CALLS)
def test_harness_paths_are_404_outside_harness_mode(
    app_config: dict[str, Any], method: str, path: str
) -> None:
    app = create_app({**app_config, "HARNESS": False, "TWOFA_SECRET_KEY": PRODUCTION_KEY})
    response = getattr(app.test_client(), method)(path, json={})
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    app.extensions["twofa"].engine.dispose()


def test_harness_refuses_non_loopback_callers(api: Api) -> None:
    response = api.client.get("/__harness__/policy", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 404
