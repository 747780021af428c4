"""Flask-Security-Too 5.9 two-factor by authenticator app, through its own JSON flows.

The peer is a small Flask-Security application (``peers/flask_security_host/app.py``)
configured as the two-factor docs describe, started under libfaketime in the
peer's own environment (``.peers/flask-security``) on loopback. The driver is a
browser-like JSON client with a cookie jar per session (the 2FA state lives in
Flask's session cookie):

- provision: a new user with a password (the host's one endpoint of its own,
  ``POST /host/users``: registration is not under test), then ``POST /login``,
  ``POST /tf-setup {"setup": "authenticator"}`` (its otpauth URI, ``tf_authr_uri``,
  is the credential) and ``POST /tf-setup/<tf_state_token> {code}`` with the
  current step's code. The setup code's step is not marked used: the docs say
  Flask-Security has no replay protection (below), and the same code is
  accepted at the next login;
- submit: a fresh session per code, as an attacker who knows the password would
  try codes: ``POST /login {email, password}`` (``tf_required``), then
  ``POST /tf-validate {code}``. 200 is accepted; 400 with ``Invalid code`` on the
  code field is invalid (Flask-Security says the same for a wrong, a malformed
  and a reused code); another error on the code field ("This field is
  required.", "Input not appropriate for requested API") is malformed; an error
  that is not about the code is the driver's or the peer's fault (error). A
  correct password refused at login is reported as locked.

The declared policy, from the docs of the settings in effect (``policy_sources``):

- window: ``SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY`` (docs/configuration.rst:
  "Specifies the number of seconds access token is valid. Default: 120";
  docs/features.rst: "tokens provided by the authenticator app are valid for 2
  minutes"). Flask-Security relies on passlib's TOTP (the ``Totp`` class "Encapsulate
  usage of Passlib TOTP functionality"), whose ``TOTP.match`` documents ``window``
  as "How far backward and forward in time to search for a match. Measured in
  seconds ... Typically only useful if set to multiples of period." So W seconds
  reach W/30 steps back and forward: 120 s is 4 steps each way. For a W that is
  not a multiple of 30 the farthest step is within reach at some phases of a
  step only; the declaration names the farthest, ceil(W/30), and gives W too;
- replay: none (docs/api.rst, ``flask_security.Totp``: "Flask-Security doesn't
  implement any replay-attack protection out of the box");
- throttle: none (docs/api.rst, ``UserMixin.track_failed_authn``: "The default
  implementation sends the user_failed_authn signal"; docs/features.rst:
  "UserMixin.is_locked can be used to support account lockout": the
  application's to add);
- drift: the docs say nothing of it (None);
- totp: SHA1, 6 digits, 30 s: passlib's documented defaults, which no
  Flask-Security setting changes (``SECURITY_TOTP_SECRETS`` and
  ``SECURITY_TOTP_ISSUER`` are its only TOTP settings). Other parameters are
  ``Unsupported``.

``drop`` does nothing: every credential is a user of its own. The host is cheap
on purpose, as a test host that logs in once per submitted code: the password
hash is ``pbkdf2_sha512`` at 1000 rounds (``SECURITY_PASSWORD_HASH``), the stored
TOTP keys are encrypted at passlib's ``encrypt_cost`` 8 instead of 14, and the QR
image a JSON answer never carries is not drawn (``peers/flask_security_host/app.py``).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import math
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, ClassVar, Final

from conformance.drivers.faketime import PYTHON_MAX_TIME, FaketimeFileClock, libfaketime
from conformance.drivers.peers import PEERS_DIR, missing_environment, peer_python
from conformance.drivers.process import ServerProcess, free_port
from conformance.drivers.seam import (
    DEFAULT_PARAMETERS,
    Answer,
    Credential,
    Driver,
    DriverError,
    Option,
    TotpParameters,
    Unsupported,
    Verdict,
    integer,
)
from conformance.http import Exchange
from simulators.otpauth import OtpauthError, parse_uri

#: The peer's environment under ``.peers/`` and its host app under ``peers/``.
ENVIRONMENT: Final = "flask-security"
HOST_APP: Final = PEERS_DIR / "flask_security_host" / "app.py"
#: The header and environment variable of the host-only endpoint's token.
HOST_TOKEN_HEADER: Final = "X-Host-Token"  # noqa: S105 - a header name
HOST_TOKEN_ENV: Final = "FS_HOST_TOKEN"  # noqa: S105 - a variable name
READY: Final = r"flask-security host ready on 127\.0\.0\.1:(\d+)"

VALIDITY: Final = "SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY"
#: Flask-Security's documented default (docs/configuration.rst).
DEFAULT_VALIDITY: Final = 120
#: passlib's TOTP defaults, the only parameters Flask-Security provisions.
PERIOD: Final = DEFAULT_PARAMETERS.period

#: Flask-Security's own words (its English messages) for a code it checked and refused.
INVALID_CODE: Final = "Invalid code"
#: The users' email domain (email_validator refuses special-use names such as .test);
#: short, so the URI's label fits every authenticator's limit (Yubico's: 64 bytes).
EMAIL_DOMAIN: Final = "example.org"
REQUEST_TIMEOUT_SECONDS: Final = 30.0

FLASK_SECURITY_DOCS: Final = "https://flask-security-too.readthedocs.io/en/stable"
PASSLIB_MATCH: Final = (
    "https://passlib.readthedocs.io/en/stable/lib/passlib.totp.html#passlib.totp.TOTP.match"
)


def steps_for(validity_seconds: int) -> int:
    """The farthest step W seconds reach each way (passlib: W seconds back and forward)."""
    return math.ceil(validity_seconds / PERIOD)


def declared_policy_for(validity_seconds: int) -> dict[str, Any]:
    """The policy Flask-Security's docs declare at this authenticator validity (seconds)."""
    steps = steps_for(validity_seconds)
    return {
        "window": {"back": steps, "forward": steps, "seconds": validity_seconds},
        "replay": "none",
        "throttle": {"max_failures": None, "lock_seconds": None, "kind": "none"},
        "drift": None,
        "totp": {
            "algorithm": DEFAULT_PARAMETERS.algorithm,
            "digits": DEFAULT_PARAMETERS.digits,
            "period": DEFAULT_PARAMETERS.period,
        },
    }


