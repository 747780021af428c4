"""``GET /api/v1/openapi.json``: every endpoint, its errors and the declared choices.

Hand-written from one table (``ENDPOINTS``) so it stays readable; a test checks
it against the Flask URL map and against ``errors.ERRORS``.
"""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, Response, jsonify

from ..errors import ERRORS
from ..services import services

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

#: Errors any authenticated API call may answer (contract, "General").
COMMON: Final = (
    "malformed_request",
    "malformed_client_kind",
    "malformed_client_version",
    "client_upgrade_required",
    "unauthenticated",
    "payload_too_large",
    "method_not_allowed",
    "internal_error",
)
ADMIN: Final = (*COMMON, "forbidden", "second_factor_required")

_S: Final[dict[str, Any]] = {"type": "string"}
_I: Final[dict[str, Any]] = {"type": "integer"}
_B: Final[dict[str, Any]] = {"type": "boolean"}
_N: Final[dict[str, Any]] = {"type": "number"}
_CODE: Final[dict[str, Any]] = {"type": "string", "pattern": "^[0-9]{6,8}$"}
_NEXT: Final[dict[str, Any]] = {
    "type": "string",
    "enum": ["enroll", "verify_email", "connect_device", "verify_otp", "done"],
}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
    }


_GROUP = _obj({"id": _I, "name": _S, "version": _S, "build": _I})
_AGENT_IN = _obj({"email": _S, "password": _S, "seat": _S, "role": {"enum": ["agent", "admin"]}})
_DEVICE = _obj({"enrolled_at": _N, "algorithm": _S, "digits": _I, "period": _I})
_TWO_FACTOR = _obj(
    {"required": _B, "enrolled": _B, "device": {"oneOf": [_DEVICE, {"type": "null"}]}}
)
_ME = _obj({"email": _S, "role": _S, "seat": _S, "stage": _NEXT, "two_factor": _TWO_FACTOR})
_AGENT = _obj({"id": _I, "email": _S, "role": _S, "seat": _S, "two_factor": _TWO_FACTOR})
_SETTINGS = _obj({"two_factor_required": _B, "minimum_client": _obj({"version": _S, "build": _I})})
_TOKEN_NEXT = _obj({"token": _S, "next": _NEXT})
_SENT = _obj({"next": _NEXT, "sent_to": _S})
_MAIL = _obj(
    {"to": _S, "subject": _S, "body": _S, "code": {"type": ["string", "null"]}, "received_at": _N}
)
_SEED = _obj(
    {
        "agents": {"type": "array", "items": _AGENT_IN},
        "device_groups": {"type": "array", "items": _GROUP},
        "two_factor_required": _B,
    },
    required=[],
)

