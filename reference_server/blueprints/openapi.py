"""``GET /api/v1/openapi.json``: every endpoint, its errors and the declared choices.

Written from one table (``ENDPOINTS``) so it stays readable. What a request may
hold (bodies, the client headers, path ids, ``to=``) is not written here: it
is read from ``declarations``, the same objects the server checks requests
with, so the document states exactly what the server refuses. The responses
are written here, exactly (``additionalProperties: false``; each error status
lists the codes this operation answers with it); tests check the table
against the Flask URL map and ``errors.ERRORS``, and an outside fuzzer
(schemathesis, ``make fuzz``) checks the server's answers against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from flask import Blueprint, Response, jsonify

from ..declarations import (
    AGENT_CHANGES,
    CLIENT_KIND,
    CLIENT_VERSION,
    CLOCK,
    EMAIL_CODE,
    EMPTY,
    GROUP_CHANGES,
    MAIL_TO,
    MAX_BODY_BYTES,
    NEW_AGENT,
    NEW_GROUP,
    RECORD_ID,
    SEED,
    SETTINGS,
    SIGN_IN,
    TOTP_CODE,
    CodeLengths,
    Field,
    Object,
)
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
#: Errors of the harness paths (no token, no client gate).
HARNESS: Final = ("not_found", "malformed_request", "method_not_allowed", "internal_error")
HARNESS_BODY: Final = (*HARNESS, "payload_too_large")

#: Statuses that come with ``Retry-After`` (a lock, a cooldown, a spent budget).
RETRY_STATUSES: Final = frozenset({423, 429})


@dataclass(frozen=True)
class Body:
    """The JSON body an operation takes: its declaration, and whether it may be left out."""

    declaration: Object
    required: bool = True


_S: Final[dict[str, Any]] = {"type": "string"}
_I: Final[dict[str, Any]] = {"type": "integer"}
_B: Final[dict[str, Any]] = {"type": "boolean"}
_N: Final[dict[str, Any]] = {"type": "number"}
_NEXT: Final[dict[str, Any]] = {
    "type": "string",
    "enum": ["enroll", "verify_email", "connect_device", "verify_otp", "done"],
}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A response object: exactly these properties (all of them required unless listed)."""
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": False,
    }


def _next(*stages: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(stages)}


_GROUP = _obj({"id": _I, "name": _S, "version": _S, "build": _I})
_MINIMUM = _obj({"version": _S, "build": _I})
_DEVICE = _obj({"enrolled_at": _N, "algorithm": _S, "digits": _I, "period": _I})
_TWO_FACTOR_PROPS: Final[dict[str, Any]] = {
    "required": _B,
    "enrolled": _B,
    "device": {"oneOf": [_DEVICE, {"type": "null"}]},
}
_TWO_FACTOR = _obj(_TWO_FACTOR_PROPS)
_ME = _obj({"email": _S, "role": _S, "seat": _S, "stage": _NEXT, "two_factor": _TWO_FACTOR})
#: An agent as the admin calls show it: the two-factor state says whether it is locked.
_AGENT = _obj(
    {
        "id": _I,
        "email": _S,
        "role": _S,
        "seat": _S,
        "two_factor": _obj({**_TWO_FACTOR_PROPS, "locked": _B}),
    }
)
_SETTINGS = _obj({"two_factor_required": _B, "minimum_client": _MINIMUM})
_SIGNED_IN = _obj({"token": _S, "next": _next("done", "enroll", "verify_otp")})
_DONE = _obj({"token": _S, "next": _next("done")})
_SENT = _obj({"next": _next("verify_email"), "sent_to": _S})
_MAIL = _obj(
    {"to": _S, "subject": _S, "body": _S, "code": {"type": ["string", "null"]}, "received_at": _N}
)
_SEEDED = _obj(
    {
        "agents": {
            "type": "array",
            "items": _obj({"id": _I, "email": _S, "password": _S, "seat": _S, "role": _S}),
        },
        "device_groups": {"type": "array", "items": _GROUP},
        "two_factor_required": _B,
    }
)

