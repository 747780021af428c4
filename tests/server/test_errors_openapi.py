"""The JSON error shape everywhere, and the OpenAPI document checked against the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference_server
from reference_server import declarations
from reference_server.app import create_app
from reference_server.blueprints.openapi import ENDPOINTS, Body
from reference_server.errors import ERRORS, ApiError, is_api_path
from reference_server.verification import EmailCheck, Outcome

from .conftest import OTHER, Api, error_code

PACKAGE = Path(reference_server.__file__).parent


def test_404_405_413_and_500_are_json(api: Api, app_config: dict[str, Any]) -> None:
    """On API paths; the web pages answer the same errors as HTML (test_web)."""
    response = api.client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
    response = api.client.get("/api/v1/auth/sign-in")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    response = api.client.post("/api/v1/auth/sign-in", data=b"x" * (65 * 1024))
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"

    def boom() -> str:
        raise RuntimeError("kaboom")

    fresh = create_app(app_config)
    fresh.add_url_rule("/api/v1/boom", view_func=boom)
    response = fresh.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    assert "kaboom" not in response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    fresh.extensions["twofa"].engine.dispose()


def test_invalid_json_is_malformed_request(api: Api) -> None:
    for raw in (b"{", b"[", b"\xff\xfe", b'{"email": NaN}', b"[" * 5000 + b"]" * 5000):
        response = api.client.post("/api/v1/auth/sign-in", data=raw)
        assert response.status_code == 400
        assert error_code(response) == "malformed_request"


def _route_paths(app: Flask, *, api: bool = True) -> set[tuple[str, str]]:
    """The app's (path, method) pairs of the JSON API (``api``) or of the web pages."""
    found = set()
    for rule in app.url_map.iter_rules():
        if is_api_path(rule.rule) != api:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", "{id}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found.add((path, method.lower()))
    return found


def test_openapi_describes_every_route_and_nothing_else(api: Api, app: Flask) -> None:
    document = api.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert _route_paths(app) == documented  # harness mode: /__harness__ included
    web = _route_paths(app, api=False)
    assert ("/sign-in", "post") in web  # the pages are routes, but not part of the JSON API
    assert not {path for path, _ in web} & set(document["paths"])


def _emitted_codes() -> set[str]:
    """Every error code the package can emit: ApiError literals, enum values, HTTP mapping."""
    codes: set[str] = {o.value for o in Outcome if o is not Outcome.ACCEPTED}
    codes |= {c.value for c in EmailCheck if c is not EmailCheck.ACCEPTED}
    for source in PACKAGE.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ApiError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(node.args[0].value)
    from reference_server.errors import _HTTP_CODES

    codes |= set(_HTTP_CODES.values()) | {"internal_error"}
    return codes


