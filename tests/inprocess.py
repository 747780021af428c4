"""The reference server served in the test process, reached over HTTP like any target.

``InProcessTarget(policy)`` builds the app as ``python -m reference_server serve
--harness --password-cost test`` does (a temporary instance folder and SQLite
database, an embedded SMTP sink, the demo seed) and serves it with werkzeug from
a daemon thread on loopback: the harness sees a remote target with ``/__harness__``
controls. It starts and stops in about 0.1 s where a server process takes about
0.5 s to start and 0.3 s to stop: for tests about the checks, not the server's process.

Each one is its own app: its own database (where the harness clock, the mailbox
and the seed live), its own ``Rules`` (so its faults), its own sink. Nothing is
read from ``os.environ``: a ``TWOFA_HARNESS_CRASH_AT`` would make the server
SIGKILL its process, here the test run, and an ``SMTP_HOST`` would send real mail.
No signal handler is installed (``serve``'s werkzeug loop installs SIGINT/SIGTERM
ones) and no fork hook (gunicorn's): the test process keeps its own.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from conformance.target import Target
from reference_server.__main__ import PASSWORD_COSTS
from reference_server.app import create_app
from reference_server.environment import config_from_environment
from reference_server.mail import EmbeddedSmtp
from reference_server.seed import DEMO_SEED
from reference_server.services import Services

HOST = "127.0.0.1"


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request (werkzeug would install a stderr handler for it)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: the checks' evidence records every exchange already."""


class InProcessTarget(Target):
    """The reference server in harness mode, in this process, with ``policy`` (faults...)."""

    def __init__(self, policy: Mapping[str, Any] | None = None) -> None:
        #: The temporary instance folder (database, throwaway key file): removed at close.
        self.instance_path = Path(tempfile.mkdtemp(prefix="twofa-inprocess-"))
        environment = {
            "TWOFA_INSTANCE_PATH": str(self.instance_path),
            "DATABASE_URL": f"sqlite:///{self.instance_path / 'reference.sqlite'}",
        }
        config = config_from_environment(environment, harness=True)
        self._sink = EmbeddedSmtp(HOST, 0)
        self._sink.start()
        try:
            config.update(
                {
                    "SMTP_SINK": self._sink,
                    "POLICY": dict(policy) if policy is not None else None,
                    "PASSWORD_HASH": PASSWORD_COSTS["test"],
                }
            )
            app = create_app(config)
            self.services: Services = app.extensions["twofa"]
            with self.services.sessions.begin() as db:
                self.services.load_seed(db, DEMO_SEED)
            self._server = make_server(HOST, 0, app, threaded=True, request_handler=_QuietHandler)
        except BaseException:
            self._sink.stop()
            shutil.rmtree(self.instance_path, ignore_errors=True)
            raise
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"inprocess-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._closed = False
        super().__init__(f"http://{HOST}:{self.port}")

    def close(self) -> None:
        """Stop serving, stop the sink, close the database and remove the folder."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()
        self._sink.stop()
        self.services.engine.dispose()
        shutil.rmtree(self.instance_path, ignore_errors=True)

    def __enter__(self) -> InProcessTarget:
        return self
