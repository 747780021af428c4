"""``make bench``: the reference server's throughput on ``POST /api/v1/auth/otp``, under wrk.

What runs, all on loopback, on this machine's cores:

- the reference server as a deployment runs it: ``python -m reference_server serve
  --harness --workers 2 --password-cost test`` (gunicorn, 2 sync workers; harness mode
  for its frozen clock), once on a SQLite file and once on PostgreSQL 15 (a throwaway
  cluster, ``tests/postgres.py``);
- a bare Flask JSON endpoint (``benchmarks/bare_flask.py``) served by the same code with
  the same gunicorn settings: the ceiling of the server type, measured in the same run;
- on each database, the same endpoint running a wrong code's statements and commit through
  the bare driver (``bare_flask.py --floor-database``): the floor, the fastest any server
  keeping that path's guarantees there can be on these cores;
- where ``make peers`` installed it, privacyIDEA's ``/validate/check`` under gunicorn
  with 2 sync workers too;
- Debian's ``wrk`` (one thread) with ``benchmarks/wrk_requests.lua``, sending requests
  prepared before the timed part, each once.

Two paths, at 1, 2, 4, 8 and 16 connections, each point measured in ``ROUNDS`` interleaved
rounds (the median reported, the others as its range):

- valid codes: every request has a partial token of its own (an agent signed in, at the
  code prompt) and that agent's code for the frozen harness time;
- wrong codes below the lock: every token gets ``WRONG_PER_TOKEN`` wrong codes, fewer
  than the policy's ``max_failures`` (5), so nothing locks.

The agents are written straight into the database before the server starts (each with an
active TOTP device whose secret the bench knows, encrypted with the key the server is
given): 2FA enrollment is not what is measured, and thousands of agents through the
wizard would take minutes. Each point has agents of its own; their sign-ins (through the
API, in parallel) are not timed.

Nothing here passes or fails: the figures are printed with the targets beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import urlencode, urlsplit

from conformance.drivers.process import ServerProcess
from simulators.hotp import hotp

HERE: Final = Path(__file__).resolve().parent
LUA_SCRIPT: Final = HERE / "wrk_requests.lua"
CONNECTIONS: Final = (1, 2, 4, 8, 16)
#: Valid-code requests per point (each with its own agent and token); wrong ones are
#: WRONG_PER_TOKEN times as many, on the same tokens.
REQUESTS_PER_POINT: Final = 1000
WRONG_PER_TOKEN: Final = 2
#: gunicorn sync workers, for every server measured.
WORKERS: Final = 2
#: A wrong code matches no step this far either way (privacyIDEA's default window is 6).
WRONG_CODE_MARGIN: Final = 10
#: Rows (tokens) of the floor endpoint's table (``bare_flask.py --floor-database``).
FLOOR_ROWS: Final = 1000
#: How long the bare endpoint is driven at each point.
BARE_SECONDS: Final = 2.0
#: Interleaved rounds of every point; the median round is reported, the others as its range
#: (single points moved by 10-40 % between quiet runs on the 2-core machine).
ROUNDS: Final = 3
#: A point that has not ended by then is cut (wrk's -d); its figures say so.
POINT_CAP_SECONDS: Final = 60
#: The harness clock stands here for the whole run (a step boundary plus 10 s).
FROZEN_AT: Final = 1_900_000_020.0
PERIOD: Final = 30
PASSWORD: Final = "bench-password-1"
OTP_PATH: Final = "/api/v1/auth/otp"

# Targets (issue 14): ratios to the bare endpoint at the same connections.
VALID_RATIO_TARGET: Final = 0.30
WRONG_RATIO_TARGET: Final = 0.45
P99_TARGET_MS: Final = 25.0
PEER_RATIO_TARGET: Final = 20.0
#: "Does not fall": every point at least this share of the best one at fewer connections.
HOLD_SHARE: Final = 0.95

MARKER: Final = "TWOFA-BENCH "
DONE_MARKER: Final = "TWOFA-BENCH-DONE"
WRK_MISSING: Final = "wrk is not installed: apt-get install -y wrk (make bench does it as root)"


class BenchError(RuntimeError):
    """Something the bench needs is missing or refused (one line, said and skipped)."""


# -- wrk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One timed wrk run: how many responses in how long, their latency and statuses."""

    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: int = 0
    #: Responses whose body held the run's mark (None: no mark was asked for).
    marked: int | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def unexpected(self, expected: int) -> int:
        """Responses not as expected (status, or body without the mark) and socket errors.

        Any at all makes the figure suspect: the point did not measure what it says.
        """
        counted = sum(self.statuses.values())
        wrong = counted - self.statuses.get(expected, 0)
        if self.marked is not None:
            wrong = max(wrong, counted - self.marked)
        return wrong + self.socket_errors


