"""The application factory and the services every request reads.

``create_app(config)`` builds a Flask app around one ``Services`` object:
database engine and session factory, the clock, the policy, password hashing,
the secret box and the mailer. The clock and the policy come in through
configuration (``CLOCK``, ``POLICY``, ``FAULTS``), so tests and the harness
control time and behaviour without patching anything global.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from flask import Flask
from sqlalchemy import Engine, create_engine, event, make_url, select
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from werkzeug.middleware.proxy_fix import ProxyFix

from .clock import DatabaseClock, ServerClock
from .declarations import MAX_BODY_BYTES
from .errors import register_error_handlers
from .mail import DEFAULT_PORTS, EmbeddedSmtp, Mailer
from .models import Base, Setting
from .policy import Policy, PolicyError, policy_from_mapping
from .rules import Rules
from .security import Passwords, SecretBox, resolve_key
from .services import Services

log = logging.getLogger(__name__)

DEFAULTS: Final[dict[str, Any]] = {
    "HARNESS": False,
    "DATABASE_URL": None,
    "INSTANCE_PATH": None,
    "SMTP_HOST": None,
    #: None: the usual port of ``SMTP_TLS`` (587 starttls, 465 tls, 25 none).
    "SMTP_PORT": None,
    "SMTP_TLS": "starttls",
    "SMTP_USER": None,
    "SMTP_PASSWORD": None,
    "SMTP_CA_FILE": None,
    "SMTP_SINK": None,
    "MAIL_SENDER": "Remote Support <no-reply@remote-support.test>",
    #: The instance key (a Fernet key) or a file holding it; required outside harness mode.
    "TWOFA_SECRET_KEY": None,
    "TWOFA_SECRET_KEY_FILE": None,
    #: Proxies in front that set X-Forwarded-For/-Proto (werkzeug ProxyFix); 0: none trusted.
    "TRUSTED_PROXIES": 0,
    "POLICY": None,
    "FAULTS": frozenset(),
    #: Harness mode only: the checkpoint where the process kills itself (crash tests).
    "CRASH_AT": None,
    "PASSWORD_HASH": None,
    "CLOCK": None,
    "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
}

DATABASE_FILE: Final = "reference-server.sqlite3"
PACKAGE_ROOT: Final = Path(__file__).resolve().parent


def default_instance_path() -> Path:
    """``instance/`` beside the checkout's pyproject.toml, else in the working directory."""
    checkout = PACKAGE_ROOT.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "instance"
    return Path.cwd() / "instance"


def make_engine(url: str) -> Engine:
    """An engine with SQLite made safe for threads: busy timeout, WAL, foreign keys."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit stays
            # atomic and the file consistent through a crash of the process or the OS; a
            # power cut may lose the last commits (not corrupt the file). FULL's fsync per
            # commit held the write lock through a disk flush on every sign-in code.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the reference server (flaskr style: configuration in, app out)."""
    settings = {**DEFAULTS, **(config or {})}
    instance_path = Path(settings["INSTANCE_PATH"] or default_instance_path()).resolve()
    app = Flask(
        "reference_server",
        root_path=str(PACKAGE_ROOT),
        instance_path=str(instance_path),
        static_folder=None,
    )
    app.config.update(settings)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)

    policy = settings["POLICY"]
    if not isinstance(policy, Policy):
        policy = policy_from_mapping(policy)
    if settings["FAULTS"]:
        policy = replace(policy, faults=policy.faults | frozenset(settings["FAULTS"]))
    if policy.faults and not settings["HARNESS"]:
        # A deliberately broken server is a test instrument: never outside harness mode.
        raise PolicyError(f"faults {sorted(policy.faults)} are allowed in harness mode only")
    rules = Rules()
    if policy.faults:
        # Only here, and only in harness mode, is the faults package imported at all.
        from . import faults

        try:
            faults.apply(rules, policy.faults)
        except faults.UnknownFault as exc:
            raise PolicyError(str(exc)) from None
    if settings["CRASH_AT"]:
        if not settings["HARNESS"]:
            raise PolicyError("a crash point is allowed in harness mode only")
        # A test instrument like the faults: imported only here, only in harness mode.
        from .crashes import CrashAt, UnknownCheckpoint

        try:
            rules.checkpoints = CrashAt(settings["CRASH_AT"])
        except UnknownCheckpoint as exc:
            raise PolicyError(str(exc)) from None

    harness_mode = bool(settings["HARNESS"])
    sink: EmbeddedSmtp | None = settings["SMTP_SINK"]
    mailer: Mailer | None = None
    if settings["SMTP_HOST"]:
        tls = settings["SMTP_TLS"]
        mailer = Mailer(
            settings["SMTP_HOST"],
            int(settings["SMTP_PORT"] or DEFAULT_PORTS.get(tls, 25)),
            settings["MAIL_SENDER"],
            tls=tls,
            username=settings["SMTP_USER"] or None,
            password=settings["SMTP_PASSWORD"] or None,
            ca_file=settings["SMTP_CA_FILE"] or None,
        )
    elif sink is not None:
        host, port = sink.endpoint
        mailer = Mailer(host, port, settings["MAIL_SENDER"])

    # The key before the database too: a missing or bad key opens no connection either.
    url = settings["DATABASE_URL"] or f"sqlite:///{instance / DATABASE_FILE}"
    box = SecretBox(
        resolve_key(
            settings["TWOFA_SECRET_KEY"],
            settings["TWOFA_SECRET_KEY_FILE"],
            harness=harness_mode,
            instance_path=instance,
            database_file=sqlite_file(url),
        )
    )
    # Last of the start-up checks: a server refused at start opens no database connection.
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as db:
        if db.scalar(select(Setting).where(Setting.id == 1)) is None:
            db.add(Setting(id=1, two_factor_required=False))

    # Harness mode keeps its clock in the database: every worker process reads the same one.
    clock = settings["CLOCK"] or (DatabaseClock(engine) if harness_mode else ServerClock())
    app.config["CLOCK"] = clock
    if isinstance(clock, DatabaseClock):
        clock.read_through(sessions)
        app.before_request(clock.request_started)
        app.teardown_request(clock.request_finished)

    found = Services(
        engine=engine,
        sessions=sessions,
        clock=clock,
        policy=policy,
        passwords=Passwords(settings["PASSWORD_HASH"]),
        box=box,
        mailer=mailer,
        harness=harness_mode,
        rules=rules,
    )
    if sink is not None:
        sink.deliver = found.capture
    app.extensions["twofa"] = found

    from . import web
    from .blueprints import admin, auth, enrollment, harness, openapi, support

    register_error_handlers(app, page=web.error_page)
    app.before_request(auth.check_client)
    for blueprint in (auth.bp, enrollment.bp, support.bp, admin.bp, openapi.bp, web.bp):
        app.register_blueprint(blueprint)
    if found.harness:
        app.register_blueprint(harness.bp)
    proxies = int(settings["TRUSTED_PROXIES"] or 0)
    if proxies:
        # The client's address and scheme only: the Host header is the proxy's to pass on.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies
        )
    return app
