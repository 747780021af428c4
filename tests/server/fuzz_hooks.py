"""Schemathesis hooks for the outside fuzz run (``openapi_fuzz``): tokens, a world, two checks.

Loaded by the ``schemathesis`` command itself (``SCHEMATHESIS_HOOKS``), in its
own process: it reaches the server only over HTTP, and reads the server's
database (read-only) to snapshot the stored state around every request.

- **Tokens of every kind.** Each operation gets the token it is meant for: an
  admin full token, an agent's full token earned with the second factor, a
  partial token at ``verify_otp``, and tokens at ``enroll``, ``verify_email``
  and ``connect_device`` (``ROLES``). Sign-out gets a throwaway token signed in
  for that one call, so the fuzzer never ends its own; enrollment start, resend
  and email verify get an agent created for the call, so cooldowns and budgets
  never close them.
- **A world kept whole.** When a request moves what the world's tokens stand on
  (``fuzz_rules.world_damage``), it is put back: the clock, the 2FA setting, an
  agent's seat or role, a second-factor lock; anything else (a harness reset, a
  token of the world ended or moved on, a spent email budget) builds the world
  again before the next request: a reset, the clock fixed at ``T0``,
  enrollments done.
- **Checks** (the rules: ``fuzz_rules.py``). ``documented_refusal``: a
  request the schema allows is answered with success or a documented state
  refusal, never as malformed. ``refusal_changes_nothing``: a refused request
  leaves every table as it was (an attempt refusal: only its counters). Every
  check of schemathesis's own runs too (``--checks all``), but
  ``positive_data_acceptance``, which ``documented_refusal`` replaces.

Environment: ``TWOFA_FUZZ_URL`` (the server), ``TWOFA_FUZZ_DATABASE_URL``,
``TWOFA_FUZZ_TALLY`` (where the counts are written, JSON).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Final

import requests
import schemathesis
from sqlalchemy import MetaData, create_engine, select

from simulators.hotp import CodeGenerator, decode_base32
from tests.server.fuzz_rules import (
    CLOSING_CODES,
    Snapshot,
    WorldRows,
    app_without_version,
    changes,
    forbidden_changes,
    refusal_problem,
    world_damage,
)

URL: Final = os.environ["TWOFA_FUZZ_URL"]
DATABASE_URL: Final = os.environ["TWOFA_FUZZ_DATABASE_URL"]
TALLY: Final = Path(os.environ["TWOFA_FUZZ_TALLY"])

#: The clock of the world: the start of a 30-second step, standing still.
T0: Final = 1_700_000_010.0
PASSWORD: Final = "fuzz-password-1"
#: Requests after which the world is built afresh anyway: the rows the fuzzer's calls
#: add (agents, tokens, mail) would make every snapshot slower.
WORLD_LIFETIME: Final = 300

#: Agents of the world (all with PASSWORD); the seats decide where 2FA applies.
AGENTS: Final = {
    "admin": "account_admin",
    "full": "remote_support",
    "otp": "remote_support",
    "enroll": "remote_support",
    "email": "remote_support",
    "connect": "remote_support",
    "lens": "rescue_lens",
}
SEED: Final = {
    "agents": [
        {
            "email": f"{name}@fuzz.example",
            "password": PASSWORD,
            "seat": seat,
            "role": "admin" if name == "admin" else "agent",
        }
        for name, seat in AGENTS.items()
    ],
    "device_groups": [{"name": "Desk", "version": "4.3", "build": 1575}],
    "two_factor_required": True,
}

#: The token each operation is sent with (a list: taken in turn). "signout" is a
#: throwaway token signed in for the one call; "fresh_enroll" and "fresh_email" belong
#: to an agent created for the one call (at enroll, or at verify_email with a code
#: mailed), so the resend cooldown and the email budget of the world's agents never
#: close these operations; "fresh_resend" is at verify_email with the clock moved past
#: the resend cooldown for the one call (then set back to T0).
ROLES: Final[dict[str, tuple[str, ...]]] = {
    "POST /api/v1/auth/otp": ("otp",),
    "POST /api/v1/auth/sign-out": ("signout",),
    "GET /api/v1/me": ("full", "otp", "enroll", "email", "connect", "admin"),
    "POST /api/v1/enrollment/start": ("fresh_enroll",),
    "POST /api/v1/enrollment/email/resend": ("fresh_resend",),
    "POST /api/v1/enrollment/email/verify": ("fresh_email", "email"),
    "GET /api/v1/enrollment/device": ("connect",),
    "POST /api/v1/enrollment/confirm": ("connect",),
    "POST /api/v1/support-sessions": ("full",),
}


class World:
    """The seeded database, its tokens by role, and snapshots of everything stored."""

    def __init__(self) -> None:
        self.http = requests.Session()
        self.engine = create_engine(DATABASE_URL)
        self.metadata = MetaData()
        self.tokens: dict[str, str] = {}
        self.dirty = True
        self.builds = 0
        self.repairs: Counter[str] = Counter()
        self.created = 0
        self.served = 0
        self.cooldown = 0.0
        self.clock_moved = False
        self.turn: Counter[str] = Counter()
        #: The world's own rows (tokens, agents, devices, enrollments), by table.
        self.rows: WorldRows = {}
        self.agents: dict[int, tuple[str, str]] = {}
        self.admin_id = 0
        #: The state after the last request, while nothing else has been sent since.
        self.last: Snapshot | None = None

    # -- HTTP to the harness and the flow (not counted as fuzz requests) -----------------
    def _call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        self.last = None  # the state moves: the next request's "before" is read again
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(method, URL + path, headers=headers, timeout=30, **kw)
        if response.status_code >= 400:
            raise RuntimeError(f"world: {method} {path} -> {response.status_code} {response.text}")
        return response.json() if response.content else None

    def sign_in(self, name: str) -> str:
        answer = self._call(
            "POST",
            "/api/v1/auth/sign-in",
            json={"email": f"{name}@fuzz.example", "password": PASSWORD},
        )
        token: str = answer["token"]
        return token

    def _to_connect_device(self, name: str) -> tuple[str, CodeGenerator]:
        token = self.sign_in(name)
        self._call("POST", "/api/v1/enrollment/start", token)
        mails = self._call("GET", "/__harness__/mailbox", params={"to": f"{name}@fuzz.example"})
        self._call(
            "POST", "/api/v1/enrollment/email/verify", token, json={"code": mails[-1]["code"]}
        )
        device = self._call("GET", "/api/v1/enrollment/device", token)
        generator = CodeGenerator(
            decode_base32(device["manual_key"].replace(" ", "")),
            digits=device["digits"],
            algorithm=device["algorithm"],
            period=device["period"],
        )
        return token, generator

    def _enroll(self, name: str) -> str:
        token, generator = self._to_connect_device(name)
        answer = self._call(
            "POST", "/api/v1/enrollment/confirm", token, json={"code": generator.code_at(T0)}
        )
        full: str = answer["token"]
        return full

    def build(self) -> None:
        """A fresh world: the seed, the clock at T0, a token of every kind."""
        self._call("POST", "/__harness__/reset", json=SEED)
        self._call("PUT", "/__harness__/clock", json={"now": T0})
        tokens = {"admin": self.sign_in("admin"), "full": self._enroll("full")}
        self._enroll("otp")
        tokens["otp"] = self.sign_in("otp")  # verify_otp: the device is enrolled
        tokens["enroll"] = self.sign_in("enroll")
        tokens["email"] = self.sign_in("email")
        self._call("POST", "/api/v1/enrollment/start", tokens["email"])
        tokens["connect"], _ = self._to_connect_device("connect")
        self.tokens = tokens
        policy = self._call("GET", "/__harness__/policy")
        self.cooldown = float(policy["email_code"]["resend_cooldown_seconds"])
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)
        state = self.snapshot()
        self.rows = {
            t: set(state.get(t, {})) for t in ("tokens", "agents", "devices", "enrollments")
        }
        self.agents = {key[0]: (row["seat"], row["role"]) for key, row in state["agents"].items()}
        self.admin_id = next(
            key[0] for key, row in state["agents"].items() if row["email"] == "admin@fuzz.example"
        )
        self.dirty = False
        self.served = 0
        self.builds += 1

    def repair(self, damage: set[str]) -> None:
        """Put back what a request moved (through the harness and the admin API), or rebuild."""
        if "rebuild" in damage or f"agent:{self.admin_id}" in damage:
            self.dirty = True
            self.repairs["rebuild"] += 1
            return
        try:
            for item in sorted(damage):
                kind, _, number = item.partition(":")
                self.repairs[kind] += 1
                if kind == "clock":
                    self._call("PUT", "/__harness__/clock", json={"now": T0})
                elif kind == "settings":
                    body = {"two_factor_required": True}
                    self._call("PUT", "/api/v1/admin/settings", self.tokens["admin"], json=body)
                elif kind == "agent":
                    seat, role = self.agents[int(number)]
                    path = f"/api/v1/admin/agents/{number}"
                    self._call(
                        "PATCH", path, self.tokens["admin"], json={"seat": seat, "role": role}
                    )
                elif kind == "lock":
                    path = f"/api/v1/admin/agents/{number}/unlock"
                    self._call("POST", path, self.tokens["admin"])
        except RuntimeError:  # the repair was refused (say, an outdated group): rebuild
            self.dirty = True
            self.repairs["rebuild"] += 1

    def ensure(self) -> None:
        if self.dirty or self.served >= WORLD_LIFETIME:
            self.build()
        self.served += 1

    def token_for(self, label: str) -> str | None:
        """The token an operation is sent with (a fresh one for sign-out and start)."""
        roles = ROLES.get(label)
        if roles is None:
            return self.tokens["admin"] if " /api/v1/admin/" in label else None
        role = roles[self.turn[label] % len(roles)]
        self.turn[label] += 1
        if role == "signout":
            return self.sign_in("lens")
        if role.startswith("fresh"):
            token = self.fresh(verify_email=role != "fresh_enroll")
            if role == "fresh_resend":
                self._call("PUT", "/__harness__/clock", json={"now": T0 + self.cooldown})
                self.clock_moved = True
            return token
        return self.tokens[role]

    def after_request(self) -> None:
        """Undo what ``token_for`` moved for the one call (the clock)."""
        if self.clock_moved and not self.dirty:
            self._call("PUT", "/__harness__/clock", json={"now": T0})
        self.clock_moved = False

    def fresh(self, *, verify_email: bool) -> str:
        """A new agent on a 2FA seat, signed in (and its enrollment started)."""
        self.created += 1
        name = f"fresh{self.created}"
        agent = {"email": f"{name}@fuzz.example", "password": PASSWORD}
        agent |= {"seat": "remote_support", "role": "agent"}
        self._call("POST", "/api/v1/admin/agents", self.tokens["admin"], json=agent)
        token = self.sign_in(name)
        if verify_email:
            self._call("POST", "/api/v1/enrollment/start", token)
        return token

    # -- the stored state ------------------------------------------------------------------
    def _settled(self) -> bool:
        notices = self.metadata.tables.get("notices")
        if notices is None:
            return True
        with self.engine.connect() as connection:
            waiting = connection.execute(
                select(notices.c.id).where(notices.c.status.in_(("pending", "sending")))
            ).first()
        return waiting is None

    def before(self) -> Snapshot:
        """The state before a request: the last one's "after", if nothing was sent since."""
        return self.last if self.last is not None else self.snapshot()

    def snapshot(self) -> Snapshot:
        """Every row of every table, once the notices queued by a response were sent."""
        deadline = time.monotonic() + 5.0
        while not self._settled() and time.monotonic() < deadline:
            time.sleep(0.005)  # a notice goes out right after its response; wait for it
        state: Snapshot = {}
        with self.engine.connect() as connection:
            for table in self.metadata.sorted_tables:
                keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.c]
                rows = connection.execute(select(table)).mappings()
                state[table.name] = {tuple(row[k] for k in keys): dict(row) for row in rows}
        return state