def parse_wrk(output: str, connections: int, *, mark: bool = False) -> Point:
    """The figures from the ``TWOFA-BENCH`` line that ``wrk_requests.lua`` prints."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            found = json.loads(line[len(MARKER) :])
            break
    else:
        raise BenchError(f"wrk printed no figures: {output.strip()[-500:]}")
    errors = found.get("errors", {})
    return Point(
        connections=connections,
        requests=int(found["requests"]),
        seconds=found["duration_us"] / 1e6,
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        statuses={int(k): int(v) for k, v in found.get("statuses", {}).items()},
        socket_errors=sum(int(errors.get(k, 0)) for k in ("connect", "read", "write", "timeout")),
        marked=int(found["marked"]) if mark else None,
    )


def request_line(
    path: str,
    body: dict[str, Any],
    authorization: str | None = None,
    *,
    form: bool = False,
) -> str:
    """One line of the request file ``wrk_requests.lua`` reads (a JSON or a form body)."""
    if form:
        content_type, text = "application/x-www-form-urlencoded", urlencode(body)
    else:
        content_type, text = "application/json", json.dumps(body, separators=(",", ":"))
    return f"{path}\t{authorization or '-'}\t{content_type}\t{text}"


def spares_needed(connections: int) -> int:
    """Request lines beyond ``count``: one in flight per connection, one wrk's check uses."""
    return connections + 1


def run_wrk(
    url: str,
    lines: Sequence[str],
    *,
    connections: int,
    count: int,
    seconds: float = POINT_CAP_SECONDS,
    workdir: Path,
    mark: str = "",
) -> Point:
    """Send ``lines`` in order, each once, until ``count`` responses (0: cycle for ``seconds``).

    With ``count``, the Lua script says when the count-th response is in and wrk is
    interrupted then (SIGINT ends its main thread's sleep; the duration it prints runs
    from its start to that moment), so a point takes as long as its requests, not ``seconds``.
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError(WRK_MISSING)
    if count and len(lines) < count + spares_needed(connections):
        raise BenchError(f"{len(lines)} prepared requests cannot serve {count} at {connections}")
    requests = workdir / "requests.txt"
    requests.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [
        wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(LUA_SCRIPT), url, "--", str(requests), str(count), mark,
    ]  # fmt: skip
    return parse_wrk(_run(command, timeout=seconds + 30), connections, mark=bool(mark))


def _run(command: Sequence[str], *, timeout: float) -> str:
    """wrk's output; interrupted as soon as the script prints ``DONE_MARKER``."""
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    output: list[str] = []
    try:
        for line in process.stdout:
            output.append(line)
            if line.strip() == DONE_MARKER:
                process.send_signal(signal.SIGINT)
            if time.monotonic() > deadline:
                break
        rest, errors = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise BenchError(f"wrk did not finish within {timeout:.0f} s") from None
    output.append(rest)
    if process.returncode not in (0, -signal.SIGINT):
        raise BenchError(f"wrk failed ({process.returncode}): {errors.strip()[-500:]}")
    return "".join(output)


# -- a small parallel HTTP client for the untimed set-up ----------------------------------


async def _exchange(
    host: str, port: int, method: str, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, Any]:
    payload = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    status = int(status_line.split()[1])
    _headers, _, content = rest.partition(b"\r\n\r\n")
    try:
        return status, json.loads(content) if content else None
    except ValueError:
        return status, content.decode(errors="replace")


