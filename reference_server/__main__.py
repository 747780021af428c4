"""``python -m reference_server serve | admin create | keygen``.

``serve`` runs the reference server under gunicorn (``--workers N``, default 2),
configured from the environment (``reference_server/environment.py``:
``DATABASE_URL``, ``SMTP_*``, ``TWOFA_SECRET_KEY``/``TWOFA_SECRET_KEY_FILE``,
``TWOFA_TRUSTED_PROXIES``, ``TWOFA_POLICY_FILE``). Outside harness mode a
missing key or SMTP host is one line on stderr and exit status 2.

``serve --harness`` binds to loopback only, enables the ``/__harness__``
endpoints, starts an embedded SMTP server (aiosmtpd) that captures the mail
into the database, loads the demo seed into an empty database and prints it.
It runs one werkzeug process unless ``--workers N`` asks for gunicorn; the
harness clock, the mailbox and resets live in the database, so every worker
sees the same. ``--password-cost test`` (harness mode only) hashes passwords
with the cheapest argon2id parameters, for fast test runs.

The last line printed at start is always::

    twofa-reference-server listening on http://HOST:PORT

``admin create --email E`` adds an admin to the configured database (the
password from a prompt, or from standard input when it is not a terminal).
``keygen [--out FILE]`` makes a new secret-encryption key.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import yaml

LISTENING = "twofa-reference-server listening on"

#: argon2id costs: OWASP's baseline, or the cheapest for test runs, where every
#: harness reset hashes the seed's passwords and the flow, not the hash, is under test.
PASSWORD_COSTS: dict[str, dict[str, int] | None] = {
    "owasp": None,
    "test": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}

#: gunicorn workers outside harness mode unless ``--workers`` says otherwise.
DEFAULT_WORKERS = 2
MAX_WORKERS = 64


class UsageError(Exception):
    """Bad command-line arguments or settings (exit status 2, one line on stderr)."""


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
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"gunicorn worker processes (default {DEFAULT_WORKERS}; harness mode: one "
        "werkzeug process unless given)",
    )
    serve.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker (default 1: sync workers; more: gthread)",
    )
    serve.add_argument(
        "--dev-mail-sink",
        action="store_true",
        help="outside harness mode: capture mail in an embedded SMTP server instead of SMTP_HOST "
        "(development only)",
    )
    admin = commands.add_parser("admin", help="manage admins in the configured database")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, parser_class=_Parser)
    create = admin_commands.add_parser("create", help="create an admin (e.g. the first one)")
    create.add_argument("--email", required=True, help="the admin's email address")
    create.add_argument("--seat", default="account_admin", help="seat (default account_admin)")
    keygen = commands.add_parser("keygen", help="make a new secret-encryption key")
    keygen.add_argument(
        "--out", type=Path, default=None, help="write it to this file (mode 0600; never replaced)"
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


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_database_driver(url: str | None) -> None:
    """A URL SQLAlchemy can parse, with its database driver installed (else one line)."""
    if url is None:
        return  # the default SQLite file
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url).get_dialect().import_dbapi()
    except ArgumentError as exc:
        raise UsageError(f"DATABASE_URL is not a database URL: {_first_line(exc)}") from None
    except ImportError as exc:
        raise UsageError(
            f"DATABASE_URL needs the database driver {exc.name or exc}, which is not installed "
            "(PostgreSQL: pip install 'twofa-harness[postgres]', psycopg 3)"
        ) from None


def _check_serve_arguments(args: argparse.Namespace) -> tuple[bool, int]:
    """Whether gunicorn serves, and with how many workers."""
    if args.harness and not _is_loopback(args.host):
        raise UsageError(f"--harness binds to loopback only, not {args.host}")
    if PASSWORD_COSTS[args.password_cost] is not None and not args.harness:
        # A cheap hash is a test instrument, like the faults: never outside harness mode.
        raise UsageError("--password-cost test is allowed in harness mode only")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, not {args.port}")
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        raise UsageError(f"--workers must be 1 to {MAX_WORKERS}, not {args.workers}")
    if not 1 <= args.threads <= MAX_WORKERS:
        raise UsageError(f"--threads must be 1 to {MAX_WORKERS}, not {args.threads}")
    gunicorn = not args.harness or args.workers is not None
    if args.threads > 1 and not gunicorn:
        raise UsageError("--threads is for gunicorn workers: add --workers N")
    return gunicorn, args.workers or DEFAULT_WORKERS


def _key_source(config: dict[str, Any], instance: Path) -> tuple[str, str | None]:
    """Where the key came from (for the start-up lines), and a warning if any."""
    if config.get("TWOFA_SECRET_KEY"):
        return "TWOFA_SECRET_KEY", None
    key_file = config.get("TWOFA_SECRET_KEY_FILE")
    if key_file:
        path = Path(key_file).expanduser().resolve()
        mode = stat.S_IMODE(path.stat().st_mode)
        warning = (
            f"warning: the key file {path} can be read by others (mode {mode:o}): chmod 600 it"
            if mode & 0o077
            else None
        )
        return f"TWOFA_SECRET_KEY_FILE {path}", warning
    from .security import KEY_FILE_NAME

    return f"throwaway key file {instance / KEY_FILE_NAME} (harness mode)", None


def serve(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    started = time.monotonic()
    use_gunicorn, workers = _check_serve_arguments(args)
    policy_path = args.policy or (
        Path(os.environ["TWOFA_POLICY_FILE"]) if os.environ.get("TWOFA_POLICY_FILE") else None
    )
    policy = _load_policy(policy_path)

    # Imported here so that argument errors answer fast.
    from sqlalchemy.exc import SQLAlchemyError

    from .app import create_app
    from .environment import DeploymentError, config_from_environment
    from .mail import EmbeddedSmtp
    from .models import Agent
    from .policy import PolicyError
    from .seed import DEMO_SEED
    from .services import Services
    from .serving import guard_forks, listen, run_gunicorn, run_werkzeug

    try:
        config = config_from_environment(
            os.environ, harness=args.harness, dev_mail_sink=args.dev_mail_sink
        )
    except DeploymentError as exc:
        raise UsageError(str(exc)) from None
    _check_database_driver(config["DATABASE_URL"])
    sink: EmbeddedSmtp | None = None
    if not config["SMTP_HOST"]:
        sink = EmbeddedSmtp("127.0.0.1", 0)
        sink.start()
    config.update(
        {"SMTP_SINK": sink, "POLICY": policy, "PASSWORD_HASH": PASSWORD_COSTS[args.password_cost]}
    )
    try:
        try:
            app = create_app(config)
        except (PolicyError, ValueError) as exc:
            raise UsageError(f"cannot start: {exc}") from None
        except SQLAlchemyError as exc:
            raise UsageError(f"cannot open the database: {_first_line(exc)}") from None
        svc: Services = app.extensions["twofa"]
        try:
            listener = listen(args.host, args.port)
        except OSError as exc:
            svc.engine.dispose()
            raise UsageError(
                f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
            ) from None
    except UsageError:
        if sink is not None:
            sink.stop()
        raise
    port = listener.getsockname()[1]
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{port}"

    out = sys.stdout
    mode = "harness mode" if args.harness else "production mode"
    if use_gunicorn:
        kind = "sync" if args.threads == 1 else f"gthread ({args.threads} threads each)"
        serving = f"gunicorn, {workers} {kind} worker{'s' if workers != 1 else ''}"
    else:
        serving = "one werkzeug process"
    print(f"twofa reference server ({mode}, {serving})", file=out)
    print(f"database: {svc.engine.url.render_as_string(hide_password=True)}", file=out)
    source, warning = _key_source(config, Path(app.instance_path))
    print(f"secret key: {source}", file=out)
    if warning:
        print(warning, file=out)
    if sink is not None:
        host, smtp_port = sink.endpoint
        print(f"smtp: {host}:{smtp_port} (embedded; mail is captured, not delivered)", file=out)
    elif svc.mailer is not None:
        print(f"smtp: {svc.mailer.describe()}, from {svc.mailer.sender}", file=out)
    proxies = config["TRUSTED_PROXIES"]
    print(
        f"trusted proxies: {proxies} (X-Forwarded-For, X-Forwarded-Proto)"
        if proxies
        else "trusted proxies: none (X-Forwarded-* headers are ignored)",
        file=out,
    )
    if args.harness:
        with svc.sessions.begin() as db:
            fresh = db.query(Agent).first() is None
            if fresh:
                svc.load_seed(db, DEMO_SEED)
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

    def ready() -> None:
        print(f"started in {time.monotonic() - started:.2f} s", file=out)
        print(f"{LISTENING} {url}", file=out, flush=True)

    try:
        if use_gunicorn:
            guard_forks(svc.engine, sink)
            status = run_gunicorn(
                app, listener, workers=workers, threads=args.threads, on_ready=ready
            )
        else:
            status = run_werkzeug(app, listener, ready)
    finally:
        if sink is not None:
            sink.stop()
        svc.engine.dispose()
    print("twofa reference server stopped", file=out, flush=True)
    return status


def _read_password(email: str) -> str:
    """From a prompt (asked twice) on a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {email}: ")
        if getpass.getpass("Same password again: ") != first:
            raise UsageError("the two passwords differ: nothing was created")
        return first
    line = sys.stdin.readline()
    if not line:
        raise UsageError("no password on standard input: nothing was created")
    return line.removesuffix("\n").removesuffix("\r")


