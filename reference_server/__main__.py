"""``python -m reference_server serve [--harness] [--host H] [--port P]``.

Starts the reference server on a werkzeug WSGI server. Without ``SMTP_HOST``
it starts an embedded SMTP server (aiosmtpd, loopback, a free port) and sends
the verification mail there. Harness mode binds to loopback only, enables the
``/__harness__`` endpoints, loads the demo seed into an empty database and
prints it. The last line printed at start is always::

    twofa-reference-server listening on http://HOST:PORT

Environment: ``DATABASE_URL`` (any SQLAlchemy URL; default a SQLite file in the
instance folder), ``SMTP_HOST``/``SMTP_PORT``, ``TOTP_ENCRYPTION_KEY`` (a Fernet
key; default a generated key file in the instance folder),
``TWOFA_INSTANCE_PATH``, ``TWOFA_POLICY_FILE`` (YAML, shaped like
``/__harness__/policy``). ``--password-cost test`` (harness mode only) hashes
passwords with the cheapest argon2id parameters, for fast test runs.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import yaml

LISTENING = "twofa-reference-server listening on"

#: argon2id costs: OWASP's baseline, or the cheapest for test runs, where every
#: harness reset hashes the seed's passwords and the flow, not the hash, is under test.
PASSWORD_COSTS: dict[str, dict[str, int] | None] = {
    "owasp": None,
    "test": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}


class UsageError(Exception):
    """Bad command-line arguments (exit status 2, one line on stderr)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m reference_server", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="run the reference server")
    serve.add_argument("--harness", action="store_true", help="harness mode (loopback only)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port (0 picks a free one)")
    serve.add_argument("--policy", type=Path, default=None, help="policy YAML file")
    serve.add_argument(
        "--password-cost",
        choices=sorted(PASSWORD_COSTS),
        default="owasp",
        help="argon2id cost: owasp (default) or test (cheapest; harness mode only)",
    )
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load_policy(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read the policy file {path}: {exc}") from None
    if document is not None and not isinstance(document, dict):
        raise UsageError(f"the policy file {path} must hold a mapping")
    return document


def serve(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    started = time.monotonic()
    if args.harness and not _is_loopback(args.host):
        raise UsageError(f"--harness binds to loopback only, not {args.host}")
    if PASSWORD_COSTS[args.password_cost] is not None and not args.harness:
        # A cheap hash is a test instrument, like the faults: never outside harness mode.
        raise UsageError("--password-cost test is allowed in harness mode only")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, not {args.port}")
    policy_path = args.policy or (
        Path(os.environ["TWOFA_POLICY_FILE"]) if os.environ.get("TWOFA_POLICY_FILE") else None
    )
    policy = _load_policy(policy_path)

    # Imported here so that argument errors answer fast.
    from werkzeug.serving import make_server

    from .app import create_app
    from .mail import EmbeddedSmtp
    from .models import Agent
    from .policy import PolicyError
    from .seed import DEMO_SEED, load_seed
    from .services import services

    sink: EmbeddedSmtp | None = None
    smtp_host = os.environ.get("SMTP_HOST")
    if not smtp_host:
        sink = EmbeddedSmtp("127.0.0.1", 0)
        sink.start()
    config: dict[str, Any] = {
        "HARNESS": args.harness,
        "DATABASE_URL": os.environ.get("DATABASE_URL") or None,
        "INSTANCE_PATH": os.environ.get("TWOFA_INSTANCE_PATH") or None,
        "SMTP_HOST": smtp_host or None,
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_SINK": sink,
        "TOTP_ENCRYPTION_KEY": os.environ.get("TOTP_ENCRYPTION_KEY") or None,
        "POLICY": policy,
        "PASSWORD_HASH": PASSWORD_COSTS[args.password_cost],
    }
    try:
        app = create_app(config)
    except (PolicyError, ValueError) as exc:
        if sink is not None:
            sink.stop()
        raise UsageError(f"cannot start: {exc}") from None
    svc = services_of(app, services)
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as exc:
        if sink is not None:
            sink.stop()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    port = server.server_port
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{port}"

    out = sys.stdout
    mode = "harness mode" if args.harness else "production mode"
    print(f"twofa reference server ({mode})", file=out)
    print(f"database: {svc.engine.url.render_as_string(hide_password=True)}", file=out)
    if sink is not None:
        host, smtp_port = sink.endpoint
        print(f"smtp: {host}:{smtp_port} (embedded; mail is captured, not delivered)", file=out)
    else:
        print(f"smtp: {smtp_host}:{config['SMTP_PORT']}", file=out)
    if args.harness:
        with svc.sessions.begin() as db:
            fresh = db.query(Agent).first() is None
            if fresh:
                load_seed(
                    db,
                    DEMO_SEED,
                    now=svc.clock.now(),
                    passwords=svc.passwords,
                    policy=svc.policy,
                    gating=svc.rules.gating,
                )
        state = "loaded into the empty database" if fresh else "database already had data"
        print(f"demo seed ({state}):", file=out)
        for agent in DEMO_SEED["agents"]:
            print(
                f"  {agent['role']:<5} {agent['email']:<24} password {agent['password']:<22}"
                f" seat {agent['seat']}",
                file=out,
            )
        for group in DEMO_SEED["device_groups"]:
            print(
                f"  device group {group['name']}: {group['version']} build {group['build']}",
                file=out,
            )
        print(f"mailbox: {url}/__harness__/mailbox  policy: {url}/__harness__/policy", file=out)
        print(f"mailbox page: {url}/mailbox", file=out)
    print(f"web pages: {url}/sign-in", file=out)
    print(f"started in {time.monotonic() - started:.2f} s", file=out)
    print(f"{LISTENING} {url}", file=out, flush=True)

    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        thread.join(timeout=5)
        if sink is not None:
            sink.stop()
        svc.engine.dispose()
    print("twofa reference server stopped", file=out, flush=True)
    return 0


def services_of(app: Any, getter: Any) -> Any:
    """The app's ``Services`` outside a request."""
    with app.app_context():
        return getter()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad arguments, one line on stderr)."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "serve":
            return serve(args)
        raise UsageError(f"unknown command {args.command}")  # pragma: no cover
    except UsageError as exc:
        print(f"reference_server: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