class _Session:
    """One browser-like client: its own cookie jar, a new connection per request.

    Each exchange is kept (``Exchange``, which redacts passwords and otpauth
    secrets) so an answer can carry the whole login-and-code conversation.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.exchanges: list[Exchange] = []

    def post(self, path: str, body: Any, headers: Mapping[str, str] | None = None) -> Exchange:
        sent = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_SECONDS
        )
        try:
            connection.request("POST", path, body=json.dumps(body).encode(), headers=sent)
            response = connection.getresponse()
            raw = response.read()
            status = response.status
            set_cookies = response.headers.get_all("Set-Cookie") or []
            content_type = response.headers.get("Content-Type", "")
        except (OSError, http.client.HTTPException) as exc:
            raise DriverError(f"the flask-security host did not answer POST {path}: {exc}") from exc
        finally:
            connection.close()
        for header in set_cookies:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        parsed: Any = None
        with contextlib.suppress(ValueError):
            parsed = json.loads(raw) if raw else None
        kept = {"Content-Type": content_type} if content_type else {}
        exchange = Exchange("POST", path, status, body, parsed, kept, raw)
        self.exchanges.append(exchange)
        return exchange


def _response(exchange: Exchange) -> dict[str, Any]:
    """Flask-Security's JSON answer: ``{"meta": ..., "response": {...}}``."""
    body = exchange.body
    response = body.get("response") if isinstance(body, dict) else None
    return response if isinstance(response, dict) else {}