#: (path, method) → summary, token, request schema, (status, schema), error codes, notes.
ENDPOINTS: Final[dict[tuple[str, str], dict[str, Any]]] = {
    ("/api/v1/auth/sign-in", "post"): {
        "summary": "Password sign-in: a full token (no 2FA for this agent) or a partial one.",
        "token": None,
        "body": Body(SIGN_IN),
        "ok": (200, _SIGNED_IN),
        "errors": (
            *COMMON,
            "invalid_credentials",
            "account_locked",
        ),
        "notes": "While the second factor is locked, sign-in answers 423 account_locked "
        "(after a correct password) with Retry-After; ten wrong passwords lock sign-in too. "
        "An unknown email answers exactly like a known one: 401 invalid_credentials, and "
        "after ten wrong passwords 423 account_locked (wrong passwords count by the address "
        "submitted); the owner of a locked account is mailed.",
    },
    ("/api/v1/auth/otp", "post"): {
        "summary": "The TOTP code of the enrolled device; ends the partial token.",
        "token": "partial (verify_otp)",
        "body": Body(TOTP_CODE),
        "ok": (200, _DONE),
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
        "body": Body(EMPTY, required=False),
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
        "body": Body(EMPTY, required=False),
        "ok": (202, _SENT),
        "errors": (
            *COMMON,
            "resend_too_soon",
            "otp_locked",
            "email_code_budget_exhausted",
            "email_unavailable",
        ),
        "notes": "Not open while the second factor is locked (423 otp_locked), nor while "
        "the account's budget of wrong email codes is spent (429 email_code_budget_exhausted, "
        "Retry-After: when the rolling day has room again).",
    },
    ("/api/v1/enrollment/email/resend", "post"): {
        "summary": "A new email code; the previous one stops working.",
        "token": "in verify_email",
        "body": Body(EMPTY, required=False),
        "ok": (202, _SENT),
        "errors": (
            *COMMON,
            "wrong_stage",
            "resend_too_soon",
            "email_code_budget_exhausted",
            "email_unavailable",
        ),
    },
    ("/api/v1/enrollment/email/verify", "post"): {
        "summary": "The 6-digit code from the verification email.",
        "token": "in verify_email",
        "body": Body(EMAIL_CODE),
        "ok": (200, _obj({"next": _next("connect_device")})),
        "errors": (
            *COMMON,
            "wrong_stage",
            "malformed_code",
            "email_code_invalid",
            "email_code_expired",
            "too_many_attempts",
            "email_code_budget_exhausted",
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
        "body": Body(TOTP_CODE),
        "ok": (200, _DONE),
        "errors": (*COMMON, "wrong_stage", "malformed_code", "otp_invalid", "otp_locked"),
        "notes": "The setup code's time step counts as used. Binding mails a notice to the "
        "account's address (queued with the binding, sent after the answer). "
        "Confirming ends every other "
        "session of the agent.",
    },
    ("/api/v1/support-sessions", "post"): {
        "summary": "Host a support session.",
        "token": "full, earned with the second factor when 2FA applies",
        "body": Body(EMPTY, required=False),
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
        "body": Body(SETTINGS),
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
        "body": Body(NEW_GROUP),
        "ok": (201, _GROUP),
        "errors": (*ADMIN, "malformed_version", "device_group_below_minimum"),
    },
    ("/api/v1/admin/device-groups/{id}", "patch"): {
        "summary": "Move a device group to another version or build.",
        "token": "full, admin",
        "body": Body(GROUP_CHANGES),
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
        "body": Body(NEW_AGENT),
        "ok": (201, _AGENT),
        "errors": (*ADMIN, "email_taken"),
    },
    ("/api/v1/admin/agents/{id}", "patch"): {
        "summary": "Move an agent to another seat and/or role (extension).",
        "token": "full, admin",
        "body": Body(AGENT_CHANGES),
        "ok": (200, _AGENT),
        "errors": (*ADMIN, "own_role_unchangeable", "not_found"),
        "notes": "Takes effect at once: tokens the agent got without a second factor "
        "cannot host once it is on a seat 2FA covers.",
    },
    ("/api/v1/admin/agents/{id}/unlock", "post"): {
        "summary": "Clear an agent's second-factor and password locks and its spent budget "
        "of wrong email codes (extension).",
        "token": "full, admin",
        "body": Body(EMPTY, required=False),
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
        "body": Body(CLOCK),
        "ok": (200, _obj({"now": _N})),
        "errors": (*HARNESS_BODY, "clock_out_of_range"),
    },
    ("/__harness__/mailbox", "get"): {
        "summary": "Harness only: captured mail, oldest first (query to=, case-insensitive).",
        "token": None,
        "body": None,
        "ok": (200, {"type": "array", "items": _MAIL}),
        "errors": HARNESS,
        "query": {"to": MAIL_TO},
    },
    ("/__harness__/mailbox", "delete"): {
        "summary": "Harness only: clear captured mail (query to=).",
        "token": None,
        "body": None,
        "ok": (204, None),
        "errors": HARNESS,
        "query": {"to": MAIL_TO},
    },
    ("/__harness__/reset", "post"): {
        "summary": "Harness only: a fresh database with this seed (or the demo seed).",
        "token": None,
        "body": Body(SEED, required=False),
        "ok": (200, _SEEDED),
        "errors": (*HARNESS_BODY, "malformed_version", "email_taken", "device_groups_outdated"),
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
12 h, email codes 600 s (5 tries per code, and at most 100 wrong codes per
account over a rolling day of server time, refilled by no resend and no
sign-in: then 429 email_code_budget_exhausted until the day has room again or
an admin unlocks). Sign-in answers an unknown email exactly like a known one,
locks included. Binding a device mails the account's address; so does a
sign-in lock. Client versions compare as (major, minor, build).
The /__harness__ paths exist only in harness mode. The web pages of the same
flow (/sign-in, /enroll, ..., docs/wizard.md) are not part of this API.

Requests: every schema here is what the server checks, read from the same
declarations (reference_server/declarations.py); a request it allows is never
refused as malformed (400). Three limits a schema cannot state: a body is at
most `x-max-body-bytes` bytes on the wire (413 payload_too_large); strings are
Unicode text (a lone surrogate such as "\\ud800" is a 400); and desktop and
mobile clients must send X-Client-Version. The other 4xx answers (401, 403,
404, 409, 410, 423, 426, 429) depend on the stored state (the token and its
stage, the record, a lock, a cooldown, the policy's minimum client), and each
operation lists the codes it answers with each status.
"""


def _error_response(codes: list[str]) -> dict[str, Any]:
    """An error status of one operation: the codes it answers with it, and the error shape."""
    status = ERRORS[codes[0]][0]
    error = _obj(
        {
            "code": {"type": "string", "enum": codes},
            "message": _S,
            "retry_after": {"type": "integer", "minimum": 1},
            "unlock": {"type": "string", "enum": ["admin", "wait"]},
            "minimum_version": _S,
            "minimum": _MINIMUM,
            "groups": {"type": "array", "items": _GROUP},
        },
        required=["code", "message"],
    )
    response: dict[str, Any] = {
        "description": "; ".join(f"{c}: {ERRORS[c][1]}" for c in codes),
        "x-error-codes": codes,
        "content": {"application/json": {"schema": _obj({"error": error})}},
    }
    if status in RETRY_STATUSES:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds until the lock, cooldown or budget allows again.",
                "required": False,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response


def _parameter(name: str, where: str, spec: Field, lengths: CodeLengths, **more: Any) -> Any:
    return {"name": name, "in": where, "schema": spec.schema(lengths), **more}


def _client_headers(lengths: CodeLengths, minimum: str) -> list[dict[str, Any]]:
    """``X-Client-Kind`` and ``X-Client-Version``: what ``inputs.identify_client`` checks."""
    return [
        _parameter(
            "X-Client-Kind",
            "header",
            CLIENT_KIND,
            lengths,
            required=False,
            description="web (the default when absent), desktop or mobile, exactly.",
        ),
        _parameter(
            "X-Client-Version",
            "header",
            CLIENT_VERSION,
            lengths,
            required=False,
            description="MAJOR.MINOR.BUILD, checked whenever sent. Desktop and mobile "
            "clients must send it (400 malformed_client_version without it: the one rule "
            "between two parameters, which a schema cannot state); below the minimum "
            f"({minimum}) they get 426 client_upgrade_required. Web clients are not gated.",
        ),
    ]


def _operation(
    path: str, method: str, spec: dict[str, Any], lengths: CodeLengths, minimum: str
) -> dict[str, Any]:
    status, schema = spec["ok"]
    responses: dict[str, Any] = {
        str(status): {"description": "Success"}
        | ({"content": {"application/json": {"schema": schema}}} if schema else {})
    }
    by_status: dict[int, list[str]] = {}
    for code in spec["errors"]:
        by_status.setdefault(ERRORS[code][0], []).append(code)
    for error_status, codes in sorted(by_status.items()):
        responses[str(error_status)] = _error_response(codes)
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
    body: Body | None = spec["body"]
    if body is not None:
        operation["requestBody"] = {
            "required": body.required,
            "content": {"application/json": {"schema": body.declaration.schema(lengths)}},
        }
        if body.declaration is EMPTY:
            operation["requestBody"]["description"] = "No body, or {}."
    parameters: list[dict[str, Any]] = []
    if "{id}" in path:
        parameters.append(_parameter("id", "path", RECORD_ID, lengths, required=True))
    for name, declaration in spec.get("query", {}).items():
        parameters.append(_parameter(name, "query", declaration, lengths, required=False))
    if path.startswith("/api/v1/") and path != "/api/v1/openapi.json":
        parameters += _client_headers(lengths, minimum)
    if parameters:
        operation["parameters"] = parameters
    return operation


def document(policy_description: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a server with this policy (its code lengths, its minimum)."""
    lengths = CodeLengths(
        email=policy_description["email_code"]["digits"],
        totp=policy_description["totp"]["digits"],
    )
    low = policy_description["minimum_client"]
    minimum = f"{low['version']}.{low['build']}"
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), spec in ENDPOINTS.items():
        paths.setdefault(path, {})[method] = _operation(path, method, spec, lengths, minimum)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "twofa-harness reference server",
            "version": "1",
            "description": DESCRIPTION,
        },
        "x-policy": policy_description,
        "x-error-codes": {code: {"status": s, "message": m} for code, (s, m) in ERRORS.items()},
        "x-max-body-bytes": MAX_BODY_BYTES,
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
                                "unlock": {"type": "string", "enum": ["admin", "wait"]},
                                "minimum_version": _S,
                                "minimum": _MINIMUM,
                                "groups": {"type": "array", "items": _GROUP},
                            },
                            required=["code", "message"],
                        )
                    }
                )
            },
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(services().policy.describe()))
