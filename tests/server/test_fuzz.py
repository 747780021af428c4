"""Hypothesis: malformed bodies, headers and codes to every endpoint.

Whatever arrives: never a 5xx, every error in the contract's JSON shape, and
the stored state (every table, and the clock) exactly as before.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from reference_server.models import Base

from .conftest import Api

AGENTS = [f"a{i}@example.com" for i in range(6)]
FUZZ_SEED: dict[str, Any] = {
    "agents": [
        {
            "email": "admin@example.com",
            "password": "password-admin",
            "seat": "ops",
            "role": "admin",
        },
        *[
            {"email": e, "password": "password-agent", "seat": "remote_support", "role": "agent"}
            for e in AGENTS
        ],
    ],
    "device_groups": [{"name": "Desk", "version": "4.3", "build": 1575}],
    "two_factor_required": True,
}

#: (method, path, fields the call expects) for every endpoint of the contract.
ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("post", "/api/v1/auth/sign-in", {"email": "str", "password": "str"}),
    ("post", "/api/v1/auth/otp", {"code": "code"}),
    ("post", "/api/v1/auth/sign-out", {}),
    ("get", "/api/v1/me", {}),
    ("post", "/api/v1/enrollment/start", {}),
    ("post", "/api/v1/enrollment/email/resend", {}),
    ("post", "/api/v1/enrollment/email/verify", {"code": "code"}),
    ("get", "/api/v1/enrollment/device", {}),
    ("post", "/api/v1/enrollment/confirm", {"code": "code"}),
    ("post", "/api/v1/support-sessions", {}),
    ("get", "/api/v1/admin/settings", {}),
    ("put", "/api/v1/admin/settings", {"two_factor_required": "bool"}),
    ("get", "/api/v1/admin/device-groups", {}),
    ("post", "/api/v1/admin/device-groups", {"name": "str", "version": "str", "build": "int"}),
    ("patch", "/api/v1/admin/device-groups/1", {"version": "str", "build": "int"}),
    ("get", "/api/v1/admin/agents", {}),
    (
        "post",
        "/api/v1/admin/agents",
        {"email": "str", "password": "str", "seat": "str", "role": "str"},
    ),
    ("post", "/api/v1/admin/agents/2/unlock", {}),
    ("patch", "/api/v1/admin/agents/2", {}),
    ("get", "/api/v1/openapi.json", {}),
    ("put", "/__harness__/clock", {"now": "num", "advance": "num"}),
    ("post", "/__harness__/reset", {"agents": "list", "device_groups": "list"}),
]

_DIGITS = "0123456789"

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
other_digits = st.text(
    alphabet=st.characters(categories=["Nd"]).filter(lambda c: c not in _DIGITS),
    min_size=1,
    max_size=8,
)
malformed_codes = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
    st.lists(st.text(_DIGITS, min_size=6, max_size=6), max_size=2),
    st.text(max_size=12),
    st.text(_DIGITS, max_size=20),
    other_digits,
    st.sampled_from(
        [
            "\uff11\uff12\uff13\uff14\uff15\uff16",
            "\u0661\u0662\u0663\u0664\u0665\u0666",
            "\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6",
            "\u0967\u0968\u0969\u096a\u096b\u096c",
            "12 3456",
            " 123456",
            "123456 ",
        ]
    ),
    st.builds(lambda n: "1" * n, st.integers(min_value=1000, max_value=70_000)),
).filter(lambda c: not (isinstance(c, str) and len(c) in (6, 8) and set(c) <= set(_DIGITS)))


def wrong_type(kind: str) -> st.SearchStrategy[Any]:
    """A JSON value that is *not* of the expected kind."""
    checks = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "num": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "code": lambda v: False,
    }
    if kind == "code":
        return malformed_codes
    return json_values.filter(lambda v: not checks[kind](v))


def bodies(expected: dict[str, str]) -> st.SearchStrategy[bytes]:
    """Malformed bodies for a call: never one it could accept."""
    not_objects = json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: json.dumps(v).encode()
    )
    garbage = st.binary(min_size=1, max_size=64).filter(_not_json_object)
    unknown_key = st.dictionaries(st.text(max_size=6), json_values, max_size=3).map(
        lambda d: json.dumps({**d, "zz-unknown": 1}).encode()
    )
    strategies = [not_objects, garbage, unknown_key, st.just(b"[" * 3000 + b"]" * 3000)]
    if expected:
        strategies.append(
            st.sampled_from(sorted(expected))
            .flatmap(lambda key: st.fixed_dictionaries({key: wrong_type(expected[key])}))
            .map(lambda d: json.dumps(d).encode())
        )
    return st.one_of(*strategies)


def _not_json_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict) and bool(raw.strip())
    except ValueError:
        return bool(raw.strip())


header_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
    max_size=40,
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "X-Client-Kind": st.one_of(header_text, st.sampled_from(["web", "desktop", "mobile"])),
        "X-Client-Version": st.one_of(
            header_text,
            st.sampled_from(
                ["4.3.1575", "\u0664.\u0663.\u0661\u0665\u0667\u0665", "4.3.1574", "", "4.3"]
            ),
        ),
    },
)


class World:
    """Tokens at every stage, on a seeded database; and a snapshot of everything stored."""

    def __init__(self, api: Api) -> None:
        self.api = api
        api.reset(FUZZ_SEED)
        login = ("a0@example.com", "password-agent")
        enrolled = api.enroll(login)
        api.advance(30)
        self.tokens: dict[str, str | None] = {
            "none": None,
            "garbage": "x" * 43,
            "enroll": api.token((AGENTS[1], "password-agent"), expect="enroll"),
            "full": api.full_token(login, enrolled.generator),
            "verify_otp": api.token(login, expect="verify_otp"),
            "admin": api.admin(),
        }
        verify_email = api.token((AGENTS[2], "password-agent"))
        api.start(verify_email)
        self.tokens["verify_email"] = verify_email
        connect = api.token((AGENTS[3], "password-agent"))
        api.to_connect_device(connect)
        self.tokens["connect_device"] = connect

    def snapshot(self) -> dict[str, Any]:
        with self.api.services.engine.connect() as connection:
            tables = {
                table.name: sorted(
                    repr(tuple(row))
                    for row in connection.execute(text(f"SELECT * FROM {table.name}"))  # noqa: S608
                )
                for table in Base.metadata.sorted_tables
            }
        return {"tables": tables, "clock": self.api.clock.now()}


@pytest.fixture
def world(api: Api) -> World:
    return World(api)


def _check(
    world: World, method: str, path: str, body: bytes, token_name: str, extra: dict[str, str]
) -> None:
    before = world.snapshot()
    request_headers = dict(extra)
    token = world.tokens[token_name]
    if token is not None:
        request_headers["Authorization"] = f"Bearer {token}"
    response = getattr(world.api.client, method)(path, data=body, headers=request_headers)
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    if response.status_code >= 400:
        payload = response.get_json(silent=True)
        assert isinstance(payload, dict), payload
        assert set(payload) == {"error"}, payload
        assert isinstance(payload["error"].get("code"), str)
        assert isinstance(payload["error"].get("message"), str)
    assert world.snapshot() == before, (method, path, response.status_code)


FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(
    ("method", "path", "expected"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
@FUZZ
@given(data=st.data())
def test_malformed_requests_change_nothing(
    world: World, method: str, path: str, expected: dict[str, str], data: st.DataObject
) -> None:
    body = data.draw(bodies(expected), label="body")
    token_name = data.draw(st.sampled_from(sorted(world.tokens)), label="token")
    extra = data.draw(headers, label="headers")
    _check(world, method, path, body, token_name, extra)


CODE_CALLS = {
    "/api/v1/auth/otp": "verify_otp",
    "/api/v1/enrollment/email/verify": "verify_email",
    "/api/v1/enrollment/confirm": "connect_device",
}


@pytest.mark.parametrize("path", sorted(CODE_CALLS))
@settings(FUZZ, max_examples=80)
@given(code=malformed_codes)
def test_malformed_codes_are_400_and_not_attempts(world: World, path: str, code: Any) -> None:
    before = world.snapshot()
    token = world.tokens[CODE_CALLS[path]]
    response = world.api.post(path, token, json={"code": code})
    # a code too long for the 64 KiB body limit is refused before it is read
    expected = (
        (413, "payload_too_large") if response.status_code == 413 else (400, "malformed_code")
    )
    assert (response.status_code, response.json["error"]["code"]) == expected
    assert world.snapshot() == before