def _errors(exchange: Exchange) -> tuple[list[str], dict[str, list[str]]]:
    response = _response(exchange)
    errors = [str(e) for e in response.get("errors", []) or []]
    fields = response.get("field_errors", {}) or {}
    return errors, {str(k): [str(m) for m in v] for k, v in fields.items()}


def _describe(exchange: Exchange) -> str:
    errors, _ = _errors(exchange)
    return f"{exchange.status} {'; '.join(errors)}".strip()


def _expect(exchange: Exchange, status: int, what: str) -> dict[str, Any]:
    if exchange.status != status:
        detail = _describe(exchange) or exchange.raw[:200].decode("utf-8", "replace")
        raise DriverError(f"{what}: POST {exchange.path} answered {detail}, expected {status}")
    return _response(exchange)


class FlaskSecurityDriver(Driver):
    """Flask-Security-Too's two-factor "authenticator" method in a small host app."""

    name = "flask-security"
    title = "Flask-Security-Too 5.9 two-factor (authenticator), JSON login flow"
    options: ClassVar[Sequence[Option]] = (
        Option(
            VALIDITY,
            "seconds before and after the server's time a code is searched for "
            "(passlib's TOTP window; 120 s = 4 steps each way)",
            integer(0, 10**7),
            DEFAULT_VALIDITY,
        ),
    )
    # passlib takes an int as a zero-padded code and strips whitespace and hyphens.
    code_forms = frozenset({"json_number", "non_ascii_digits", "whitespace"})

    def __init__(
        self, options: Mapping[str, Any], workdir: Path, *, url: str | None = None
    ) -> None:
        super().__init__(options, workdir, url=url)
        if url is not None:
            raise DriverError("the flask-security target is started by the harness, not reached")
        self._server: ServerProcess | None = None
        self._closed = False
        self._numbers = itertools.count(1)
        self._token = secrets.token_urlsafe(24)
        workdir.mkdir(parents=True, exist_ok=True)
        # A fresh state folder, even when the workdir holds an earlier run's.
        self.state = Path(tempfile.mkdtemp(prefix="flask-security-", dir=workdir))
        settings = {name: value for name, value in self.settings.items() if name == VALIDITY}
        (self.state / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
        # Written before the start (an unparsable file breaks the peer's sleeps).
        self.clock = FaketimeFileClock(self.state / "clock", time.time(), max_time=PYTHON_MAX_TIME)
        self.port = free_port()
        self._server = ServerProcess(
            [
                str(peer_python(ENVIRONMENT)),
                str(HOST_APP),
                "--state",
                str(self.state),
                "--port",
                str(self.port),
                "--parent",
                str(os.getpid()),
            ],
            name="flask-security host",
            log_path=self.state / "host.log",
            env={**self.clock.environment(), HOST_TOKEN_ENV: self._token},
            cwd=self.state,
            ready=READY,
        )

    @classmethod
    def missing(cls) -> str | None:
        found = missing_environment(ENVIRONMENT, "Flask-Security-Too")
        if found is not None:
            return found
        if not HOST_APP.is_file():
            return f"the flask-security host app {HOST_APP} is missing from this checkout"
        if libfaketime() is None:
            return "the flask-security driver needs libfaketime (Debian faketime): run 'make peers'"
        return None

    @property
    def validity(self) -> int:
        return int(self.settings.get(VALIDITY, DEFAULT_VALIDITY))

    # -- the verifier ----------------------------------------------------------------

    def provision(self, parameters: TotpParameters) -> Credential:
        if parameters != DEFAULT_PARAMETERS:
            raise Unsupported(
                f"Flask-Security provisions {DEFAULT_PARAMETERS.describe()} only: its Totp "
                "builds passlib's TOTP with the defaults, and no setting changes digits, "
                "period or algorithm"
            )
        number = next(self._numbers)
        email = f"u{number}-{secrets.token_hex(3)}@{EMAIL_DOMAIN}"
        password = secrets.token_urlsafe(18)
        session = _Session(self.port)
        _expect(
            session.post(
                "/host/users",
                {"email": email, "password": password},
                {HOST_TOKEN_HEADER: self._token},
            ),
            201,
            "creating the user",
        )
        logged_in = _expect(
            session.post("/login", {"email": email, "password": password}), 200, "login"
        )
        if logged_in.get("tf_required"):
            raise DriverError(f"a new user without 2FA was asked for a code at login: {logged_in}")
        setup = _expect(
            session.post("/tf-setup", {"setup": "authenticator"}), 200, "tf-setup authenticator"
        )
        uri, state_token = setup.get("tf_authr_uri"), setup.get("tf_state_token")
        if not isinstance(uri, str) or not isinstance(state_token, str):
            raise DriverError("tf-setup handed out no tf_authr_uri and tf_state_token")
        try:
            parsed = parse_uri(uri)
            key = parsed.key()
            handed_out = TotpParameters(parsed.algorithm, parsed.digits, parsed.period)
        except OtpauthError as exc:
            raise DriverError(f"tf-setup's otpauth URI is unusable: {exc}") from exc
        now = self.now()
        credential = Credential(
            label=email,
            key=key,
            parameters=handed_out,
            created_at=now,
            provisioned_by="server",
            uri=uri,
            fields={
                "issuer": setup.get("tf_authr_issuer"),
                "username": setup.get("tf_authr_username"),
                "method": setup.get("tf_method"),
                # The key handed out beside the URI is the URI's own secret (checked, not kept).
                "b32key_matches_uri": setup.get("tf_authr_b32key") == parsed.secret,
            },
            handle={"email": email, "password": password},
        )
        step = credential.step_at(now)
        confirmed = session.post(
            f"/tf-setup/{state_token}", {"code": credential.code_for_step(step)}
        )
        if confirmed.status == 400 and credential.step_at(self.now()) != step:
            # The step ended between the code and the check (a zero window): the next one.
            step = credential.step_at(self.now())
            confirmed = session.post(
                f"/tf-setup/{state_token}", {"code": credential.code_for_step(step)}
            )
        _expect(confirmed, 200, "confirming the authenticator")
        # Not used_step: nothing marks the setup code used (replay: none), see the docstring.
        credential.handle["setup_step"] = step
        return credential

    def _login(self, credential: Credential) -> tuple[_Session, Answer | None]:
        """A fresh session at the code prompt; an answer instead when login is refused."""
        session = _Session(self.port)
        handle = credential.handle
        login = session.post("/login", {"email": handle["email"], "password": handle["password"]})
        if login.status >= 500 or login.body is None:
            return session, _answer(session, Verdict.ERROR, f"login answered {_describe(login)}")
        if login.status != 200:
            # The password is right: a refusal here is a lock on the account.
            return session, _answer(session, Verdict.LOCKED, f"login refused: {_describe(login)}")
        response = _response(login)
        if not response.get("tf_required") or response.get("tf_state") != "ready":
            raise DriverError(f"login did not ask for the authenticator code: {response}")
        return session, None

    def submit(self, credential: Credential, code: str | int) -> Answer:
        session, refused = self._login(credential)
        if refused is not None:
            return refused
        return _verdict(session, session.post("/tf-validate", {"code": code}))

    def submit_together(self, credential: Credential, codes: Sequence[str]) -> list[Answer]:
        """One logged-in session per code, opened first; then every code posted at once."""
        opened = [self._login(credential) for _ in codes]
        barrier = threading.Barrier(len(codes))

        def one(pair: tuple[tuple[_Session, Answer | None], str]) -> Answer:
            (session, refused), code = pair
            barrier.wait()
            if refused is not None:
                return refused
            return _verdict(session, session.post("/tf-validate", {"code": code}))

        with ThreadPoolExecutor(max_workers=len(codes)) as pool:
            return list(pool.map(one, zip(opened, codes, strict=True)))

    # -- the declared policy -------------------------------------------------------------

    def declared_policy(self) -> dict[str, Any]:
        return declared_policy_for(self.validity)

    def policy_sources(self) -> dict[str, str]:
        given = VALIDITY in self.settings
        return {
            "window": (
                f"{FLASK_SECURITY_DOCS}/configuration.html#{VALIDITY} (docs/configuration.rst): "
                f'"Specifies the number of seconds access token is valid. Default: 120" '
                f"({'set to' if given else 'default'} {self.validity}); "
                f"{FLASK_SECURITY_DOCS}/features.html#two-factor-authentication "
                '(docs/features.rst): "tokens provided by the authenticator app are valid for '
                "2 minutes\"; the seconds are passlib's TOTP.match window, "
                f'{PASSLIB_MATCH}: "How far backward and forward in time to search for a match. '
                "Measured in seconds. Defaults to 30. Typically only useful if set to multiples "
                f'of period." Read as W/{PERIOD} steps back and forward; a W that is not a '
                f"multiple of {PERIOD} reaches its farthest step at some phases only, declared "
                f"as ceil(W/{PERIOD})"
            ),
            "replay": (
                f"{FLASK_SECURITY_DOCS}/api.html#flask_security.Totp (docs/api.rst): "
                "\"Flask-Security doesn't implement any replay-attack protection out of the "
                'box ... Subclass this and implement the get/set last_counter methods."'
            ),
            "throttle": (
                f"{FLASK_SECURITY_DOCS}/api.html#flask_security.UserMixin.track_failed_authn "
                '(docs/api.rst): "The default implementation sends the user_failed_authn '
                f'signal."; {FLASK_SECURITY_DOCS}/features.html (docs/features.rst): '
                '"API - UserMixin.is_locked can be used to support account lockout" (the '
                "application's to implement; no setting turns it on)"
            ),
            "drift": (
                "the Flask-Security docs say nothing of clock drift tracking, and no setting "
                "concerns it (passlib's TOTP.match documents a skew parameter that "
                "Flask-Security does not expose): not declared"
            ),
            "totp": (
                "https://passlib.readthedocs.io/en/stable/lib/passlib.totp.html#passlib.totp.TOTP "
                '(passlib TOTP): digits "Defaults to 6", alg "Defaults to \\"sha1\\"", period '
                f'"Defaults to 30"; {FLASK_SECURITY_DOCS}/configuration.html#core-multi-factor '
                "(docs/configuration.rst): SECURITY_TOTP_SECRETS and SECURITY_TOTP_ISSUER are "
                "the only TOTP settings"
            ),
        }

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described["options"] = {VALIDITY: self.validity}
        described["host"] = (
            "cheap on purpose: SECURITY_PASSWORD_HASH pbkdf2_sha512 at 1000 rounds, "
            "stored TOTP keys encrypted at passlib encrypt_cost 8 (default 14), no QR image"
        )
        return described

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.stop()


def _answer(session: _Session, verdict: Verdict, said: str) -> Answer:
    return Answer(verdict, said, {"http": [e.evidence() for e in session.exchanges]})


def _verdict(session: _Session, exchange: Exchange) -> Answer:
    """``/tf-validate``'s answer as a verdict, as far as Flask-Security tells them apart."""
    said = _describe(exchange)
    if exchange.status == 200 and isinstance(exchange.body, dict):
        errors, _ = _errors(exchange)
        if not errors:
            return _answer(session, Verdict.ACCEPTED, said)
    if exchange.status >= 500 or exchange.body is None or exchange.status != 400:
        return _answer(session, Verdict.ERROR, said or f"{exchange.status} (no JSON answer)")
    _, fields = _errors(exchange)
    about_code = fields.get("code", [])
    if INVALID_CODE in about_code:
        return _answer(session, Verdict.INVALID, said)
    if about_code:
        return _answer(session, Verdict.MALFORMED, said)
    # Not about the code (the 2FA state of the session): never a verdict on the code.
    return _answer(session, Verdict.ERROR, said)