WORLD = World()
LOCK = threading.Lock()
TALLIES: dict[str, Any] = {
    "requests": 0,
    "by_operation": Counter(),
    "by_status": Counter(),
    "by_mode": Counter(),
    "outcomes": {},
    "refused_checked": 0,
    "positive_checked": 0,
    "failures": [],
    "world_builds": 0,
}
BEFORE: dict[int, tuple[Snapshot, str]] = {}
#: What a refused request changed that it may not, by the case (read by the check).
PROBLEMS: dict[int, list[str]] = {}


def _write_tally() -> None:
    data = dict(TALLIES)
    data["world_builds"] = WORLD.builds
    data["world_repairs"] = dict(WORLD.repairs)
    TALLY.write_text(json.dumps(data, default=dict, indent=1, sort_keys=True), encoding="utf-8")


atexit.register(_write_tally)


def _error_code(response: Any) -> str | None:
    try:
        payload = json.loads(response.content or b"null")
    except ValueError:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code = payload["error"].get("code")
        return code if isinstance(code, str) else None
    return None


@schemathesis.auth(refresh_interval=None, retry_on=[])
class RoleTokens:
    """Marks a case with its role; ``before_call`` puts the world's current token in."""

    def get(self, case: Any, context: Any) -> str | None:
        return "role"

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": "Bearer {world-token}"}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    with LOCK:
        WORLD.ensure()
        label = case.operation.label
        headers = case.headers or {}
        if headers.get("Authorization") == "Bearer {world-token}":
            token = WORLD.token_for(label)
            if token is None:
                del headers["Authorization"]
            else:
                headers["Authorization"] = f"Bearer {token}"
        BEFORE[id(case)] = (WORLD.before(), label)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    with LOCK:
        before, label = BEFORE.pop(id(case), (None, case.operation.label))
        mode = case.meta.generation.mode.value if case.meta is not None else "explicit"
        TALLIES["requests"] += 1
        TALLIES["by_operation"][label] += 1
        TALLIES["by_status"][str(response.status_code)] += 1
        TALLIES["by_mode"][mode] += 1
        code = _error_code(response) if response.status_code >= 400 else None
        outcomes = TALLIES["outcomes"].setdefault(label, Counter())
        outcomes[code or str(response.status_code)] += 1
        after = WORLD.snapshot()
        WORLD.last = after
        found = changes(before, after) if before is not None else {}
        if response.status_code >= 400 and before is not None:
            TALLIES["refused_checked"] += 1
            problems = forbidden_changes(found, code, body_allowed=_body_allowed(case))
            if problems:
                PROBLEMS[id(case)] = problems
        if code in CLOSING_CODES or (
            response.status_code < 300 and label == "POST /__harness__/reset"
        ):
            WORLD.repair({"rebuild"})
        elif before is not None:
            damage = world_damage(before, after, WORLD.rows)
            WORLD.after_request()
            if damage:
                WORLD.repair(damage)
        WORLD.after_request()
        if TALLIES["requests"] % 500 == 0:
            _write_tally()


