"""A deployment's settings, read from the environment and checked before anything starts.

- ``DATABASE_URL``: a SQLAlchemy URL (``postgresql+psycopg://user@host/db``); default a
  SQLite file in the instance folder (``TWOFA_INSTANCE_PATH``, default ``instance/``).
- ``TWOFA_SECRET_KEY`` or ``TWOFA_SECRET_KEY_FILE``: the instance key (a Fernet key) or a
  file holding it; required outside harness mode.
- ``SMTP_HOST``, ``SMTP_PORT``: the mail server; required outside harness mode (or
  ``--dev-mail-sink``). ``SMTP_TLS``: ``starttls`` (default), ``tls`` (implicit, SMTPS) or
  ``none``. ``SMTP_USER`` and ``SMTP_PASSWORD`` (or ``SMTP_PASSWORD_FILE``): credentials,
  never over a clear connection. ``SMTP_CA_FILE``: a CA bundle for the server's
  certificate (default the system's). ``MAIL_SENDER``: the From address.
- ``TWOFA_TRUSTED_PROXIES``: how many proxies in front set X-Forwarded-For and
  X-Forwarded-Proto (default 0: those headers are ignored).

Every problem is collected, so one start-up line names all that is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from .mail import DEFAULT_PORTS, TLS_MODES
from .security import KEYGEN_HINT

#: The most proxies a chain may have (ProxyFix reads that many hops from the right).
MAX_PROXIES: Final = 10


class DeploymentError(ValueError):
    """The environment cannot run a server: one line saying what to set."""


def _secret(environ: Mapping[str, str], name: str, problems: list[str]) -> str | None:
    """``NAME``, or the contents of the file ``NAME_FILE`` (a container's secret)."""
    value = environ.get(name) or None
    path = environ.get(f"{name}_FILE") or None
    if value and path:
        problems.append(f"set {name} or {name}_FILE, not both")
        return None
    if path is None:
        return value
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        problems.append(f"cannot read {name}_FILE {path}: {exc.strerror}")
        return None


def _whole(
    environ: Mapping[str, str], name: str, low: int, high: int, problems: list[str]
) -> int | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        problems.append(f"{name} must be a whole number from {low} to {high}, not {text!r}")
        return None
    return int(text)


def config_from_environment(
    environ: Mapping[str, str], *, harness: bool, dev_mail_sink: bool = False
) -> dict[str, Any]:
    """``create_app`` settings from ``environ``; ``DeploymentError`` naming every problem."""
    problems: list[str] = []
    config: dict[str, Any] = {
        "HARNESS": harness,
        "DATABASE_URL": environ.get("DATABASE_URL") or None,
        "INSTANCE_PATH": environ.get("TWOFA_INSTANCE_PATH") or None,
        "TWOFA_SECRET_KEY": environ.get("TWOFA_SECRET_KEY") or None,
        "TWOFA_SECRET_KEY_FILE": environ.get("TWOFA_SECRET_KEY_FILE") or None,
        "TRUSTED_PROXIES": _whole(environ, "TWOFA_TRUSTED_PROXIES", 0, MAX_PROXIES, problems) or 0,
        # Harness mode only (create_app refuses it otherwise): the crash tests' kill point.
        "CRASH_AT": environ.get("TWOFA_HARNESS_CRASH_AT", "").strip() or None,
    }
    if config["TWOFA_SECRET_KEY"] and config["TWOFA_SECRET_KEY_FILE"]:
        problems.append("set TWOFA_SECRET_KEY or TWOFA_SECRET_KEY_FILE, not both")
    elif not harness and not (config["TWOFA_SECRET_KEY"] or config["TWOFA_SECRET_KEY_FILE"]):
        problems.append(
            f"set TWOFA_SECRET_KEY or TWOFA_SECRET_KEY_FILE to the secret-encryption key "
            f"({KEYGEN_HINT})"
        )

    host = environ.get("SMTP_HOST", "").strip() or None
    tls = environ.get("SMTP_TLS", "starttls").strip().lower() or "starttls"
    if tls not in TLS_MODES:
        problems.append(f"SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    user = environ.get("SMTP_USER") or None
    password = _secret(environ, "SMTP_PASSWORD", problems)
    if host is None:
        if dev_mail_sink and not harness:
            pass  # the embedded sink captures the mail (a development server)
        elif not harness:
            problems.append(
                "set SMTP_HOST (and SMTP_PORT, SMTP_TLS, SMTP_USER, SMTP_PASSWORD) to the "
                "mail server that sends the verification codes, or pass --dev-mail-sink "
                "to capture mail locally"
            )
    else:
        if dev_mail_sink:
            problems.append("--dev-mail-sink replaces SMTP_HOST: set one of them, not both")
        if user and password is None:
            problems.append("SMTP_USER is set without SMTP_PASSWORD (or SMTP_PASSWORD_FILE)")
        if password and not user:
            problems.append("SMTP_PASSWORD is set without SMTP_USER")
        if user and tls == "none":
            problems.append(
                "SMTP_USER with SMTP_TLS=none would send the password in the clear: "
                "use starttls or tls"
            )
    port = _whole(environ, "SMTP_PORT", 1, 65535, problems)
    config.update(
        {
            "SMTP_HOST": host,
            "SMTP_PORT": port or DEFAULT_PORTS.get(tls, 25),
            "SMTP_TLS": tls,
            "SMTP_USER": user,
            "SMTP_PASSWORD": password,
            "SMTP_CA_FILE": environ.get("SMTP_CA_FILE") or None,
        }
    )
    if environ.get("MAIL_SENDER"):
        config["MAIL_SENDER"] = environ["MAIL_SENDER"]
    if problems:
        mode = "harness mode" if harness else "production mode"
        raise DeploymentError(f"cannot start in {mode}: " + "; ".join(problems))
    return config


def database_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """Just the database and instance folder (``admin create`` needs no key or SMTP)."""
    return {
        "DATABASE_URL": environ.get("DATABASE_URL") or None,
        "INSTANCE_PATH": environ.get("TWOFA_INSTANCE_PATH") or None,
    }
