"""A minimal Django site that exposes django-otp's own TOTP verification over HTTP.

Run in the django-otp peer's environment (``.peers/django-otp/bin/python``),
never imported by the harness::

    python host.py --state DIR --port PORT

``DIR/config.json`` holds the django-otp settings to apply (``OTP_TOTP_SYNC``,
``OTP_TOTP_THROTTLE_FACTOR``; absent keys keep django-otp's defaults) and the
``tolerance`` given to every new device (absent: the field's default). Two
keys set the database, for experiments only: ``sqlite_transaction_mode``
(default ``IMMEDIATE``) and ``sqlite_timeout`` (5 s). The SQLite database is
``DIR/db.sqlite3``, migrated at start. When it serves, it prints
``django-otp host ready on 127.0.0.1:PORT``.

One JSON endpoint per verb:

- ``POST /credentials`` ``{"digits": 6, "step": 30}``: a user and a
  ``TOTPDevice`` whose key django-otp generates (its field default), checked
  with ``full_clean()`` as the admin form would; answers its ``config_url``.
- ``POST /verify`` ``{"device": PERSISTENT_ID, "otp_token": "..."}``: what
  django-otp's login form does (``OTPAuthenticationFormMixin``): in a
  transaction, load the device with ``for_verify=True``, ask
  ``verify_is_allowed()``, then ``verify_token()`` with the token exactly as
  sent. 200 verified, 401 invalid token, 429 verification not allowed (with
  what django-otp reports).
- ``DELETE /credentials/ID``: the user and, by cascade, the device.
- ``GET /clock``: the host's time (``time.time()``, under libfaketime).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import traceback
from pathlib import Path

import django
from django.conf import settings

#: The device fields worth showing in an answer (never ``key``).
STATE_FIELDS = (
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
    "throttling_failure_count",
)


def configure(state: Path) -> dict:
    """Django settings as django-otp's docs describe them, plus the options given."""
    config = json.loads((state / "config.json").read_text(encoding="utf-8"))
    otp_settings = {
        name: config[name]
        for name in ("OTP_TOTP_SYNC", "OTP_TOTP_THROTTLE_FACTOR", "OTP_TOTP_ISSUER")
        if name in config
    }
    settings.configure(
        DEBUG=False,
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django_otp",
            "django_otp.plugins.otp_totp",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(state / "db.sqlite3"),
                "OPTIONS": {
                    # Django's SQLite notes (docs.djangoproject.com/en/5.2/ref/databases/
                    # #database-is-locked-errors): wait for a lock instead of failing at once,
                    # and take the write lock when a transaction begins, so a
                    # read-then-write transaction (the verification) never has to
                    # upgrade its lock and fail with "database is locked".
                    "timeout": config.get("sqlite_timeout", 5),
                    "transaction_mode": config.get("sqlite_transaction_mode", "IMMEDIATE"),
                },
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        TIME_ZONE="UTC",
        LOGGING_CONFIG=None,
        **otp_settings,
    )
    django.setup()
    return config


# -- views (defined after configure(): they import models) ---------------------------


def _json(status: int, body: dict, headers: dict | None = None):
    from django.http import JsonResponse

    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _state(device) -> dict:
    state = {name: getattr(device, name) for name in STATE_FIELDS}
    stamp = device.throttling_failure_timestamp
    state["throttling_failure_timestamp"] = stamp.isoformat() if stamp else None
    return state


def _body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    return body


def _guarded(view):
    """A 500 that says what failed (a locked database is a finding, not a mystery)."""

    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ValueError as exc:
            return _json(400, {"error": "bad_request", "message": str(exc)})
        except Exception as exc:
            traceback.print_exc()
            return _json(500, {"error": type(exc).__name__, "message": str(exc)})

    return wrapped