def post_all(
    url: str,
    calls: Sequence[tuple[str, Any, dict[str, str]]],
    *,
    concurrency: int = 16,
) -> list[tuple[int, Any]]:
    """POST each ``(path, json, headers)`` with ``concurrency`` in flight; answers in order."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def everything() -> list[tuple[int, Any]]:
        gate = asyncio.Semaphore(concurrency)

        async def one(path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
            async with gate:
                return await _exchange(host, port, "POST", path, body, headers)

        return await asyncio.gather(*(one(*call) for call in calls))

    return asyncio.run(everything())


# -- codes -----------------------------------------------------------------------------------


def totp(secret: bytes, step: int, digits: int = 6) -> str:
    """The code of ``step`` (SHA-1): the simulators' reference HOTP, not the server's."""
    return hotp(secret, step, digits=digits)


def wrong_code(secret: bytes, step: int, *, around: int = WRONG_CODE_MARGIN) -> str:
    """A code no step within ``around`` of ``step`` has (so no window accepts it)."""
    taken = {totp(secret, s) for s in range(step - around, step + around + 1)}
    candidate = int(totp(secret, step))
    while True:
        candidate = (candidate + 1) % 1_000_000
        code = str(candidate).zfill(6)
        if code not in taken:
            return code


# -- targets -------------------------------------------------------------------------------


class Target(Protocol):
    """A server measured on both paths: the reference server on a database, or a peer."""

    # Read-only members: a target may keep them as class constants.
    @property
    def label(self) -> str: ...
    @property
    def url(self) -> str: ...
    #: Expected statuses of a wrong code and of a valid one, and the mark in each body.
    @property
    def expected(self) -> tuple[int, int]: ...
    @property
    def marks(self) -> tuple[str, str]: ...
    @property
    def requests_per_point(self) -> int: ...
    @property
    def seed_seconds(self) -> float: ...

    def prepare(self, point: int, count: int, spares: int) -> tuple[list[str], list[str]]:
        """The request lines of one point: wrong codes, then valid ones on the same tokens."""
        ...

    def stop(self) -> None: ...


def spread(per_token: Sequence[Sequence[str]], rounds: int) -> list[str]:
    """Round-robin over the tokens: one token's requests stay far apart (never concurrent)."""
    return [lines[i] for i in range(rounds) for lines in per_token]


