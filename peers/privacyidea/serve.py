"""Set up a fresh privacyIDEA and serve it on loopback, in one interpreter.

Run in privacyIDEA's own environment (``.peers/privacyidea``) by
``conformance/drivers/privacyidea.py``; nothing of the harness imports it.

    python serve.py --config STATE/pi.cfg --port PORT --admin NAME [--jwt-validity SECONDS]

The admin's password comes from the environment (``PI_HARNESS_ADMIN_PASSWORD``),
not the command line, so it never shows in a process list.

It does what ``pi-manage setup create_enckey``, ``setup create_audit_keys``,
``setup create_tables`` and ``admin add`` do (peers-setup.md), in this process
(importing privacyIDEA once costs most of its start; four ``pi-manage`` runs
cost it four times), then serves the app with Werkzeug's threaded server, the
one ``pi-manage run`` uses: every request gets a thread of its own, so parallel
clients really run at once. ``--jwt-validity`` adds a webui policy
``jwt_validity`` (the admin's JWT lifetime; privacyIDEA's default is an hour),
so a driver that moves the server's clock by years keeps one admin session.
It prints ``privacyidea ready on URL`` when the socket listens, and stops
cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import uuid
from pathlib import Path

PASSWORD_VARIABLE = "PI_HARNESS_ADMIN_PASSWORD"  # noqa: S105 - a name


def _write_private(path: Path, content: bytes) -> None:
    """A key file readable by its owner only (what the pi-manage commands leave)."""
    path.write_bytes(content)
    path.chmod(0o400)


def _create_keys(app: object) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    config = app.config  # type: ignore[attr-defined]
    enckey = Path(config["PI_ENCFILE"])
    if not enckey.exists():
        # pi-manage setup create_enckey: 96 random bytes.
        _write_private(enckey, os.urandom(96))
    private = Path(config["PI_AUDIT_KEY_PRIVATE"])
    if not private.exists():
        # pi-manage setup create_audit_keys: an RSA 2048 signing pair.
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_private(
            private,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ),
        )
        Path(config["PI_AUDIT_KEY_PUBLIC"]).write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--jwt-validity", type=int, default=None)
    arguments = parser.parse_args()
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        print(f"serve.py: {PASSWORD_VARIABLE} is not set", file=sys.stderr)
        return 2

    config_file = arguments.config.resolve()
    state = config_file.parent
    uuid_file = state / "uuid.txt"
    if not uuid_file.exists():
        # A node id of its own, not the machine's (/etc/machine-id is the fallback).
        uuid_file.write_text(f"{uuid.uuid4()}\n", encoding="ascii")

    from privacyidea.app import _setup_node_configuration, create_app
    from privacyidea.lib.auth import create_db_admin
    from privacyidea.lib.policy import set_policy
    from privacyidea.models import db
    from werkzeug.serving import make_server

    app = create_app(config_name="production", config_file=str(config_file), silent=True)
    _create_keys(app)
    with app.app_context():
        # pi-manage setup create_tables (without the alembic stamp: nothing migrates it).
        db.create_all()
        db.session.commit()
        # pi-manage admin add NAME -p PASSWORD
        create_db_admin(arguments.admin, None, password)
        if arguments.jwt_validity is not None:
            set_policy(
                name="twofa-harness-admin-session",
                scope="webui",
                action=f"jwt_validity={arguments.jwt_validity}",
                description="the admin's JWT outlasts the clock moves of a harness run",
            )
    # create_app registers the node only when its table exists: now it does.
    _setup_node_configuration(app)

    server = make_server("127.0.0.1", arguments.port, app, threaded=True)
    # SIGTERM from the driver's stop: out of serve_forever at once (not at its next poll),
    # then the socket and the database are closed.
    signal.signal(signal.SIGTERM, _stop)
    print(f"privacyidea ready on http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except Stopped:
        pass
    finally:
        server.server_close()
    return 0


class Stopped(Exception):
    """SIGTERM arrived."""


def _stop(*_: object) -> None:
    raise Stopped


if __name__ == "__main__":
    sys.exit(main())
