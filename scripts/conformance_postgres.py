"""``make conformance-postgres``: the whole suite against two server processes on one PostgreSQL.

Starts a throwaway PostgreSQL 15 cluster (``tests/postgres.py``: Debian's
binaries, a Unix socket, removed at the end), then ``twofa run`` against the
embedded reference server with 2 gunicorn workers on one database of it
(``--target-option workers=2 --target-option database=URL``): the workers
share the harness clock, the mailbox and resets through the database. Exit
status: ``twofa run``'s. Extra arguments go to ``twofa run``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.postgres import Cluster, missing  # noqa: E402 - after the checkout is on the path


def main(argv: list[str]) -> int:
    problem = missing()
    if problem is not None:
        print(f"make conformance-postgres: {problem}", file=sys.stderr)
        return 2
    cluster = Cluster()
    try:
        url = cluster.url(cluster.create_database())
        print(
            f"conformance-postgres: PostgreSQL 15 at {cluster.socket}, 2 workers", file=sys.stderr
        )
        command = [
            str(Path(sys.executable).with_name("twofa")),
            "run",
            "--target-option=workers=2",
            f"--target-option=database={url}",
            "--out",
            "out/reports-postgres",
            *argv,
        ]
        return subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
