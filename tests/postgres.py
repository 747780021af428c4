"""A throwaway PostgreSQL 15 cluster for the tests, from Debian's binaries.

``initdb`` refuses to run as root, so as root (CI) the cluster belongs to the
``postgres`` user (``runuser``); otherwise to whoever runs the tests. It listens
on a Unix socket only, in its own folder, with durability off (a test cluster
is thrown away, and the tests kill server processes, never PostgreSQL). Each
test gets a database of its own (``create_database``).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

import psycopg

PG_BIN: Final = Path("/usr/lib/postgresql/15/bin")
#: How a missing PostgreSQL is installed (the Makefile does it on a fresh machine).
REMEDY: Final = "apt-get install -y postgresql-15 (make test does it as root)"


def missing() -> str | None:
    """Why no cluster can be started here, or None."""
    if not (PG_BIN / "initdb").is_file():
        return f"PostgreSQL 15 is not installed at {PG_BIN}: {REMEDY}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs a 'postgres' user for initdb: " + REMEDY
    return None


class Cluster:
    """One running test cluster; ``stop()`` ends it and removes its files."""

    def __init__(self) -> None:
        problem = missing()
        if problem is not None:
            raise RuntimeError(problem)
        self.root = Path(tempfile.mkdtemp(prefix="twofa-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.socket.mkdir()
        self.port = 5432
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            for path in (self.root, self.socket):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._names = itertools.count(1)
        self._run(
            PG_BIN / "initdb",
            "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        options = (
            f"-c listen_addresses='' -c unix_socket_directories={self.socket} "
            f"-p {self.port} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(
            PG_BIN / "pg_ctl", "-D", str(self.data), "-o", options, "-w", "-t", "60",
            "-l", str(self.root / "server.log"), "start",
        )  # fmt: skip

    def _run(self, *command: object) -> None:
        argv = [str(part) for part in command]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout}{done.stderr}")

    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL over the cluster's Unix socket."""
        return f"{driver}://postgres@/{database}?host={self.socket}&port={self.port}"

    def execute(self, statement: str) -> None:
        """One statement on the cluster's maintenance database, outside a transaction."""
        connection = psycopg.connect(
            host=str(self.socket), port=self.port, user="postgres", dbname="postgres",
            autocommit=True,
        )  # fmt: skip
        try:
            connection.execute(statement.encode())
        finally:
            connection.close()

    def create_database(self) -> str:
        """A new, empty database; its name."""
        name = f"twofa_test_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            self._run(PG_BIN / "pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