def _record(kind: str, case: Any, response: Any, message: str) -> None:
    with LOCK:
        TALLIES["failures"].append(
            {
                "check": kind,
                "operation": case.operation.label,
                "method": case.method.upper(),
                "status": response.status_code,
                "message": message[:500],
            }
        )


def _body_allowed(case: Any) -> bool:
    """Whether the body sent is one the schema allows (an attempt needs one)."""
    if case.meta is None:
        return True
    from schemathesis.core.parameters import ParameterLocation

    body = case.meta.components.get(ParameterLocation.BODY)
    return body is None or not body.mode.is_negative


def _app_without_version(case: Any) -> bool:
    return app_without_version(case.headers or {})


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Keep the fuzzing phases' allowed requests off the one rule a schema cannot state.

    A desktop or mobile client without X-Client-Version is a 400 by contract (its
    parameter says so); left alone, a quarter of the allowed requests would end
    there, before their bodies are read. The coverage phase still sends such
    requests, and ``documented_refusal`` accepts exactly that 400 for them.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return True
    return not _app_without_version(case)


@schemathesis.check
def documented_refusal(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request the schema allows: success, or a documented refusal that depends on state."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if getattr(case.meta.phase.data, "scenario", None) in _PROBES:
        return None
    with LOCK:
        TALLIES["positive_checked"] += 1
    documented = {
        status: spec.get("x-error-codes", [])
        for status, spec in case.operation.definition.raw.get("responses", {}).items()
    }
    problem = refusal_problem(
        response.status_code,
        _error_code(response),
        documented,
        body_bytes=len(response.request.body or b""),
        headers=case.headers or {},
    )
    if problem is None:
        return None
    _record("documented_refusal", case, response, problem)
    raise AssertionError(problem)


@schemathesis.check
def refusal_changes_nothing(ctx: Any, response: Any, case: Any) -> bool | None:
    """A refused request leaves the stored state as it was (an attempt: only its counters)."""
    with LOCK:
        problems = PROBLEMS.pop(id(case), None)
    if not problems:
        return None
    message = f"a refused request changed stored state: {'; '.join(problems)}"
    _record("refusal_changes_nothing", case, response, message)
    raise AssertionError(message)


def _probes() -> frozenset[str]:
    from schemathesis.generation.meta import REQUEST_SHAPE_PROBES

    return frozenset(str(p) for p in REQUEST_SHAPE_PROBES)


_PROBES: Final = _probes()
