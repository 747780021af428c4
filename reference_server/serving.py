"""Serving the app: gunicorn's worker processes, or one werkzeug process (harness mode).

Under gunicorn the app is built and checked once in the master (``preload``),
then each worker process is forked from it. The listening socket is bound by
``serve`` itself before gunicorn starts, so a port in use is one clear error
and ``--port 0`` knows its port at once; the "listening" line comes once every
worker is forked. Forks are kept safe for the database:
the master holds no open connection when it forks (its pool is emptied first),
and the embedded mail sink, the only thing in the master that writes to the
database after start-up, never writes while a worker is being forked.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.sock import TCP6Socket, TCPSocket
from sqlalchemy import Engine

from .mail import EmbeddedSmtp, ReceivedMail

#: gunicorn's default backlog: connections queue here while every worker is busy.
BACKLOG = 2048


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 picks a free port); ``OSError`` if it cannot."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _type, _proto, _name, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn around an app that is already built (preloaded into every worker)."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        return self._app


def guard_forks(engine: Engine, sink: EmbeddedSmtp | None) -> None:
    """Fork only with no database connection open in the master and no mail being stored."""
    storing = threading.Lock()
    if sink is not None:
        deliver = sink.deliver

        def deliver_between_forks(mail: ReceivedMail) -> None:
            with storing:
                deliver(mail)

        sink.deliver = deliver_between_forks

    def before_fork() -> None:
        storing.acquire()
        engine.dispose()  # closes the master's pooled connections: none is inherited

    os.register_at_fork(
        before=before_fork,
        after_in_parent=storing.release,
        after_in_child=lambda: engine.dispose(close=False),
    )


def run_gunicorn(
    app: Flask,
    listener: socket.socket,
    *,
    workers: int,
    threads: int,
    on_ready: Callable[[], None],
) -> int:
    """Serve until SIGTERM/SIGINT with ``workers`` processes; the exit status."""
    options: dict[str, Any] = {
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "preload_app": True,
        "proc_name": "twofa-reference-server",
        # gunicorn would take X-Forwarded-Proto (and SCRIPT_NAME/PATH_INFO headers) from
        # loopback clients on its own: it trusts no peer here, and TWOFA_TRUSTED_PROXIES
        # (ProxyFix in the app) alone decides what came over https.
        "secure_scheme_headers": {},
        "forwarded_allow_ips": "",
        "control_socket_disable": True,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "graceful_timeout": 10,
    }
    # "Listening" once every worker is forked (each has the preloaded app at once),
    # so a client that reads the line finds all of them there.
    forked = [0]

    def _count_fork() -> None:
        forked[0] += 1
        if forked[0] == workers:
            on_ready()

    os.register_at_fork(after_in_parent=_count_fork)
    arbiter = Arbiter(_Gunicorn(app, options))
    socket_type = TCP6Socket if listener.family == socket.AF_INET6 else TCPSocket
    address = listener.getsockname()[:2]
    arbiter.LISTENERS = [socket_type(address, arbiter.cfg, arbiter.log, fd=listener.detach())]
    master = os.getpid()
    try:
        arbiter.run()
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if os.getpid() != master:
            # A worker leaves gunicorn's loop by SystemExit too: it must not run the
            # master's clean-up (stop the mail sink, say "stopped"), only end.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
        return status
    return 0


def run_werkzeug(app: Flask, listener: socket.socket, on_ready: Callable[[], None]) -> int:
    """One process, a thread per request (harness mode's default: quick to start)."""
    from werkzeug.serving import make_server

    host, port = listener.getsockname()[:2]
    # werkzeug serves a duplicate of the socket's descriptor; ours is closed at the end.
    server = make_server(host, port, app, threaded=True, fd=listener.fileno())
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    on_ready()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        listener.close()
    return 0