class ReferenceServer:
    """``serve --harness --workers 2`` on a database seeded with the bench's agents."""

    expected = (401, 200)
    marks = ('"code":"otp_invalid"', '"next":"done"')

    def __init__(
        self,
        label: str,
        database_url: str,
        workdir: Path,
        *,
        points: int,
        per_point: int,
        requests: int,
    ) -> None:
        self.label = label
        self.workdir = workdir
        self.requests_per_point = requests
        self._per_point = per_point
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        started = time.perf_counter()
        self._secrets = seed_agents(database_url, key, points * per_point)
        env = {
            "DATABASE_URL": database_url,
            "TWOFA_SECRET_KEY": key,
            "TWOFA_INSTANCE_PATH": str(workdir / "instance"),
        }
        command = [
            sys.executable, "-m", "reference_server", "serve", "--harness",
            "--workers", str(WORKERS), "--port", "0", "--password-cost", "test",
        ]  # fmt: skip
        self.process = ServerProcess(
            command,
            name=f"reference server ({label})",
            log_path=workdir / "server.log",
            env=env,
            ready=r"twofa-reference-server listening on (http://\S+)",
        )
        assert self.process.ready_match is not None
        self.url = self.process.ready_match.group(1)
        _put_json(self.url, "/__harness__/clock", {"now": FROZEN_AT})
        self.seed_seconds = time.perf_counter() - started

    def prepare(self, point: int, count: int, spares: int) -> tuple[list[str], list[str]]:
        first = point * self._per_point
        agents = range(first, first + count + spares)
        if count + spares > self._per_point:
            raise BenchError(f"{count + spares} agents asked of {self._per_point} per point")
        answers = post_all(
            self.url,
            [
                ("/api/v1/auth/sign-in", {"email": agent_email(i), "password": PASSWORD}, {})
                for i in agents
            ],
        )
        step = int(FROZEN_AT // PERIOD)
        wrong: list[list[str]] = []
        valid: list[str] = []
        for i, (status, answer) in zip(agents, answers, strict=True):
            if status != 200 or not isinstance(answer, dict) or answer.get("next") != "verify_otp":
                raise BenchError(f"sign-in of {agent_email(i)} answered {status} {answer}")
            bearer = f"Bearer {answer['token']}"
            secret = self._secrets[i]
            wrong.append(
                [
                    request_line(OTP_PATH, {"code": wrong_code(secret, step)}, bearer)
                    for _ in range(WRONG_PER_TOKEN)
                ]
            )
            valid.append(request_line(OTP_PATH, {"code": totp(secret, step)}, bearer))
        return spread(wrong, WRONG_PER_TOKEN), valid

    def stop(self) -> None:
        self.process.stop()


def agent_email(index: int) -> str:
    return f"bench{index}@bench.test"


def seed_agents(database_url: str, key: str, count: int) -> list[bytes]:
    """``count`` agents on a 2FA seat, each with an active TOTP device; their secrets.

    Written with the server's own models and secret box (the key the server gets), on
    the schema the server would make; two-factor authentication is required.
    """
    from sqlalchemy import insert

    from reference_server.__main__ import PASSWORD_COSTS
    from reference_server.app import make_engine
    from reference_server.models import Agent, Base, Device, Setting
    from reference_server.security import Passwords, SecretBox

    engine = make_engine(database_url)
    try:
        Base.metadata.create_all(engine)
        box = SecretBox(key.encode())
        password_hash = Passwords(PASSWORD_COSTS["test"]).hash(PASSWORD)
        secrets = [os.urandom(20) for _ in range(count)]
        with engine.begin() as connection:
            connection.execute(insert(Setting), [{"id": 1, "two_factor_required": True}])
            connection.execute(
                insert(Agent),
                [
                    {
                        "id": i + 1,
                        "email": agent_email(i),
                        "password_hash": password_hash,
                        "seat": "remote_support",
                        "role": "agent",
                        "created_at": FROZEN_AT - 86_400,
                        "otp_failures": 0,
                        "otp_disabled": False,
                    }
                    for i in range(count)
                ],
            )
            connection.execute(
                insert(Device),
                [
                    {
                        "agent_id": i + 1,
                        "status": "active",
                        "secret_encrypted": box.encrypt(secret),
                        "algorithm": "SHA1",
                        "digits": 6,
                        "period": PERIOD,
                        "enrolled_at": FROZEN_AT - 86_400,
                        "drift": 0,
                    }
                    for i, secret in enumerate(secrets)
                ],
            )
    finally:
        engine.dispose()
    return secrets


def _put_json(url: str, path: str, body: Any) -> Any:
    import urllib.request

    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class BareFlask:
    """``benchmarks/bare_flask.py`` under gunicorn: the ceiling.

    With ``floor_database``, the same endpoint also runs a wrong code's statements on that
    database through the bare driver (``bare_flask.py``): the floor of the server's cost.
    """

    label = "bare Flask"

    def __init__(self, workdir: Path, floor_database: str | None = None, name: str = "") -> None:
        floor = (
            ["--floor-database", floor_database, "--floor-rows", str(FLOOR_ROWS)]
            if floor_database
            else []
        )
        self.process = ServerProcess(
            [sys.executable, "-m", "benchmarks.bare_flask", "--port", "0",
             "--workers", str(WORKERS), *floor],
            name=f"bare Flask {name}".strip(),
            log_path=workdir / f"bare{'-' + name if name else ''}.log",
            ready=r"bare flask listening on (http://\S+)",
            cwd=HERE.parent,
        )  # fmt: skip
        assert self.process.ready_match is not None
        self.url = self.process.ready_match.group(1)
        # Codes 0..FLOOR_ROWS-1: the floor spreads them over its rows, as tokens are spread.
        self.lines = [
            request_line(OTP_PATH, {"code": f"{i:06d}"}, "Bearer " + "b" * 43)
            for i in range(FLOOR_ROWS if floor_database else 1)
        ]

    def stop(self) -> None:
        self.process.stop()


# -- the run -------------------------------------------------------------------------------


@dataclass
class Results:
    """Every point measured, by path: ``bare``, then ``LABEL valid`` / ``LABEL wrong``.

    A path holds one point per round at each connection count; what is reported at a
    count is the round of median throughput there (``at``), with the others as its spread.
    """

    points: dict[str, list[Point]] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)

    def add(self, path: str, point: Point, expected: int) -> None:
        self.points.setdefault(path, []).append(point)
        self.expected[path] = expected

    def rounds(self, path: str, connections: int) -> list[Point]:
        """Every round's point of ``path`` at ``connections``, slowest first."""
        found = [p for p in self.points.get(path, []) if p.connections == connections]
        return sorted(found, key=lambda p: p.rate)

    def at(self, path: str, connections: int) -> Point | None:
        """The median round at ``connections`` (of an even count, the slower middle one)."""
        found = self.rounds(path, connections)
        return found[(len(found) - 1) // 2] if found else None

    def medians(self, path: str) -> list[Point]:
        """The median point at each connection count of ``path``, in rising order."""
        counts = sorted({p.connections for p in self.points.get(path, [])})
        return [point for c in counts if (point := self.at(path, c)) is not None]


@contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="twofa-bench-throughput-") as tmp:
        yield Path(tmp)