@_guarded
def credentials(request):
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if request.method != "POST":
        return _json(405, {"error": "method_not_allowed"})
    body = _body(request)
    config = CONFIG
    with transaction.atomic():
        user = get_user_model().objects.create_user(f"harness-{secrets.token_hex(6)}")
        device = TOTPDevice(
            user=user,
            name="harness",
            digits=body.get("digits", 6),
            step=body.get("step", 30),
        )
        if "tolerance" in config:
            device.tolerance = config["tolerance"]
        try:
            device.full_clean()
        except ValidationError as exc:
            transaction.set_rollback(True)
            return _json(
                400,
                {"error": "invalid_device", "message": str(exc), "fields": exc.message_dict},
            )
        device.save()
    return _json(
        201,
        {
            "id": user.pk,
            "device": device.persistent_id,
            "user": user.get_username(),
            "config_url": device.config_url,
            "state": _state(device),
        },
    )


@_guarded
def credential(request, user_id: int):
    from django.contrib.auth import get_user_model

    if request.method != "DELETE":
        return _json(405, {"error": "method_not_allowed"})
    deleted, _ = get_user_model().objects.filter(pk=user_id).delete()
    return _json(200 if deleted else 404, {"deleted": deleted})


@_guarded
def verify(request):
    from django.db import transaction
    from django_otp.forms import OTPAuthenticationFormMixin
    from django_otp.models import Device, VerifyNotAllowed

    if request.method != "POST":
        return _json(405, {"error": "method_not_allowed"})
    body = _body(request)
    token = body.get("otp_token")
    if not isinstance(token, str):
        raise ValueError("otp_token must be a string (a form field is one)")
    messages = OTPAuthenticationFormMixin.otp_error_messages
    # As OTPAuthenticationFormMixin.clean_otp / _verify_token do it.
    with transaction.atomic():
        device = Device.from_persistent_id(str(body.get("device", "")), for_verify=True)
        if device is None:
            return _json(404, {"error": "no_device"})
        allowed, extra = device.verify_is_allowed()
        if not allowed:
            extra = extra or {}
            reason = extra.get("reason")
            reported = {
                "reason": reason.value if isinstance(reason, VerifyNotAllowed) else reason,
                "failure_count": extra.get("failure_count"),
            }
            headers = {}
            locked_until = extra.get("locked_until")
            if locked_until is not None:
                reported["locked_until"] = locked_until.isoformat()
                wait = locked_until.timestamp() - time.time()
                reported["seconds_left"] = round(wait, 3)
                headers["Retry-After"] = str(max(0, int(wait + 0.999)))
            if reason == VerifyNotAllowed.N_FAILED_ATTEMPTS:
                message = str(messages["n_failed_attempts"] % extra)
            else:
                message = str(extra.get("error_message") or messages["verification_not_allowed"])
            return _json(
                429,
                {
                    "verified": False,
                    "error": "verification_not_allowed",
                    "message": message,
                    "verify_is_allowed": reported,
                    "state": _state(device),
                },
                headers,
            )
        if device.verify_token(token):
            return _json(200, {"verified": True, "state": _state(device)})
        return _json(
            401,
            {
                "verified": False,
                "error": "invalid_token",
                "message": str(messages["invalid_token"]),
                "state": _state(device),
            },
        )


def clock(request):
    """The host's time as django-otp reads it (a GET after each clock move settles it)."""
    return _json(200, {"time": time.time()})


def _urlpatterns() -> list:
    # Imported now, not by the first request: the first replay race must not pay for it.
    import django_otp.forms
    import django_otp.plugins.otp_totp.models  # noqa: F401
    from django.urls import path

    return [
        path("credentials", credentials),
        path("credentials/<int:user_id>", credential),
        path("verify", verify),
        path("clock", clock),
    ]


def serve(port: int) -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Server(ThreadedWSGIServer):
        # The replay race connects ten clients at once.
        request_queue_size = 64

    server = Server(("127.0.0.1", port), WSGIRequestHandler, ipv6=False)
    server.set_app(WSGIHandler())
    print(f"django-otp host ready on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    started = time.monotonic()
    global urlpatterns
    CONFIG.update(configure(args.state))
    urlpatterns = _urlpatterns()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrated in {time.monotonic() - started:.2f} s", flush=True)
    serve(args.port)


#: The options the driver wrote (config.json), read at start.
CONFIG: dict = {}
urlpatterns: list = []

if __name__ == "__main__":
    sys.exit(main())