#: (path, method) → summary, token, request schema, (status, schema), error codes, notes.
ENDPOINTS: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("/api/v1/auth/sign-in", "post"): {
        "summary": "Password sign-in: a full token (no 2FA for this agent) or a partial one.",
        "token": None,
        "body": _obj({"email": _S, "password": _S}),
        "ok": (200, _TOKEN_NEXT),
        "errors": (
            *COMMON,
            "invalid_credentials",
            "account_locked",
        ),
        "notes": "While the second factor is locked, sign-in answers 423 account_locked "
        "(after a correct password) with Retry-After; ten wrong passwords lock sign-in too.",
    },
    ("/api/v1/auth/otp", "post"): {
        "summary": "The TOTP code of the enrolled device; ends the partial token.",
        "token": "partial (verify_otp)",
        "body": _obj({"code": _CODE}),
        "ok": (200, _TOKEN_NEXT),
        "errors": (
            *COMMON,
            "wrong_stage",
            "malformed_code",
            "otp_invalid",
            "otp_reused",
            "otp_locked",
        ),
    },
    ("/api/v1/auth/sign-out", "post"): {
        "summary": "End this token.",
        "token": "any",
        "body": None,
        "ok": (204, None),
        "errors": COMMON,
    },
    ("/api/v1/me", "get"): {
        "summary": "The signed-in agent, the token's stage and the 2FA state.",
        "token": "any",
        "body": None,
        "ok": (200, _ME),
        "errors": COMMON,
    },
    ("/api/v1/enrollment/start", "post"): {
        "summary": "Start (or restart) enrollment: sends the verification email.",
        "token": "partial (enroll or verify_otp: 'Set up a new mobile device') or full",
        "body": None,
        "ok": (202, _SENT),
        "errors": (*COMMON, "resend_too_soon", "otp_locked", "email_unavailable"),
        "notes": "Not open while the second factor is locked (423 otp_locked).",
    },
    ("/api/v1/enrollment/email/resend", "post"): {
        "summary": "A new email code; the previous one stops working.",
        "token": "in verify_email",
        "body": None,
        "ok": (202, _SENT),
        "errors": (*COMMON, "wrong_stage", "resend_too_soon", "email_unavailable"),
    },
    ("/api/v1/enrollment/email/verify", "post"): {
        "summary": "The 6-digit code from the verification email.",
        "token": "in verify_email",
        "body": _obj({"code": _CODE}),
        "ok": (200, _obj({"next": _NEXT})),
        "errors": (
            *COMMON,
            "wrong_stage",
            "malformed_code",
            "email_code_invalid",
            "email_code_expired",
            "too_many_attempts",
        ),
    },
    ("/api/v1/enrollment/device", "get"): {
        "summary": "The new secret: otpauth URI, manual key in groups of four, QR PNG.",
        "token": "in connect_device",
        "body": None,
        "ok": (
            200,
            _obj(
                {
                    "otpauth_uri": _S,
                    "manual_key": _S,
                    "issuer": _S,
                    "account": _S,
                    "algorithm": _S,
                    "digits": _I,
                    "period": _I,
                    "qr_png_base64": _S,
                },
                required=[
                    "otpauth_uri",
                    "manual_key",
                    "issuer",
                    "account",
                    "algorithm",
                    "digits",
                    "period",
                ],
            ),
        ),
        "errors": (*COMMON, "wrong_stage"),
        "notes": "No qr_png_base64 for X-Client-Kind: mobile. Cache-Control: no-store.",
    },
    ("/api/v1/enrollment/confirm", "post"): {
        "summary": "The setup code: binds the new device, retires the old, issues a full token.",
        "token": "in connect_device",
        "body": _obj({"code": _CODE}),
        "ok": (200, _TOKEN_NEXT),
        "errors": (*COMMON, "wrong_stage", "malformed_code", "otp_invalid", "otp_locked"),
        "notes": "The setup code's time step counts as used. Confirming ends every other "
        "session of the agent.",
    },
    ("/api/v1/support-sessions", "post"): {
        "summary": "Host a support session.",
        "token": "full, earned with the second factor when 2FA applies",
        "body": _obj({}),
        "ok": (201, _obj({"id": _I, "join_code": _S})),
        "errors": (*COMMON, "second_factor_required"),
    },
    ("/api/v1/admin/settings", "get"): {
        "summary": "The account-wide 2FA setting and the minimum client.",
        "token": "full, admin",
        "body": None,
        "ok": (200, _SETTINGS),
        "errors": ADMIN,
    },
    ("/api/v1/admin/settings", "put"): {
        "summary": "Require 2FA (Remote Support seats only), or stop requiring it.",
        "token": "full, admin",
        "body": _obj({"two_factor_required": _B}),
        "ok": (200, _SETTINGS),
        "errors": (*ADMIN, "device_groups_outdated"),
        "notes": "Turning 2FA on demotes the full tokens its agents got without a second "
        "factor: they answer 403 second_factor_required for hosting and admin calls.",
    },
    ("/api/v1/admin/device-groups", "get"): {
        "summary": "Device groups.",
        "token": "full, admin",
        "body": None,
        "ok": (200, {"type": "array", "items": _GROUP}),
        "errors": ADMIN,
    },
    ("/api/v1/admin/device-groups", "post"): {
        "summary": "Create a device group.",
        "token": "full, admin",
        "body": _obj({"name": _S, "version": _S, "build": _I}),
        "ok": (201, _GROUP),
        "errors": (*ADMIN, "malformed_version", "device_group_below_minimum"),
    },
    ("/api/v1/admin/device-groups/{id}", "patch"): {
        "summary": "Move a device group to another version or build.",
        "token": "full, admin",
        "body": _obj({"version": _S, "build": _I}, required=[]),
        "ok": (200, _GROUP),
        "errors": (*ADMIN, "malformed_version", "device_group_below_minimum", "not_found"),
    },
    ("/api/v1/admin/agents", "get"): {
        "summary": "Agents (no secrets).",
        "token": "full, admin",
        "body": None,
        "ok": (200, {"type": "array", "items": _AGENT}),
        "errors": ADMIN,
    },
    ("/api/v1/admin/agents", "post"): {
        "summary": "Create an agent on a seat with a role.",
        "token": "full, admin",
        "body": _AGENT_IN,
        "ok": (201, _AGENT),
        "errors": (*ADMIN, "email_taken"),
    },
    ("/api/v1/admin/agents/{id}", "patch"): {
        "summary": "Move an agent to another seat and/or role (extension).",
        "token": "full, admin",
        "body": _obj({"seat": _S, "role": {"enum": ["agent", "admin"]}}, required=[]),
        "ok": (200, _AGENT),
        "errors": (*ADMIN, "own_role_unchangeable", "not_found"),
        "notes": "Takes effect at once: tokens the agent got without a second factor "
        "cannot host once it is on a seat 2FA covers.",
    },
    ("/api/v1/admin/agents/{id}/unlock", "post"): {
        "summary": "Clear an agent's second-factor and password locks (extension).",
        "token": "full, admin",
        "body": None,
        "ok": (200, _AGENT),
        "errors": (*ADMIN, "not_found"),
    },
    ("/api/v1/openapi.json", "get"): {
        "summary": "This document.",
        "token": None,
        "body": None,
        "ok": (200, {"type": "object"}),
        "errors": ("not_found",),
    },
    ("/__harness__/clock", "get"): {
        "summary": "Harness only: the server clock.",
        "token": None,
        "body": None,
        "ok": (200, _obj({"now": _N})),
        "errors": ("not_found",),
    },
    ("/__harness__/clock", "put"): {
        "summary": "Harness only: set ({now}) or move ({advance}) the clock; it then stands still.",
        "token": None,
        "body": _obj({"now": _N, "advance": _N}, required=[]),
        "ok": (200, _obj({"now": _N})),
        "errors": ("not_found", "malformed_request"),
    },
    ("/__harness__/mailbox", "get"): {
        "summary": "Harness only: captured mail, oldest first (query to=, case-insensitive).",
        "token": None,
        "body": None,
        "ok": (200, {"type": "array", "items": _MAIL}),
        "errors": ("not_found",),
    },
    ("/__harness__/mailbox", "delete"): {
        "summary": "Harness only: clear captured mail (query to=).",
        "token": None,
        "body": None,
        "ok": (204, None),
        "errors": ("not_found",),
    },
    ("/__harness__/reset", "post"): {
        "summary": "Harness only: a fresh database with this seed (or the demo seed).",
        "token": None,
        "body": _SEED,
        "ok": (200, _SEED),
        "errors": (
            "not_found",
            "malformed_request",
            "malformed_version",
            "email_taken",
            "device_groups_outdated",
        ),
    },
    ("/__harness__/policy", "get"): {
        "summary": "Harness only: the declared verification policy and choices.",
        "token": None,
        "body": None,
        "ok": (200, {"type": "object"}),
        "errors": ("not_found",),
    },
}