def measure(
    targets: Sequence[Target],
    bare: BareFlask,
    *,
    connections: Sequence[int],
    bare_seconds: float,
    workdir: Path,
    floors: dict[str, BareFlask] | None = None,
    rounds: int = 1,
    progress: bool = True,
) -> Results:
    """``rounds`` times, each connection count in turn: the bare endpoint, the floors, then
    each target's two paths. The rounds interleave, so a slow spell of the machine lands in
    one round of every path rather than in every round of one (the median discards it)."""
    results = Results()
    spares = spares_needed(max(connections))
    for index, (done, c) in enumerate((done, c) for done in range(rounds) for c in connections):
        started = time.perf_counter()
        results.add(
            "bare",
            run_wrk(bare.url, bare.lines, connections=c, count=0, seconds=bare_seconds,
                    workdir=workdir),
            200,
        )  # fmt: skip
        for label, floor in (floors or {}).items():
            results.add(
                f"{label} floor",
                run_wrk(floor.url, floor.lines, connections=c, count=0, seconds=bare_seconds,
                        workdir=workdir),
                200,
            )  # fmt: skip
        for target in targets:
            n = target.requests_per_point
            wrong, valid = target.prepare(index, n, spares)
            (wrong_status, valid_status), (wrong_mark, valid_mark) = target.expected, target.marks
            results.add(
                f"{target.label} wrong",
                run_wrk(target.url, wrong, connections=c, count=n * WRONG_PER_TOKEN,
                        workdir=workdir, mark=wrong_mark),
                wrong_status,
            )  # fmt: skip
            results.add(
                f"{target.label} valid",
                run_wrk(target.url, valid, connections=c, count=n, workdir=workdir,
                        mark=valid_mark),
                valid_status,
            )  # fmt: skip
        if progress:
            print(
                f"  ... round {done + 1} of {rounds}: {c} connection{'s' if c > 1 else ''} "
                f"done ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    return results


def ratio_text(value: float | None) -> str:
    """A ratio as printed beside a figure: ``x0.42``, or ``x  -  `` without one."""
    return "x  -  " if value is None else f"x{value:5.2f}"


def spread_text(rounds: Sequence[Point]) -> str:
    """The range of throughput over the rounds of one point (empty for a single round)."""
    if len(rounds) < 2:
        return ""
    return f"  [{len(rounds)} rounds {rounds[0].rate:,.0f}-{rounds[-1].rate:,.0f}]"


def _fmt_point(point: Point, bare: Point | None, expected: int, rounds: Sequence[Point]) -> str:
    ratio = point.rate / bare.rate if bare and bare.rate else None
    flag = ""
    odd = sum(p.unexpected(expected) for p in rounds)
    if odd:
        # The count over every round; the statuses and marks of the median round shown.
        flag = (
            f"  ({odd} of {sum(p.requests for p in rounds)} not as "
            f"expected: {dict(sorted(point.statuses.items()))}, marked {point.marked})"
        )
    return (
        f"{point.rate:8,.0f} req/s  {ratio_text(ratio)}  p50 {point.p50_ms:6.1f} ms  "
        f"p99 {point.p99_ms:6.1f} ms{spread_text(rounds)}{flag}"
    )


def _row(results: Results, path: str, point: Point, expected: int) -> str:
    """One printed line: the median round at a connection count, its ratio and spread."""
    c = point.connections
    rounds = results.rounds(path, c)
    if path == "bare":
        return (
            f"  {c:2d} conn  {point.rate:8,.0f} req/s          p50 {point.p50_ms:6.1f} ms  "
            f"p99 {point.p99_ms:6.1f} ms{spread_text(rounds)}"
        )
    return f"  {c:2d} conn  " + _fmt_point(point, results.at("bare", c), expected, rounds)


def holds(points: Sequence[Point], share: float = HOLD_SHARE) -> bool:
    """Throughput does not fall as connections rise: each point ≥ ``share`` of the best before.

    ``points`` in rising order of connections; a tolerance of 1 - ``share`` for noise.
    """
    best = 0.0
    for point in sorted(points, key=lambda p: p.connections):
        if point.rate < share * best:
            return False
        best = max(best, point.rate)
    return True


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report(results: Results, labels: Sequence[str], peer: str | None) -> list[str]:
    """The table and the verdicts, as lines."""
    lines = []
    bare = results.medians("bare")
    lines.append("bare Flask JSON endpoint (same server, settings and load)")
    for point in bare:
        lines.append(_row(results, "bare", point, 200))
    top = max((p.connections for p in bare), default=16)
    if len(bare) > 1:
        # The rule the targets apply, applied to the server type alone: a dip it has too
        # is gunicorn's and the machine's, not the reference server's.
        lines.append(
            f"  the same rule for the bare endpoint: does not fall from {bare[0].connections} "
            f"to {top} conn: {_met(holds(bare))}"
        )
    for label in labels:
        floor = results.medians(f"{label} floor")
        if floor:
            lines.append(
                f"{label} floor: the bare endpoint running a wrong code's statements and commit "
                "through the bare driver (no ORM, no checks, no HMAC)"
            )
            for point in floor:
                lines.append(_row(results, f"{label} floor", point, 200))
            floor_top, bare_top = results.at(f"{label} floor", top), results.at("bare", top)
            if floor_top is not None and bare_top is not None and bare_top.rate:
                ceiling = floor_top.rate / bare_top.rate
                for kind, target in (("valid", VALID_RATIO_TARGET), ("wrong", WRONG_RATIO_TARGET)):
                    if ceiling < target:
                        lines.append(
                            f"  the {kind}-code target x{target:.2f} is above this floor "
                            f"(x{ceiling:.2f} at {top} conn): no server that runs these "
                            f"statements on {label} meets it on these cores"
                        )
        for kind, target in (("valid", VALID_RATIO_TARGET), ("wrong", WRONG_RATIO_TARGET)):
            path = f"{label} {kind}"
            points = results.medians(path)
            if not points:
                continue
            lines.append(f"{path} codes (x: ratio to bare at the same connections)")
            for point in points:
                lines.append(_row(results, path, point, results.expected[path]))
            if label == peer:
                continue
            last = results.at(path, top)
            last_bare = results.at("bare", top)
            if last is not None and last_bare is not None and last_bare.rate:
                ratio = last.rate / last_bare.rate
                spoilt = sum(p.unexpected(results.expected[path]) for p in results.points[path])
                lines.append(
                    f"  targets: ratio at {top} conn {ratio:.2f} >= {target:.2f}: "
                    f"{_met(ratio >= target)}; p99 at {top} conn {last.p99_ms:.1f} ms < "
                    f"{P99_TARGET_MS:.0f} ms: {_met(last.p99_ms < P99_TARGET_MS)}; "
                    f"does not fall from {points[0].connections} to {top} conn: "
                    f"{_met(holds(points))}"
                    + (f"; {spoilt} responses not as expected: figures suspect" if spoilt else "")
                )
                floor_top = results.at(f"{label} floor", top)
                if floor_top is not None and floor_top.rate:
                    lines.append(
                        f"  at {top} conn: {last.rate / floor_top.rate:.0%} of {label}'s floor "
                        f"(which is itself x{floor_top.rate / last_bare.rate:.2f})"
                    )
    if peer is not None:
        for label in labels:
            if label == peer:
                continue
            for kind in ("valid", "wrong"):
                ours = results.at(f"{label} {kind}", top)
                theirs = results.at(f"{peer} {kind}", top)
                if ours and theirs and theirs.rate:
                    ratio = ours.rate / theirs.rate
                    lines.append(
                        f"{label} / {peer}, {kind} codes at {top} conn: {ratio:5.1f}x "
                        f"(target >= {PEER_RATIO_TARGET:.0f}x): {_met(ratio >= PEER_RATIO_TARGET)}"
                    )
    return lines


def _postgres_target(
    workdir: Path, points: int, per_point: int, requests: int
) -> tuple[ReferenceServer, Any] | str:
    """The reference server on a fresh PostgreSQL cluster, or why not."""
    from tests.postgres import Cluster, missing

    problem = missing()
    if problem is not None:
        return problem
    cluster = Cluster()
    try:
        database = cluster.create_database()
        server = ReferenceServer(
            "postgresql",
            cluster.url(database),
            workdir,
            points=points,
            per_point=per_point,
            requests=requests,
        )
    except Exception:
        cluster.stop()
        raise
    return server, cluster


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks throughput",
        description="POST /api/v1/auth/otp throughput under wrk",
    )
    parser.add_argument("--requests", type=int, default=REQUESTS_PER_POINT)
    parser.add_argument("--bare-seconds", type=float, default=BARE_SECONDS)
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS))
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help=f"interleaved rounds of every point, the median reported (default {ROUNDS})",
    )
    parser.add_argument("--no-peer", action="store_true", help="skip privacyIDEA")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    connections = sorted(set(args.connections))
    print(
        f"POST {OTP_PATH} under wrk (1 thread, loopback), gunicorn {WORKERS} sync workers, "
        f"{os.cpu_count()} cores; {args.requests} valid and {args.requests * WRONG_PER_TOKEN} "
        f"wrong codes per point ({WRONG_PER_TOKEN} per token, below the lock of 5); "
        f"the median of {args.rounds} interleaved round{'s' if args.rounds > 1 else ''}"
        " at each point, [its range]"
    )
    if shutil.which("wrk") is None:
        print(f"  skipped: {WRK_MISSING}")
        return Results()
    targets: list[Target] = []
    cleanup: list[Any] = []
    peer: str | None = None
    spares = spares_needed(max(connections))
    per_point = args.requests + spares
    points = len(connections) * args.rounds
    results = Results()
    floors: dict[str, BareFlask] = {}
    with _workdir() as workdir:
        try:
            bare = BareFlask(workdir)
            cleanup.append(bare)
            if "sqlite" in args.databases:
                (workdir / "sqlite").mkdir()
                url = f"sqlite:///{workdir / 'sqlite' / 'bench.sqlite3'}"
                server = ReferenceServer(
                    "sqlite",
                    url,
                    workdir / "sqlite",
                    points=points,
                    per_point=per_point,
                    requests=args.requests,
                )
                targets.append(server)
                cleanup.append(server)
                floor_url = f"sqlite:///{workdir / 'sqlite' / 'floor.sqlite3'}"
                floors["sqlite"] = BareFlask(workdir, floor_url, name="sqlite-floor")
                cleanup.append(floors["sqlite"])
            if "postgresql" in args.databases:
                (workdir / "postgresql").mkdir()
                made = _postgres_target(workdir / "postgresql", points, per_point, args.requests)
                if isinstance(made, str):
                    print(f"  PostgreSQL skipped: {made}")
                else:
                    server, cluster = made
                    targets.append(server)
                    cleanup += [cluster, server]
                    floor_url = cluster.url(cluster.create_database())
                    floors["postgresql"] = BareFlask(workdir, floor_url, name="postgresql-floor")
                    cleanup.append(floors["postgresql"])
            if args.no_peer:
                print("  privacyIDEA skipped: --no-peer")
            else:
                from benchmarks import privacyidea_peer

                found = privacyidea_peer.start(
                    workdir / "privacyidea", points=points, spares=spares
                )
                if isinstance(found, str):
                    print(f"  privacyIDEA skipped: {found}")
                else:
                    targets.append(found)
                    cleanup.append(found)
                    peer = found.label
                    print(
                        f"  privacyIDEA 3.14 /validate/check under the same gunicorn settings: "
                        f"{found.requests_per_point} valid and "
                        f"{found.requests_per_point * WRONG_PER_TOKEN} wrong codes per point"
                    )
            for target in targets:
                print(
                    f"  {target.label}: set up in {target.seed_seconds:.1f} s (untimed)",
                    file=sys.stderr,
                )
            results = measure(
                targets,
                bare,
                connections=connections,
                bare_seconds=args.bare_seconds,
                workdir=workdir,
                floors=floors,
                rounds=args.rounds,
            )
        finally:
            for item in reversed(cleanup):
                item.stop()
    for line in report(results, [t.label for t in targets], peer):
        print(line)
    return results


if __name__ == "__main__":
    main()
