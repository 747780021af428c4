"""The JSON error shape everywhere, and the OpenAPI document checked against the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from flask import Flask

import reference_server
from reference_server.app import create_app
from reference_server.errors import ERRORS, is_api_path
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
