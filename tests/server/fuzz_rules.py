"""What the outside fuzz run counts as a failure: the rules, apart from the hooks that apply them.

Plain functions of plain values, so ``test_openapi_fuzz.py`` can show each rule
failing on a made-up answer as well as passing on the real server's.

Refusals, by what decides them:

- **Malformed** (``MALFORMED``): the request itself is wrong. A request the
  schema allows is never refused so, except for the two limits a schema cannot
  state (``allowed_malformed``): a body over ``MAX_BODY_BYTES`` (413), and a
  desktop or mobile client without ``X-Client-Version`` (400).
- **State refusals** (every other documented code: 401 ``unauthenticated`` /
  ``invalid_credentials`` / ``otp_invalid``..., 403, 404, 409, 410, 423, 426,
  429): the token, its stage, the record, a lock, a cooldown, a budget or the
  policy's minimum client decide. A request the schema allows may get one, if
  the operation documents that code under that status.
- **Attempt refusals** (``ATTEMPT_CODES``, a subset of the state refusals):
  a wrong password or code was counted. They may change the counters, locks and
  budgets of ``ATTEMPT_WRITES`` (and queue a notice), nothing else; and only for
  a body the schema allows: a malformed body is never an attempt.
  Every other refusal leaves every stored row exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

MAX_BODY_BYTES: Final = 64 * 1024

MALFORMED: Final = frozenset(
    {
        "malformed_request",
        "malformed_code",
        "malformed_client_kind",
        "malformed_client_version",
        "malformed_version",
        "payload_too_large",
        "method_not_allowed",
        "internal_error",
    }
)
ATTEMPT_CODES: Final = frozenset(
    {
        "invalid_credentials",
        "account_locked",
        "otp_invalid",
        "otp_reused",
        "otp_locked",
        "email_code_invalid",
        "email_code_expired",
        "too_many_attempts",
        "email_code_budget_exhausted",
    }
)
#: What an attempt refusal may change: these columns of a table's rows, or anything ("*").
ATTEMPT_WRITES: Final[Mapping[str, frozenset[str]]] = {
    "agents": frozenset(
        {
            "otp_failures",
            "otp_locked_until",
            "otp_disabled",
            "password_failures",
            "password_locked_until",
        }
    ),
    "enrollments": frozenset({"email_attempts", "email_code_hash", "email_code_expires_at"}),
    "email_code_failures": frozenset({"*"}),
    "sign_in_failures": frozenset({"*"}),
    "notices": frozenset({"*"}),
    "captured_mail": frozenset({"*"}),
}
#: Answers after which the fuzzer's world is built again (its tokens would stop reaching).
CLOSING_CODES: Final = frozenset(
    {"account_locked", "too_many_attempts", "email_code_budget_exhausted"}
)
#: Columns the world stands on: a change to one of an existing row means a rebuild (None: any).
WORLD_COLUMNS: Final[Mapping[str, frozenset[str] | None]] = {
    "settings": None,
    "harness_clock": None,
    "tokens": frozenset({"stage", "kind", "ended_at", "expires_at", "second_factor"}),
    "devices": frozenset({"status"}),
    "enrollments": frozenset({"status"}),
    "agents": frozenset({"email", "seat", "role", "otp_locked_until", "otp_disabled"}),
}

#: Every row of every table: table → primary key → column → value.
Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]
#: Per table: "added" and "removed" row keys, "columns" changed in kept rows.
Changes = dict[str, dict[str, set[str]]]


def changes(before: Snapshot, after: Snapshot) -> Changes:
    """What differs between two snapshots, table by table."""
    found: Changes = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        changed: set[str] = set()
        for key in set(old) & set(new):
            changed |= {c for c in new[key] if old[key].get(c) != new[key][c]}
        diff = {
            "added": {repr(k) for k in set(new) - set(old)},
            "removed": {repr(k) for k in set(old) - set(new)},
            "columns": changed,
        }
        if any(diff.values()):
            found[name] = diff
    return found


def forbidden_changes(found: Changes, code: str | None, *, body_allowed: bool) -> list[str]:
    """What a refusal with ``code`` changed that it may not (empty: nothing)."""
    attempt = code in ATTEMPT_CODES and body_allowed
    allowed = ATTEMPT_WRITES if attempt else {}
    problems = []
    for table, diff in found.items():
        writable = allowed.get(table, frozenset())
        if "*" in writable:
            continue
        if diff["added"] or diff["removed"]:
            added, removed = sorted(diff["added"])[:3], sorted(diff["removed"])[:3]
            problems.append(f"{table}: rows added {added} removed {removed}")
        extra = diff["columns"] - writable
        if extra:
            problems.append(f"{table}: columns changed {sorted(extra)}")
    return problems


#: Rows of the world, by table: its tokens, agents, devices and enrollments (by key).
WorldRows = dict[str, set[tuple[Any, ...]]]
#: Agent columns that a repair puts back through the admin API.
MOVABLE: Final = frozenset({"seat", "role"})
LOCKS: Final = frozenset({"otp_locked_until", "otp_disabled"})


def world_damage(before: Snapshot, after: Snapshot, world: WorldRows) -> set[str]:
    """What a request changed of what the fuzzer's tokens stand on.

    ``clock`` and ``settings`` (set back through the harness and the admin API),
    ``agent:ID`` (a seat or role, moved back), ``lock:ID`` (a second-factor
    lock, unlocked), ``rebuild`` (anything else: a row of the world gone, a
    token moved on or ended, a device or enrollment changed).
    """
    damage: set[str] = set()
    for table, watched in WORLD_COLUMNS.items():
        old, new = before.get(table, {}), after.get(table, {})
        keys = world.get(table, set(old) | set(new))
        for key in keys:
            if key in old and key not in new:
                damage.add("rebuild")
                continue
            if key not in new:
                continue
            if key not in old:
                if table in ("settings", "harness_clock"):
                    damage.add(table.replace("harness_", ""))
                continue
            columns = {c for c in new[key] if old[key].get(c) != new[key][c]}
            if watched is not None:
                columns &= watched
            if not columns:
                continue
            if table in ("settings", "harness_clock"):
                damage.add(table.replace("harness_", ""))
            elif table == "agents":
                if columns & MOVABLE:
                    damage.add(f"agent:{key[0]}")
                if columns & LOCKS:
                    damage.add(f"lock:{key[0]}")
                if columns - MOVABLE - LOCKS:
                    damage.add("rebuild")
            else:
                damage.add("rebuild")
    return damage


def app_without_version(headers: Mapping[str, Any]) -> bool:
    """A desktop or mobile client that sent no X-Client-Version (an empty one is none)."""
    lower = {k.lower(): v for k, v in headers.items()}
    return lower.get("x-client-kind") in ("desktop", "mobile") and not lower.get("x-client-version")


def allowed_malformed(code: str, *, body_bytes: int, headers: Mapping[str, Any]) -> bool:
    """The two refusals of an allowed request that a schema cannot state."""
    if code == "payload_too_large":
        return body_bytes > MAX_BODY_BYTES
    if code == "malformed_client_version":
        return app_without_version(headers)
    return False


def refusal_problem(
    status: int,
    code: str | None,
    documented: Mapping[str, list[str]],
    *,
    body_bytes: int,
    headers: Mapping[str, Any],
) -> str | None:
    """Why a refusal of a request the schema allows is a failure (None: it is not)."""
    if status < 400:
        return None
    shown = code or "(no error code)"
    if code is None or code not in documented.get(str(status), []):
        return f"{status} {shown} is not documented for this operation"
    if code in MALFORMED and not allowed_malformed(code, body_bytes=body_bytes, headers=headers):
        return f"a schema-valid request was refused as malformed: {status} {code}"
    return None