DESCRIPTION: Final = """\
The reference 2FA server of twofa-harness (contract v1). Errors are
`{"error": {"code", "message", ...}}`; `x-error-codes` lists the codes each
operation can answer. Declared choices: turning 2FA on *demotes* existing full
tokens of the agents it covers (403 second_factor_required); while the second
factor is locked, sign-in answers 423 account_locked; reused codes count toward
the lock; "Set up a new mobile device" is closed while locked; confirming a new
device ends the agent's other sessions; partial tokens live 1800 s, full tokens
12 h, email codes 600 s. Client versions compare as (major, minor, build).
The /__harness__ paths exist only in harness mode. The web pages of the same
flow (/sign-in, /enroll, ..., docs/wizard.md) are not part of this API.
"""


def _operation(path: str, method: str, spec: dict[str, Any]) -> dict[str, Any]:
    status, schema = spec["ok"]
    responses: dict[str, Any] = {
        str(status): {"description": "Success"}
        | ({"content": {"application/json": {"schema": schema}}} if schema else {})
    }
    by_status: dict[int, list[str]] = {}
    for code in spec["errors"]:
        by_status.setdefault(ERRORS[code][0], []).append(code)
    for error_status, codes in sorted(by_status.items()):
        responses[str(error_status)] = {
            "description": "; ".join(f"{c}: {ERRORS[c][1]}" for c in codes),
            "x-error-codes": codes,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    operation: dict[str, Any] = {
        "operationId": f"{method}_{path.strip('/').replace('/', '_').replace('-', '_')}",
        "summary": spec["summary"],
        "responses": responses,
        "x-token": spec["token"] or "none",
    }
    if spec.get("notes"):
        operation["description"] = spec["notes"]
    if spec["token"]:
        operation["security"] = [{"bearer": []}]
    if spec["body"] is not None:
        operation["requestBody"] = {
            "required": bool(spec["body"].get("required")),
            "content": {"application/json": {"schema": spec["body"]}},
        }
    if "{id}" in path:
        operation["parameters"] = [{"name": "id", "in": "path", "required": True, "schema": _I}]
    return operation


def document(policy_description: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), spec in ENDPOINTS.items():
        paths.setdefault(path, {})[method] = _operation(path, method, spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "twofa-harness reference server",
            "version": "1",
            "description": DESCRIPTION,
        },
        "x-policy": policy_description,
        "x-error-codes": {code: {"status": s, "message": m} for code, (s, m) in ERRORS.items()},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _obj(
                    {
                        "error": _obj(
                            {
                                "code": {"type": "string", "enum": sorted(ERRORS)},
                                "message": _S,
                                "retry_after": _I,
                                "minimum_version": _S,
                                "minimum": _obj({"version": _S, "build": _I}),
                                "groups": {"type": "array", "items": _GROUP},
                            },
                            required=["code", "message"],
                        )
                    }
                )
            },
            "parameters": {},
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(services().policy.describe()))
