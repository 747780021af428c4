"""A small Flask-Security-Too application with two-factor by authenticator app.

Configured as Flask-Security's two-factor docs describe (``SECURITY_TWO_FACTOR``,
``SECURITY_TWO_FACTOR_ENABLED_METHODS = ["authenticator"]``, ``SECURITY_TOTP_SECRETS``,
``SECURITY_TOTP_ISSUER``, the ``fsqla_v3`` models, SQLite in the state folder), for
a JSON client (``WTF_CSRF_ENABLED = False``). Everything the harness drives goes
through Flask-Security's own endpoints (``/login``, ``/tf-setup``, ``/tf-validate``);
the one host-only endpoint, ``POST /host/users``, makes a user with a password
(registration is not under test) and answers only to the host token. The
``Totp`` factory is Flask-Security's own but for two costs (``HostTotp``).

Run by the ``flask-security`` driver in the peer's own environment::

    .peers/flask-security/bin/python peers/flask_security_host/app.py --state DIR --port N

``DIR/settings.json`` holds the Flask-Security settings the harness was given (by
Flask-Security's own names); every other setting is Flask-Security's default. The
password hash is ``pbkdf2_sha512`` at 1000 rounds and the stored TOTP keys are
encrypted at passlib cost 8: a test host that logs in once per submitted code,
not a production choice. Nothing of the harness imports this.
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify, request
from flask_security import Security, SQLAlchemyUserDatastore, Totp, hash_password
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy
from passlib.totp import TOTP, generate_secret
from sqlalchemy import event
from werkzeug.serving import make_server

#: The settings the harness may give (the driver's options), by Flask-Security's names.
ALLOWED_SETTINGS = frozenset({"SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY"})
#: The header the host-only endpoint wants, with the token from the environment.
HOST_TOKEN_HEADER = "X-Host-Token"  # noqa: S105 - a header name


#: passlib's cost for encrypting stored TOTP keys (its default is 14: 2**14 PBKDF2 rounds,
#: ~15 ms per decryption, and a setup decrypts five times). Cheap on purpose, as the hash.
SECRET_ENCRYPT_COST = 8


class HostTotp(Totp):
    """Flask-Security's ``Totp`` with two costs cut that no code check depends on.

    - the stored keys' encryption cost (``SECRET_ENCRYPT_COST``): the factory is
      built as ``Totp.__init__`` builds it, ``TOTP.using(issuer=..., secrets=...)``,
      plus passlib's ``encrypt_cost``;
    - the QR image: ``generate_qrcode`` is the extension point the docs give for it
      ("can be overridden to fine-tune how the image is created"); ``/tf-setup``
      draws it for every setup but puts it only in its HTML page, never in a JSON
      answer.

    Verification (``verify_totp``, the ``last_counter`` hooks) is Flask-Security's
    own, untouched.
    """

    def __init__(self, secrets: dict[str, str] | dict[int, str], issuer: str) -> None:
        super().__init__(secrets, issuer)
        self._totp = TOTP.using(issuer=issuer, secrets=secrets, encrypt_cost=SECRET_ENCRYPT_COST)

    def generate_qrcode(self, username: str, totp: str) -> str:
        if request.is_json:
            return ""
        return super().generate_qrcode(username, totp)


def create_app(state: Path, settings: dict[str, Any], host_token: str) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(32),
        SECURITY_PASSWORD_SALT=str(secrets.SystemRandom().getrandbits(128)),
        # Cheap on purpose: every submission logs in afresh (see the module docstring).
        SECURITY_PASSWORD_HASH="pbkdf2_sha512",  # noqa: S106 - a scheme name
        SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS={"pbkdf2_sha512__default_rounds": 1000},
        SECURITY_TWO_FACTOR=True,
        SECURITY_TWO_FACTOR_ENABLED_METHODS=["authenticator"],
        SECURITY_TOTP_SECRETS={"1": generate_secret()},
        SECURITY_TOTP_ISSUER="Flask-Security host",
        WTF_CSRF_ENABLED=False,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{state / 'users.sqlite'}",
        # Concurrent requests (the replay race) wait for SQLite's lock instead of failing.
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 30}},
    )
    unknown = set(settings) - ALLOWED_SETTINGS
    if unknown:
        raise SystemExit(f"settings.json: unknown settings {sorted(unknown)}")
    app.config.update(settings)

    db = SQLAlchemy(app)
    fsqla.FsModels.set_db_info(db)

    class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined,misc]
        pass

    class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined,misc]
        pass

    class WebAuthn(db.Model, fsqla.FsWebAuthnMixin):  # type: ignore[name-defined,misc]
        pass

    datastore = SQLAlchemyUserDatastore(db, User, Role, WebAuthn)
    security = Security(app, datastore, totp_cls=HostTotp)

    @app.post("/host/users")
    def create_user() -> Any:
        given = request.headers.get(HOST_TOKEN_HEADER, "")
        if not hmac.compare_digest(given, host_token):
            abort(403)
        body = request.get_json(force=True)
        user = security.datastore.create_user(
            email=body["email"], password=hash_password(body["password"])
        )
        db.session.commit()
        return jsonify(email=user.email), 201

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _wal(connection: Any, _record: Any) -> None:
            # WAL lets readers go on while one request writes.
            connection.execute("PRAGMA journal_mode=WAL")

        db.create_all()
    return app


def _exit_with_parent(parent: int | None) -> None:
    """End the host when the harness that started it is gone (killed, crashed)."""
    if parent is None:
        return

    pause = threading.Event()

    def watch() -> None:
        # Started by the harness directly: once it is gone this process is re-parented.
        # (Not time.sleep: under libfaketime with DONT_FAKE_MONOTONIC it fails, EINVAL.)
        while os.getppid() == parent:
            pause.wait(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, help="exit when this process is gone")
    args = parser.parse_args()
    settings_file = args.state / "settings.json"
    settings = json.loads(settings_file.read_text()) if settings_file.exists() else {}
    host_token = os.environ.get("FS_HOST_TOKEN") or sys.exit("FS_HOST_TOKEN is not set")
    app = create_app(args.state.resolve(), settings, host_token)
    # One line per request would fill the log during a run; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _exit_with_parent(args.parent)
    # threaded: one thread per request, so parallel submissions really overlap.
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(f"flask-security host ready on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