def test_every_emitted_error_code_is_registered_and_documented(api: Api) -> None:
    document: dict[str, Any] = api.get("/api/v1/openapi.json").json
    documented: set[str] = set()
    for operations in document["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                documented |= set(response.get("x-error-codes", []))
    emitted = _emitted_codes()
    assert emitted <= set(ERRORS)
    assert emitted <= documented
    assert set(ERRORS) <= documented
    schema_codes = document["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(schema_codes["properties"]["code"]["enum"]) == set(ERRORS)


def test_documented_statuses_match_the_registry(api: Api) -> None:
    document = api.get("/api/v1/openapi.json").json
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                for code in response.get("x-error-codes", []):
                    assert ERRORS[code][0] == int(status)


def test_openapi_declares_the_choices(api: Api) -> None:
    document = api.get("/api/v1/openapi.json", X_Client_Kind="desktop", X_Client_Version="1.0.0")
    assert document.status_code == 200  # not version-gated
    text = document.json["info"]["description"]
    for phrase in ("demotes", "account_locked", "reused codes count", "ends the agent's other"):
        assert phrase in text
    assert document.json["x-policy"]["sessions"]["on_two_factor_enabled"] == "demote"
    assert OTHER


# -- the document states what the server checks: one declaration for both --------------

LENGTHS = declarations.CodeLengths(email=6, totp=6)


def _accepts(spec: declarations.Field, value: Any) -> bool:
    """Whether the server's check lets ``value`` through (any ApiError is a refusal)."""
    try:
        if isinstance(spec, declarations.Code):
            spec.check("value", value, spec.digits(LENGTHS))
        elif isinstance(spec, declarations.Object):
            spec.check("value", value, digits=6)
        else:
            spec.check("value", value)
    except ApiError:
        return False
    return True


_ANY_CHAR = st.characters(codec="utf-8")  # no lone surrogates: JSON Schema has no such string
_TRICKY = st.sampled_from([" ", "\x00", "\n", "\t", "\x1f", "\x7f", "\x85", "\u3000", "K"])
_TEXT = st.one_of(
    st.text(_ANY_CHAR, max_size=12),
    st.text(st.one_of(_ANY_CHAR, _TRICKY), max_size=12),
    st.lists(_TRICKY, max_size=4).map("".join),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)


def _around(text: str) -> st.SearchStrategy[str]:
    """Near misses of a value: characters around it, a character changed, a case changed."""
    return st.one_of(
        st.just(text),
        st.tuples(_TEXT, _TEXT).map(lambda ab: ab[0] + text + ab[1]),
        st.just(text.upper()),
        st.just(text + "\n"),
        st.integers(0, max(0, len(text) - 1)).flatmap(
            lambda i: _TEXT.map(lambda c: text[:i] + c + text[i + 1 :])
        ),
    )


def values(spec: declarations.Field) -> st.SearchStrategy[Any]:
    """Values to try on a declaration: what it should take, near misses, and anything."""
    if isinstance(spec, declarations.Text):
        good = (
            st.sampled_from(spec.choices)
            if spec.choices
            else st.from_regex(spec.pattern, fullmatch=True).filter(lambda s: "\x00" not in s)
        )
        long = st.integers(
            max(0, (spec.max_length or 16) - 2), (spec.max_length or 16) + 2
        ).flatmap(lambda n: good.map(lambda s: (s * (n // max(1, len(s)) + 1))[:n]))
        return st.one_of(good, good.flatmap(_around), long, _SCALARS)
    if isinstance(spec, declarations.Integer):
        edges = st.sampled_from([spec.minimum, spec.maximum]).flatmap(
            lambda e: st.integers(e - 2, e + 2)
        )
        return st.one_of(edges, edges.map(float), st.floats(-1e10, 1e10), _SCALARS)
    if isinstance(spec, declarations.Number):
        edges = [b for b in (spec.minimum, spec.exclusive_minimum, spec.exclusive_maximum) if b]
        near = st.sampled_from([*edges, 0.0]).flatmap(
            lambda e: st.sampled_from([e, e - 1, e + 1, int(e)])
        )
        return st.one_of(near, st.integers(-(2**70), 2**70), _SCALARS)
    if isinstance(spec, declarations.Code):
        return st.one_of(st.text("0123456789", min_size=5, max_size=7), _TEXT, _SCALARS)
    if isinstance(spec, declarations.ListOf):
        return st.one_of(st.lists(values(spec.items), max_size=3), _SCALARS)
    if isinstance(spec, declarations.Object):
        names = list(spec.fields)
        fields = {name: values(field) for name, field in spec.fields.items()}
        whole = st.fixed_dictionaries({}, optional=fields)
        extra = st.dictionaries(st.sampled_from([*names, "extra"]), _SCALARS, max_size=3)
        return st.one_of(whole, extra, st.tuples(whole, extra).map(lambda p: {**p[0], **p[1]}))
    if isinstance(spec, declarations.Boolean):
        return _SCALARS
    raise AssertionError(f"no values for {spec!r}")


DECLARED = {**declarations.FIELDS, **declarations.BODIES}


@pytest.mark.parametrize("name", sorted(DECLARED))
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_declaration_and_its_schema_agree(name: str, data: st.DataObject) -> None:
    """What the server's check takes is exactly what the published JSON Schema allows.

    Judged by jsonschema-rs (ECMA-262 patterns, the dialect of JSON Schema), not by
    the server's own regex engine.
    """
    spec = DECLARED[name]
    schema = spec.schema(LENGTHS)
    value = data.draw(values(spec), label="value")
    assert _accepts(spec, value) == jsonschema_rs.validator_for(schema).is_valid(value), schema


def test_the_document_reads_its_requests_from_the_declarations(api: Api) -> None:
    """Each operation's body, path id, query and client headers: the declarations' schemas."""
    document = api.get("/api/v1/openapi.json").json
    lengths = declarations.CodeLengths(
        email=document["x-policy"]["email_code"]["digits"],
        totp=document["x-policy"]["totp"]["digits"],
    )
    for (path, method), spec in ENDPOINTS.items():
        operation = document["paths"][path][method]
        body: Body | None = spec["body"]
        if body is None:
            assert "requestBody" not in operation
        else:
            request = operation["requestBody"]
            assert request["required"] is body.required
            shown = request["content"]["application/json"]["schema"]
            assert shown == body.declaration.schema(lengths), (path, method)
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        if "{id}" in path:
            assert parameters["id"]["schema"] == declarations.RECORD_ID.schema(lengths)
        gated = path.startswith("/api/v1/") and path != "/api/v1/openapi.json"
        assert ("X-Client-Kind" in parameters) is gated
        if gated:
            kind, version = parameters["X-Client-Kind"], parameters["X-Client-Version"]
            assert kind["schema"] == declarations.CLIENT_KIND.schema(lengths)
            assert version["schema"] == declarations.CLIENT_VERSION.schema(lengths)
    assert document["x-max-body-bytes"] == api.app.config["MAX_CONTENT_LENGTH"]


def test_each_error_status_lists_exactly_its_codes(api: Api) -> None:
    """The error body's ``code`` is an enum of the codes the operation answers with it."""
    document = api.get("/api/v1/openapi.json").json
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if "x-error-codes" not in response:
                    continue
                schema = response["content"]["application/json"]["schema"]
                error = schema["properties"]["error"]
                assert error["properties"]["code"]["enum"] == response["x-error-codes"]
                assert schema["additionalProperties"] is False
                assert error["additionalProperties"] is False
                assert ("headers" in response) is (int(status) in (423, 429))


def test_a_code_of_the_wrong_length_is_refused_as_the_document_says(api: Api) -> None:
    """The first gap the fuzzer found: ^[0-9]{6,8}$ let 7-digit codes through."""
    document = api.get("/api/v1/openapi.json").json
    schema = document["paths"]["/api/v1/auth/otp"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["properties"]["code"]
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid("123456")
    assert not validator.is_valid("1234567")
