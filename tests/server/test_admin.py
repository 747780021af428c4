"""Admin: the 2FA setting and its version gating, device groups, agents, roles."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ADMIN, ADMIN_RS, OTHER, SEED, V5, Api, error_code


def _seed(two_factor: bool, groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {**SEED, "two_factor_required": two_factor, "device_groups": groups}


def _put(api: Api, token: str, value: Any) -> Any:
    return api.client.put(
        "/api/v1/admin/settings", json={"two_factor_required": value}, headers=api.headers(token)
    )


def _patch(api: Api, token: str, group_id: int, body: Any) -> Any:
    return api.client.patch(
        f"/api/v1/admin/device-groups/{group_id}", json=body, headers=api.headers(token)
    )


def test_settings_read(api: Api) -> None:
    response = api.get("/api/v1/admin/settings", api.admin())
    assert response.status_code == 200
    assert response.json == {
        "two_factor_required": True,
        "minimum_client": {"version": "4.3", "build": 1575},
    }


@pytest.mark.parametrize(
    ("version", "build", "allowed"),
    [
        ("4.3", 1574, False),
        ("4.3", 1575, True),
        ("4.3", 1576, True),
        ("4.4", 0, True),
        ("4.2", 9999, False),
        ("5.0", 0, True),
        ("3.9", 99999, False),
    ],
)
def test_turning_2fa_on_is_gated_by_every_group(
    api: Api, version: str, build: int, allowed: bool
) -> None:
    groups = [
        {"name": "Desk", "version": "4.3", "build": 1575},
        {"name": "Probe", "version": version, "build": build},
    ]
    seeded = api.reset(_seed(False, groups))
    admin = api.admin()
    response = _put(api, admin, True)
    if allowed:
        assert response.status_code == 200
        assert response.json["two_factor_required"] is True
    else:
        assert response.status_code == 409
        assert error_code(response) == "device_groups_outdated"
        error = response.json["error"]
        probe = seeded["device_groups"][1]
        assert error["groups"] == [probe]
        assert error["minimum"] == {"version": "4.3", "build": 1575}
        assert "Probe" in error["message"]
        assert api.get("/api/v1/admin/settings", admin).json["two_factor_required"] is False


def test_fix_the_outdated_group_then_turn_2fa_on(api: Api) -> None:
    groups = [
        {"name": "Old", "version": "4.3", "build": 1574},
        {"name": "Older", "version": "4.2", "build": 2000},
        {"name": "New", "version": "4.4", "build": 1},
    ]
    seeded = api.reset(_seed(False, groups))
    admin = api.admin()
    response = _put(api, admin, True)
    assert [g["name"] for g in response.json["error"]["groups"]] == ["Old", "Older"]
    for group in seeded["device_groups"][:2]:
        assert _patch(api, admin, group["id"], {"version": "4.3", "build": 1575}).status_code == 200
    assert _put(api, admin, True).status_code == 200
    assert _put(api, admin, False).json["two_factor_required"] is False


@pytest.mark.parametrize(
    ("version", "build", "status"),
    [("4.3", 1574, 409), ("4.3", 1575, 201), ("4.4", 0, 201), ("4.2", 9999, 409), ("5.0", 0, 201)],
)
def test_no_group_below_the_minimum_while_2fa_is_on(
    api: Api, version: str, build: int, status: int
) -> None:
    admin = api.admin()
    body = {"name": "New", "version": version, "build": build}
    response = api.post("/api/v1/admin/device-groups", admin, json=body)
    assert response.status_code == status
    if status == 409:
        assert error_code(response) == "device_group_below_minimum"
        assert response.json["error"]["minimum"] == {"version": "4.3", "build": 1575}
    else:
        assert response.json == {"id": response.json["id"], **body}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"build": 1574}, 409),
        ({"version": "4.2"}, 409),
        ({"version": "4.4", "build": 0}, 200),
        ({"build": 1576}, 200),
        ({}, 200),
    ],
)
def test_no_group_moved_below_the_minimum_while_2fa_is_on(
    api: Api, body: dict[str, Any], status: int
) -> None:
    admin = api.admin()
    group = api.get("/api/v1/admin/device-groups", admin).json[0]
    response = _patch(api, admin, group["id"], body)
    assert response.status_code == status
    if status == 409:
        assert error_code(response) == "device_group_below_minimum"
        assert api.get("/api/v1/admin/device-groups", admin).json[0] == group


def test_groups_below_minimum_are_fine_while_2fa_is_off(api: Api) -> None:
    api.reset(_seed(False, []))
    admin = api.admin()
    created = api.post(
        "/api/v1/admin/device-groups", admin, json={"name": "Old", "version": "4.0", "build": 1}
    )
    assert created.status_code == 201
    assert _patch(api, admin, created.json["id"], {"build": 0}).status_code == 200


def test_patch_unknown_group_is_404(api: Api) -> None:
    admin = api.admin()
    for group_id in (999, 2**40):
        response = _patch(api, admin, group_id, {"build": 1600})
        assert response.status_code == 404
        assert error_code(response) == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "version": "4.3.1", "build": 1575},
        {"name": "X", "version": "4", "build": 1575},
        {"name": "X", "version": "4.03", "build": 1575},
        {"name": "X", "version": "\u0664.\u0663", "build": 1575},
        {"name": "X", "version": "\uff14.\uff13", "build": 1575},
        {"name": "X", "version": " 4.3", "build": 1575},
        {"name": "X", "version": "+4.3", "build": 1575},
        {"name": "X", "version": "4.3", "build": -1},
        {"name": "X", "version": "4.3", "build": 10**12},
    ],
)
def test_malformed_group_versions_are_400(api: Api, body: dict[str, Any]) -> None:
    response = api.post("/api/v1/admin/device-groups", api.admin(), json=body)
    assert response.status_code == 400
    assert error_code(response) == "malformed_version"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "version": 4.3, "build": 1575},
        {"name": "X", "version": "4.3", "build": "1575"},
        {"name": "X", "version": "4.3", "build": True},
        {"name": "X", "version": "4.3", "build": 1575.5},
        {"name": "", "version": "4.3", "build": 1575},
        {"name": "   ", "version": "4.3", "build": 1575},
        {"name": "tab\there", "version": "4.3", "build": 1575},
        {"version": "4.3", "build": 1575},
        {"name": "X", "version": "4.3", "build": 1575, "extra": 1},
    ],
)
def test_malformed_group_bodies_are_400(api: Api, body: dict[str, Any]) -> None:
    response = api.post("/api/v1/admin/device-groups", api.admin(), json=body)
    assert response.status_code == 400
    assert error_code(response) == "malformed_request"


def test_a_build_is_a_json_integer_as_json_schema_reads_it(api: Api) -> None:
    """1575.0 is the integer 1575 (JSON has one kind of number); names lose their spaces."""
    body = {"name": "  Desk 2 ", "version": "4.3", "build": 1575.0}
    response = api.post("/api/v1/admin/device-groups", api.admin(), json=body)
    assert response.status_code == 201, response.json
    assert (response.json["name"], response.json["build"]) == ("Desk 2", 1575)
    assert isinstance(response.json["build"], int)


def test_agents_list_and_create(api: Api) -> None:
    admin = api.admin()
    agents = api.get("/api/v1/admin/agents", admin).json
    assert [a["email"] for a in agents] == [a["email"] for a in SEED["agents"]]
    assert all("password" not in a and "password_hash" not in a for a in agents)
    body = {
        "email": "New@Example.com",
        "password": "long-enough",
        "seat": "remote_support",
        "role": "agent",
    }
    created = api.post("/api/v1/admin/agents", admin, json=body)
    assert created.status_code == 201
    assert created.json["email"] == "new@example.com"
    assert created.json["seat"] == "remote_support"
    assert created.json["two_factor"]["required"] is True
    assert api.sign_in(("new@example.com", "long-enough")).json["next"] == "enroll"
    again = api.post("/api/v1/admin/agents", admin, json={**body, "email": "NEW@example.com"})
    assert again.status_code == 409
    assert error_code(again) == "email_taken"


@pytest.mark.parametrize(
    "change",
    [
        {"email": "not-an-email"},
        {"password": "short"},
        {"seat": "Remote Support"},
        {"role": "root"},
        {"role": 1},
    ],
)
def test_create_agent_validation(api: Api, change: dict[str, Any]) -> None:
    body = {"email": "x@example.com", "password": "long-enough", "seat": "other", "role": "agent"}
    response = api.post("/api/v1/admin/agents", api.admin(), json={**body, **change})
    assert response.status_code == 400
    assert error_code(response) == "malformed_request"


def test_admin_endpoints_need_an_admin(api: Api) -> None:
    agent = api.token(OTHER, expect="done")
    for method, path in [
        ("get", "/api/v1/admin/settings"),
        ("get", "/api/v1/admin/device-groups"),
        ("get", "/api/v1/admin/agents"),
    ]:
        response = getattr(api.client, method)(path, headers=api.headers(agent))
        assert response.status_code == 403
        assert error_code(response) == "forbidden"
    assert error_code(_put(api, agent, False)) == "forbidden"
    assert error_code(api.get("/api/v1/admin/settings")) == "unauthenticated"


def test_admin_on_a_remote_support_seat_needs_the_second_factor(api: Api) -> None:
    partial = api.token(ADMIN_RS, expect="enroll")
    response = api.get("/api/v1/admin/settings", partial)
    assert response.status_code == 403
    assert error_code(response) == "second_factor_required"
    enrolled = api.enroll(ADMIN_RS)
    assert api.get("/api/v1/admin/settings", enrolled.token).status_code == 200


def test_turning_2fa_on_demotes_existing_sessions(api: Api) -> None:
    api.reset(_seed(False, SEED["device_groups"]))
    agent = api.token(V5, expect="done")
    assert api.post("/api/v1/support-sessions", agent, json={}).status_code == 201
    assert _put(api, api.admin(), True).status_code == 200
    response = api.post("/api/v1/support-sessions", agent, json={})
    assert response.status_code == 403
    assert error_code(response) == "second_factor_required"
    assert api.get("/api/v1/me", agent).status_code == 200  # demoted, not ended
    # the demoted agent can enroll from that session
    generator = api.to_connect_device(agent)
    confirmed = api.confirm(agent, api.code(generator))
    assert api.post("/api/v1/support-sessions", confirmed.json["token"], json={}).status_code == 201
    # other seats are not affected
    assert api.sign_in(OTHER).json["next"] == "done"
    assert ADMIN


def _move(api: Api, token: str, agent_id: Any, body: Any) -> Any:
    return api.client.patch(
        f"/api/v1/admin/agents/{agent_id}", json=body, headers=api.headers(token)
    )


def _agent_id(api: Api, admin: str, email: str) -> int:
    agents = api.get("/api/v1/admin/agents", admin).json
    return next(int(a["id"]) for a in agents if a["email"] == email)


def test_moving_an_agent_off_the_remote_support_seats_lifts_2fa(api: Api) -> None:
    admin = api.admin()
    assert api.sign_in(V5).json["next"] == "enroll"
    moved = _move(api, admin, _agent_id(api, admin, V5[0]), {"seat": "rescue_lens"})
    assert moved.status_code == 200
    assert moved.json["seat"] == "rescue_lens"
    assert moved.json["two_factor"]["required"] is False
    token = api.token(V5, expect="done")
    assert api.post("/api/v1/support-sessions", token, json={}).status_code == 201


def test_moving_an_agent_onto_a_remote_support_seat_demotes_its_session(api: Api) -> None:
    admin = api.admin()
    token = api.token(OTHER, expect="done")
    assert api.post("/api/v1/support-sessions", token, json={}).status_code == 201
    moved = _move(api, admin, _agent_id(api, admin, OTHER[0]), {"seat": "remote_support"})
    assert moved.json["two_factor"]["required"] is True
    hosted = api.post("/api/v1/support-sessions", token, json={})
    assert hosted.status_code == 403
    assert error_code(hosted) == "second_factor_required"
    assert api.sign_in(OTHER).json["next"] == "enroll"


def test_agent_role_changes_but_an_admin_keeps_its_own(api: Api) -> None:
    admin = api.admin()
    other = _agent_id(api, admin, OTHER[0])
    promoted = _move(api, admin, other, {"role": "admin"})
    assert promoted.status_code == 200
    assert promoted.json["role"] == "admin"
    own = _move(api, admin, _agent_id(api, admin, ADMIN[0]), {"role": "agent"})
    assert own.status_code == 409
    assert error_code(own) == "own_role_unchangeable"
    assert api.get("/api/v1/admin/settings", admin).status_code == 200  # still an admin


@pytest.mark.parametrize(
    ("agent_id", "body", "status", "code"),
    [
        (999, {"seat": "remote_support"}, 404, "not_found"),
        (2**40, {"seat": "remote_support"}, 404, "not_found"),
        (1, {"seat": "Remote Support"}, 400, "malformed_request"),
        (1, {"role": "root"}, 400, "malformed_request"),
        (1, {"seat": 5}, 400, "malformed_request"),
        (1, {"email": "x@example.com"}, 400, "malformed_request"),
        (1, [], 400, "malformed_request"),
    ],
)
def test_bad_agent_changes_are_4xx(
    api: Api, agent_id: int, body: Any, status: int, code: str
) -> None:
    response = _move(api, api.admin(), agent_id, body)
    assert response.status_code == status
    assert error_code(response) == code


def test_only_an_admin_moves_agents(api: Api) -> None:
    agent = api.token(OTHER, expect="done")
    response = _move(api, agent, 1, {"seat": "remote_support"})
    assert response.status_code == 403
    assert error_code(response) == "forbidden"