def admin_create(args: argparse.Namespace) -> int:
    """Create an admin in the configured database (exit 2 with one line when refused)."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError
    from sqlalchemy.orm import Session

    from .accounts import new_agent
    from .app import DATABASE_FILE, default_instance_path, make_engine
    from .clock import ServerClock
    from .environment import database_config
    from .errors import ApiError
    from .inputs import email_field, password_field, seat_field
    from .models import Agent, Base
    from .security import Passwords

    try:
        email = email_field(args.email)
        seat = seat_field(args.seat)
    except ApiError as exc:
        raise UsageError(exc.message) from None
    config = database_config(os.environ)
    url = config["DATABASE_URL"]
    _check_database_driver(url)
    if url is None:
        instance = Path(config["INSTANCE_PATH"] or default_instance_path())
        instance.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{instance / DATABASE_FILE}"
    password = _read_password(email)
    try:
        password_field(password)
    except ApiError as exc:
        raise UsageError(f"{exc.message} Nothing was created.") from None
    engine = make_engine(url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as db, db.begin():
            if db.scalar(select(Agent.id).where(func.lower(Agent.email) == email)) is not None:
                raise UsageError(f"an account with the email {email} already exists in {shown}")
            item = {"email": email, "password": password, "seat": seat, "role": "admin"}
            agent = new_agent(item, Passwords(), ServerClock().now())
            db.add(agent)
            db.flush()
            agent_id = agent.id
    except IntegrityError:
        raise UsageError(f"an account with the email {email} already exists in {shown}") from None
    except SQLAlchemyError as exc:
        raise UsageError(f"cannot open the database {shown}: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    print(f"created admin {email} (id {agent_id}, seat {seat}) in {shown}")
    return 0


def keygen(args: argparse.Namespace) -> int:
    """Print a new Fernet key, or write it to ``--out`` (mode 0600, never over a file)."""
    from cryptography.fernet import Fernet

    from .security import write_new_key

    if args.out is None:
        print(Fernet.generate_key().decode())
        return 0
    try:
        write_new_key(args.out)
    except FileExistsError:
        raise UsageError(f"{args.out} exists: a key file is never replaced") from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote a new key to {args.out} (mode 600); set TWOFA_SECRET_KEY_FILE={args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad arguments, one line on stderr)."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "serve":
            return serve(args)
        if args.command == "admin":
            return admin_create(args)
        if args.command == "keygen":
            return keygen(args)
        raise UsageError(f"unknown command {args.command}")  # pragma: no cover
    except UsageError as exc:
        print(f"reference_server: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("reference_server: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
