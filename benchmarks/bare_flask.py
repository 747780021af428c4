"""The bare endpoint ``make bench`` compares the reference server with.

A Flask app with one route, ``POST /api/v1/auth/otp``: it reads the JSON body
and answers a small JSON object, nothing else (no database, no checks). It is
served exactly as the reference server is, by ``reference_server.serving``
(gunicorn, the same options, sync workers), so the ratio of the two is what
the server's own work costs.

    python -m benchmarks.bare_flask --port PORT [--workers 2]

prints ``bare flask listening on http://127.0.0.1:PORT`` once every worker is forked.

With ``--floor-database URL`` it answers the same route the way a wrong sign-in code
needs the database at the least: the statements the reference server runs for one
(the harness clock's row, the token's row, the conditional counting UPDATE with
RETURNING, the re-read under its lock) and the commit, straight through the driver
(``sqlite3`` or ``psycopg``, one connection per worker, no ORM, no checks, no HMAC).
Its ratio to the bare endpoint is the ceiling for any server that keeps those
guarantees on that database and these cores: the "floor" of the server's own cost.

    python -m benchmarks.bare_flask --floor-database sqlite:////tmp/f.sqlite3 --floor-rows 1000
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import threading
from collections.abc import Callable
from typing import Any, Final

from flask import Flask, Response, jsonify, request

from reference_server.serving import listen, run_gunicorn

LISTENING = "bare flask listening on"

#: The floor's tables: a clock row and one row per token (its agent's throttle state).
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS floor_clock (id INTEGER PRIMARY KEY, fixed_at FLOAT)",
    "CREATE TABLE IF NOT EXISTS floor_agents (id INTEGER PRIMARY KEY, digest VARCHAR(64),"
    " failures INTEGER NOT NULL, locked_until FLOAT)",
)
#: A wrong code's statements, as the reference server's path runs them (psycopg's style).
_WRONG_CODE: Final = (
    "SELECT fixed_at FROM floor_clock WHERE id = 1",
    "SELECT id, digest, failures, locked_until FROM floor_agents WHERE id = %s",
    "UPDATE floor_agents SET failures = failures + 1 WHERE id = %s AND locked_until IS NULL"
    " RETURNING failures, locked_until",
    "SELECT failures, locked_until FROM floor_agents WHERE id = %s",
)


def _connect(url: str) -> tuple[Any, Callable[[str], str]]:
    """A DB-API connection to ``url`` and the rewrite of ``%s`` to its parameter style."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # as the reference server runs it
        return connection, lambda sql: sql.replace("%s", "?")
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    return psycopg.connect(dsn), lambda sql: sql


def prepare_floor(url: str, rows: int) -> None:
    """The floor's tables, with ``rows`` rows of agents (counts back at 0)."""
    connection, style = _connect(url)
    try:
        cursor = connection.cursor()
        for statement in _SCHEMA:
            cursor.execute(statement)
        cursor.execute("DELETE FROM floor_agents")
        cursor.execute("DELETE FROM floor_clock")
        cursor.execute(style("INSERT INTO floor_clock (id, fixed_at) VALUES (1, %s)"), (1.0,))
        cursor.executemany(
            style("INSERT INTO floor_agents (id, digest, failures) VALUES (%s, %s, 0)"),
            [(i, f"{i:064x}") for i in range(1, rows + 1)],
        )
        connection.commit()
    finally:
        connection.close()


def make_app(floor_database: str | None = None, floor_rows: int = 1) -> Flask:
    """One JSON route, the shape of the reference server's answer to a code."""
    app = Flask("bare_flask")
    local = threading.local()  # a connection per worker, opened after the fork

    def floor(body: dict[str, Any]) -> None:
        assert floor_database is not None
        if not hasattr(local, "connection"):
            local.connection, style = _connect(floor_database)
            local.statements = [style(sql) for sql in _WRONG_CODE]
        row = int(str(body.get("code", "0"))) % floor_rows + 1
        cursor = local.connection.cursor()
        clock, token, reserve, reread = local.statements
        cursor.execute(clock)
        cursor.fetchone()
        for statement in (token, reserve, reread):
            cursor.execute(statement, (row,))
            cursor.fetchone()
        local.connection.commit()

    @app.post("/api/v1/auth/otp")
    def otp() -> tuple[Response, int]:
        body = request.get_json(silent=True) or {}
        if floor_database is not None:
            floor(body)
        return jsonify({"token": "bare", "next": "done", "got": len(body)}), 200

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--floor-database", help="answer with a wrong code's statements here")
    parser.add_argument("--floor-rows", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.floor_database:
        prepare_floor(args.floor_database, args.floor_rows)
    listener = listen("127.0.0.1", args.port)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def ready() -> None:
        print(f"{LISTENING} {url}", flush=True)

    return run_gunicorn(
        make_app(args.floor_database, args.floor_rows),
        listener,
        workers=args.workers,
        threads=1,
        on_ready=ready,
    )


if __name__ == "__main__":
    sys.exit(main())
