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
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from .clock import ServerClock
from .errors import register_error_handlers
from .mail import EmbeddedSmtp, Mailer
from .models import Base, Setting
from .policy import Policy, PolicyError, policy_from_mapping
from .rules import Rules
from .security import Passwords, SecretBox, load_or_create_key
from .services import Services

log = logging.getLogger(__name__)

DEFAULTS: Final[dict[str, Any]] = {
    "HARNESS": False,
    "DATABASE_URL": None,
    "INSTANCE_PATH": None,
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_SINK": None,
    "MAIL_SENDER": "Remote Support <no-reply@remote-support.test>",
    "TOTP_ENCRYPTION_KEY": None,
    "POLICY": None,
    "FAULTS": frozenset(),
    "PASSWORD_HASH": None,
    "CLOCK": None,
    "MAX_CONTENT_LENGTH": 64 * 1024,
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
        cursor.close()

    return engine


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

    url = settings["DATABASE_URL"] or f"sqlite:///{instance / DATABASE_FILE}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as db:
        if db.scalar(select(Setting).where(Setting.id == 1)) is None:
            db.add(Setting(id=1, two_factor_required=False))

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

    clock = settings["CLOCK"] or ServerClock()
    app.config["CLOCK"] = clock
    sink: EmbeddedSmtp | None = settings["SMTP_SINK"]
    mailer: Mailer | None = None
    if settings["SMTP_HOST"]:
        mailer = Mailer(settings["SMTP_HOST"], int(settings["SMTP_PORT"]), settings["MAIL_SENDER"])
    elif sink is not None:
        host, port = sink.endpoint
        mailer = Mailer(host, port, settings["MAIL_SENDER"])

    found = Services(
        engine=engine,
        sessions=sessions,
        clock=clock,
        policy=policy,
        passwords=Passwords(settings["PASSWORD_HASH"]),
        box=SecretBox(load_or_create_key(settings["TOTP_ENCRYPTION_KEY"], instance)),
        mailer=mailer,
        harness=bool(settings["HARNESS"]),
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
    return app
