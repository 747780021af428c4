"""privacyIDEA 3.14 through its REST API: tokens from ``/token/init``, codes to ``/validate/check``.

Two modes:

- managed (``--target privacyidea``): a fresh privacyIDEA in a state
  directory under ``workdir`` (config file, encryption key, audit keys,
  SQLite tables, an admin with a random password), set up and served by one
  peer-side script (``peers/privacyidea/serve.py``) in privacyIDEA's own
  environment (``.peers/privacyidea``), under libfaketime
  (``FaketimeFileClock``), on 127.0.0.1 and a free port; the system settings
  among the options are written through ``POST /system/setConfig``;
- real time (``--target privacyidea+http://HOST:PORT``): someone's running
  privacyIDEA. The admin comes from ``TWOFA_TARGET_USER`` and
  ``TWOFA_TARGET_PASSWORD``; nothing is started and no clock is moved; the
  server's system settings are only read (``GET /system/``), never written;
  every token the driver makes has a serial starting ``TWOFA`` and is deleted
  on drop and on close.

A credential is a TOTP token the server makes (``POST /token/init`` with
``type=totp``, ``genkey=1``, ``otplen``, ``hashlib``, ``timeStep``, and
``timeWindow`` when that option is given); its key is read from the otpauth
URI the answer hands out (``detail.googleurl.value``). A submission is
``POST /validate/check`` with ``serial`` and ``pass``; ``result.value`` and
``detail.message`` give the verdict. The admin's JWT carries ``exp`` (an hour
by default; privacyIDEA 3.14 sets no ``iat``): a managed server gets a webui
``jwt_validity`` policy at set-up that outlasts every clock the harness can
set; and whenever the server refuses the JWT (401), the driver signs in again
and repeats that admin call (an admin call is never a code submission).

Options, by privacyIDEA's own names (docs: https://privacyidea.readthedocs.io/en/latest/,
read at privacyidea/privacyidea 55410007, the 3.14 line):

- ``timeWindow`` (TOTP token setting, seconds; default 180, the "Default Time
  Window" of the TOTP token config, configuration/tokenconfig/totp.html): the
  docs say "this timeWindow are the seconds that privacyIDEA will search for
  the valid OTP value *before* and *after* the current time"
  (faq/rollout-strategies.html). The declared window is that many seconds in
  whole steps each way: back = forward = timeWindow // timeStep (180 s at 30 s:
  6 and 6). For a multiple of the step this is also what a plain time-interval
  reading gives; for other values the docs do not say how a partial step
  counts, and the whole-step floor is the plain reading chosen here;
- ``timeStep`` (system default ``totp.timeStep``, "Default Time Step", 30):
  the step of the server's declared TOTP parameters, so of the window's steps;
  a credential asked for another period still gets its own ``timeStep``;
- ``max_failcount`` (the token's maxfail, set by ``POST /token/set``; its
  default is the system's ``DefaultMaxFailCount``, "Max Failcount of newly
  enrolled tokens", 10, configuration/system_config.html): "If the failcounter
  exceeds this number the token can not be used unless it is reset"; the
  glossary: "If the login fail counter reaches the MaxFail the user can not
  login with this token anymore";
- ``failcounter_clear_timeout`` (system, "Clear failcounter after minutes",
  default 0): "After the specified amount of minutes have passed since that
  timestamp, any authentication attempt will clear the fail counter. A 0 means
  that the automatic clearing of the fail counter is not used";
- ``AutoResync`` (system, "Automatic resync during authentication", default
  off), ``AutoResyncTimeout`` ("Auto resync timeout", 300 s) and
  ``DefaultSyncWindow`` ("Sync Window of newly enrolled tokens", 1000): a
  wrong code within the sync window is remembered and the next consecutive
  code within the timeout resyncs the token; "For TOTP token, the number of
  steps will be multiplied with the timestep of the token and this interval
  will be checked before and after the current time".

The system settings (all but ``timeWindow`` and ``max_failcount``) are
written only on a server the driver started: in real-time mode they are an
``OptionError`` and the server's own values (``GET /system/``) are declared.

Declared policy: window as above; replay ``monotonic_step`` (the glossary:
"Timestep and timewindow are completely similar to the counter and
countwindow of HOTP tokens", and an HOTP token's server counter moves past
the values used: no page states a replay rule for TOTP in words); throttle a
lockout after max_failcount failures, for failcounter_clear_timeout minutes
or "permanent" when 0; drift tracking only with AutoResync, up to the sync
window's steps (the docs say nothing of the token's ``timeShift`` changing on
an ordinary success); totp: hashlib (sha1), OTP length (6) and the time step
(30), as set (options ``hashlib``, ``otplen``, ``timeStep``: ``twofa run
--variants`` sets them) or documented (the figures of the token config and
system config pages).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

from conformance.drivers.faketime import FaketimeFileClock, libfaketime
from conformance.drivers.peers import (
    PEERS_DIR,
    REMEDY,
    missing_environment,
    peer_python,
)
from conformance.drivers.process import ServerProcess, free_port
from conformance.drivers.seam import (
    Answer,
    Credential,
    Driver,
    DriverError,
    NotInstalled,
    Option,
    OptionError,
    TotpParameters,
    Unsupported,
    Verdict,
    boolean,
    integer,
)
from conformance.http import Exchange, HttpClient, TargetUnreachable
from simulators.otpauth import OtpauthError, parse_uri

#: The peer's environment under .peers/ and its set-up files in peers/.
ENVIRONMENT: Final = "privacyidea"
SETUP_DIR: Final = PEERS_DIR / "privacyidea"
SERVE_SCRIPT: Final = SETUP_DIR / "serve.py"
CONFIG_TEMPLATE: Final = SETUP_DIR / "pi.cfg.template"
READY: Final = r"privacyidea ready on (http://127\.0\.0\.1:\d+)"
#: How /token/init hands out its QR codes (detail.googleurl.img).
PNG_DATA_URI: Final = "data:image/png;base64,"
#: The variable serve.py reads the admin's password from (never the command line).
PASSWORD_VARIABLE: Final = "PI_HARNESS_ADMIN_PASSWORD"  # noqa: S105 - a name
MANAGED_ADMIN: Final = "admin"
#: Real-time mode: the admin the driver signs in as.
USER_VARIABLE: Final = "TWOFA_TARGET_USER"
TARGET_PASSWORD_VARIABLE: Final = "TWOFA_TARGET_PASSWORD"  # noqa: S105 - a name
#: Managed mode: the admin's JWT carries exp (an hour by default); a clock moved further on
#: would make every admin call sign in again (half a second of argon2 each). A webui
#: jwt_validity policy longer than the clock's whole range (1970..2262) keeps one session.
JWT_VALIDITY_SECONDS: Final = 300 * 365 * 86_400
#: Every token the driver makes starts so: recognisable on someone else's server.
SERIAL_PREFIX: Final = "TWOFA"
#: Longer than the SQLite lock wait in pi.cfg.template (10 s): a locked database answers first.
HTTP_TIMEOUT_SECONDS: Final = 20.0

DOCS: Final = "https://privacyidea.readthedocs.io/en/latest"
TOTP_CONFIG_DOC: Final = f"{DOCS}/configuration/tokenconfig/totp.html"
SYSTEM_CONFIG_DOC: Final = f"{DOCS}/configuration/system_config.html"
ROLLOUT_DOC: Final = f"{DOCS}/faq/rollout-strategies.html"
GLOSSARY_DOC: Final = f"{DOCS}/glossary/index.html"
BRUTE_FORCE_DOC: Final = f"{DOCS}/faq/brute-force.html"
HOTP_DOC: Final = f"{DOCS}/tokens/tokentypes/hotp.html"
TOKEN_API_DOC: Final = f"{DOCS}/modules/api/token.html"

#: privacyIDEA's hashlib names for the otpauth algorithms.
HASHLIBS: Final = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}


def _hashlib(text: str) -> str:
    """An ``--target-option hashlib=`` value: one of privacyIDEA's names."""
    name = text.strip().lower()
    if name not in HASHLIBS.values():
        raise ValueError(f"{text!r} is not one of {', '.join(HASHLIBS.values())}")
    return name


@dataclass(frozen=True)
class Setting:
    """A privacyIDEA setting: its documented default, where the docs say so, and how to read it."""

    name: str
    #: Its key in the system config (``GET /system/``): the default for new tokens.
    system_key: str
    default: Any
    source: str


#: The settings the driver exposes, by privacyIDEA's names, with their documented defaults.
SETTINGS: Final[dict[str, Setting]] = {
    s.name: s
    for s in (
        Setting(
            "timeWindow",
            "totp.timeWindow",
            180,
            f"{TOTP_CONFIG_DOC} (figure 'TOTP Token configuration'): Default Time Window 180; "
            f"{ROLLOUT_DOC}: 'this timeWindow are the seconds that privacyIDEA will search for "
            "the valid OTP value before and after the current time'",
        ),
        Setting(
            "timeStep",
            "totp.timeStep",
            30,
            f"{TOTP_CONFIG_DOC} (figure): Default Time Step 30; {GLOSSARY_DOC} 'Time Step': "
            "'the divider by which the seconds since 1.1.1970 are divided to calculate the OTP'",
        ),
        Setting(
            "hashlib",
            "totp.hashlib",
            "sha1",
            f"{TOTP_CONFIG_DOC} (figure): Default Hashlib sha1",
        ),
        Setting(
            "otplen",
            "DefaultOtpLen",
            6,
            f"{SYSTEM_CONFIG_DOC} 'OTP length of newly enrolled tokens' (figure: 6)",
        ),
        Setting(
            "max_failcount",
            "DefaultMaxFailCount",
            10,
            f"{SYSTEM_CONFIG_DOC} 'Max Failcount of newly enrolled tokens' (figure: 10): 'If "
            "the failcounter exceeds this number the token can not be used unless it is reset'; "
            f"{GLOSSARY_DOC} 'MaxFail': 'If the login fail counter reaches the MaxFail the user "
            "can not login with this token anymore'",
        ),
        Setting(
            "failcounter_clear_timeout",
            "failcounter_clear_timeout",
            0,
            f"{SYSTEM_CONFIG_DOC} 'Clear failcounter after minutes' (figure: 0): 'After the "
            "specified amount of minutes have passed since that timestamp, any authentication "
            "attempt will clear the fail counter. A 0 means that the automatic clearing of the "
            f"fail counter is not used'; {BRUTE_FORCE_DOC}: 'and in case of a successful "
            "authentication access will be granted'",
        ),
        Setting(
            "AutoResync",
            "AutoResync",
            False,
            f"{SYSTEM_CONFIG_DOC} 'Automatic resync during authentication' (figure: off): 'If "
            "the counter of a wrong OTP value is within the resync window, the system remembers "
            "the counter ... the user needs to authenticate a second time within the "
            "time-interval given in Auto resync timeout with the next successive OTP value'",
        ),
        Setting(
            "AutoResyncTimeout",
            "AutoResyncTimeout",
            300,
            f"{SYSTEM_CONFIG_DOC} (figure): Auto resync timeout 300",
        ),
        Setting(
            "DefaultSyncWindow",
            "DefaultSyncWindow",
            1000,
            f"{SYSTEM_CONFIG_DOC} 'Sync Window of newly enrolled tokens' (figure: 1000): 'For "
            "TOTP token, the number of steps will be multiplied with the timestep of the token "
            "and this interval will be checked before and after the current time'",
        ),
    )
}
#: Options applied per token (so also on a server the driver did not start).
TOKEN_OPTIONS: Final = frozenset({"timeWindow", "max_failcount"})

#: ``detail.message`` of a refused code, as verdicts (privacyIDEA 3.14's words, seen by trying).
MESSAGES: Final = (
    ("previous otp used again", Verdict.REUSED),
    ("failcounter exceeded", Verdict.LOCKED),
    ("token is disabled", Verdict.LOCKED),
    ("token is locked", Verdict.LOCKED),
    ("revoked", Verdict.LOCKED),
    ("wrong otp value", Verdict.INVALID),
    # A pass shorter or longer than the OTP length: the server reads it as a wrong PIN.
    ("wrong otp pin", Verdict.INVALID),
)


# -- the server ----------------------------------------------------------------------------


@dataclass
class PrivacyIdeaServer:
    """A privacyIDEA this module started: its URL, its admin, its process and state."""

    url: str
    user: str
    password: str = field(repr=False)
    state: Path
    process: ServerProcess

    def stop(self) -> None:
        self.process.stop()


def start_server(
    state: Path,
    *,
    clock: FaketimeFileClock | None = None,
    jwt_validity: int | None = None,
    timeout: float = 60.0,
) -> PrivacyIdeaServer:
    """Set up a fresh privacyIDEA in ``state`` and serve it on loopback (1.3 s here).

    With ``clock`` it runs under libfaketime (the clock's file is written
    already); without, on the real clock: a server a real-time-mode test can
    reach at ``url`` with ``user`` and ``password``. ``jwt_validity`` (seconds)
    sets the admin's JWT lifetime by a webui policy (privacyIDEA's default: an hour).
    """
    missing = PrivacyIdeaDriver.missing()
    if missing is not None:
        raise NotInstalled(missing)
    state.mkdir(parents=True, exist_ok=True)
    config = state / "pi.cfg"
    config.write_text(
        CONFIG_TEMPLATE.read_text(encoding="utf-8").format(
            state=state.resolve(),
            secret_key=secrets.token_hex(32),
            pepper=secrets.token_hex(32),
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)
    password = secrets.token_urlsafe(18)
    port = free_port()
    environment = {PASSWORD_VARIABLE: password, "PRIVACYIDEA_CONFIGFILE": str(config)}
    if clock is not None:
        environment.update(clock.environment())
    command = [
        str(peer_python(ENVIRONMENT)),
        str(SERVE_SCRIPT),
        "--config",
        str(config),
        "--port",
        str(port),
        "--admin",
        MANAGED_ADMIN,
    ]
    if jwt_validity is not None:
        command += ["--jwt-validity", str(jwt_validity)]
    process = ServerProcess(
        command,
        name="privacyIDEA",
        log_path=state / "server.log",
        env=environment,
        cwd=state,
        ready=READY,
        timeout=timeout,
    )
    url = process.ready_match.group(1) if process.ready_match else f"http://127.0.0.1:{port}"
    return PrivacyIdeaServer(url, MANAGED_ADMIN, password, state, process)


class AdminSession:
    """The admin's JWT, fetched by ``POST /auth`` and fetched again when the server refuses it."""

    def __init__(self, client: HttpClient, user: str, password: str, *, hint: str) -> None:
        self.client = client
        self.user = user
        self._password = password
        #: What to say when the credentials are refused (which variables to check).
        self.hint = hint
        self._token: str | None = None
        self._lock = threading.Lock()

    def sign_in(self) -> str:
        exchange = _request(
            self.client, "POST", "/auth", {"username": self.user, "password": self._password}
        )
        value = _result(exchange).get("value")
        token = value.get("token") if isinstance(value, dict) else None
        if exchange.status != 200 or not isinstance(token, str):
            raise DriverError(
                f"privacyIDEA refused the admin {self.user!r} at POST /auth "
                f"({exchange.status} {_error(exchange)}): {self.hint}"
            )
        self._token = token
        return token

    def call(self, method: str, path: str, body: Any = None) -> Exchange:
        """An admin request; once more after a refused JWT (a clock moved past ``exp``/``iat``)."""
        with self._lock:
            token = self._token or self.sign_in()
        exchange = _request(self.client, method, path, body, token)
        if exchange.status == 401:
            with self._lock:
                if self._token == token:
                    self.sign_in()
                token = self._token or self.sign_in()
            exchange = _request(self.client, method, path, body, token)
        return exchange


def _request(
    client: HttpClient, method: str, path: str, body: Any = None, token: str | None = None
) -> Exchange:
    # privacyIDEA wants the bare JWT in Authorization (no "Bearer").
    headers = {"Authorization": token} if token else None
    try:
        return client.request(method, path, json_body=body, headers=headers)
    except TargetUnreachable as exc:
        raise DriverError(f"privacyIDEA did not answer: {exc}") from exc


def _result(exchange: Exchange) -> dict[str, Any]:
    result = exchange.field("result")
    return result if isinstance(result, dict) else {}


def _error(exchange: Exchange) -> str:
    error = _result(exchange).get("error")
    if isinstance(error, dict):
        return f"{error.get('code')}: {error.get('message')}"
    return exchange.raw[:200].decode("utf-8", "replace")


@dataclass(frozen=True)
class Configuration:
    """The settings in effect and the policy privacyIDEA's docs derive from them.

    ``given`` are the driver's options; ``system`` the server's system config
    as ``GET /system/`` lists it (only the keys set there); what neither sets
    takes the documented default.
    """

    given: Mapping[str, Any]
    system: Mapping[str, str]
    managed: bool = True

    def setting(self, name: str) -> tuple[Any, str]:
        """A setting's value in effect, and where it comes from."""
        setting = SETTINGS[name]
        if name in self.given:
            where = "setConfig" if self.managed and name not in TOKEN_OPTIONS else "token"
            return self.given[name], f"option {name}={self.given[name]} ({where})"
        key = setting.system_key
        if key in self.system:
            raw = self.system[key]
            return _parse_config(setting.default, raw), f"GET /system/: {key}={raw}"
        return setting.default, f"unset; documented default {setting.default}"

    def declared_policy(self) -> dict[str, Any]:
        time_window, _ = self.setting("timeWindow")
        time_step, _ = self.setting("timeStep")
        max_fail, _ = self.setting("max_failcount")
        clear_minutes, _ = self.setting("failcounter_clear_timeout")
        resync, _ = self.setting("AutoResync")
        sync_window, _ = self.setting("DefaultSyncWindow")
        steps = int(time_window) // int(time_step)
        hashlib, _ = self.setting("hashlib")
        digits, _ = self.setting("otplen")
        return {
            "window": {"back": steps, "forward": steps},
            "replay": "monotonic_step",
            "throttle": {
                "max_failures": int(max_fail),
                "lock_seconds": int(clear_minutes) * 60 if int(clear_minutes) > 0 else "permanent",
                "kind": "lockout",
            },
            "drift": {
                "tracking": bool(resync),
                "max_steps": int(sync_window) if resync else None,
            },
            "totp": {
                "algorithm": str(hashlib).upper(),
                "digits": int(digits),
                "period": int(time_step),
            },
        }

    def policy_sources(self) -> dict[str, str]:
        def where(name: str) -> str:
            return f"[{self.setting(name)[1]}] {SETTINGS[name].source}"

        return {
            "window": f"timeWindow // timeStep steps each way; {where('timeWindow')}; "
            f"{where('timeStep')}",
            "replay": f"{GLOSSARY_DOC} 'Time Window': 'Timestep and timewindow are completely "
            "similar to the counter and countwindow of HOTP tokens'; "
            f"{HOTP_DOC}: the server sets 'its own internal counter' past the values used. "
            "No page states a replay rule for TOTP in words: monotonic_step is read from the "
            "counter analogy",
            "throttle.max_failures": where("max_failcount"),
            "throttle.lock_seconds": "failcounter_clear_timeout minutes, 'permanent' when 0 "
            "(the token stays locked until an admin resets it); "
            + where("failcounter_clear_timeout"),
            "throttle.kind": f"lockout: the token 'can not be used unless it is reset' "
            f"({SYSTEM_CONFIG_DOC})",
            "drift": f"{where('AutoResync')}; max_steps: {where('DefaultSyncWindow')}. The docs "
            "say nothing of the token's timeShift changing on an ordinary success",
            "totp": f"algorithm: {where('hashlib')}; digits: {where('otplen')}; "
            f"period: {where('timeStep')}",
            "not read": "policies (e.g. totp_timestep, totp_hashlib, auth_max_fail) can change "
            "these per user or realm; the driver reads the system config only",
        }


# -- the driver ----------------------------------------------------------------------------


class PrivacyIdeaDriver(Driver):
    """privacyIDEA 3.14's TOTP tokens, on a server the harness starts or at a URL."""

    name = "privacyidea"
    title = "privacyIDEA 3.14 (TOTP tokens: /token/init, /validate/check)"
    reaches_urls = True
    options: ClassVar[Sequence[Option]] = (
        Option(
            "timeWindow",
            "seconds before and after the current time a code is searched for "
            "(TOTP token setting, given to every new token)",
            integer(0, 10**7),
            default=180,
        ),
        Option(
            "timeStep",
            "the server's default time step in seconds (system setting totp.timeStep; "
            "managed only)",
            integer(1, 3600),
            default=30,
        ),
        Option(
            "hashlib",
            "the server's default hash for new TOTP tokens (system setting totp.hashlib; "
            "managed only): what the checks provision",
            _hashlib,
            default="sha1",
        ),
        Option(
            "otplen",
            "the OTP length of new tokens (system setting DefaultOtpLen; managed only): what "
            "the checks provision",
            integer(6, 8),
            default=6,
        ),
        Option(
            "max_failcount",
            "failed attempts after which a token is locked (the token's maxfail, set on "
            "every new token)",
            integer(1, 10**6),
            default=10,
        ),
        Option(
            "failcounter_clear_timeout",
            "minutes after the max failcount was reached that an attempt clears the fail "
            "counter, 0 never (system setting; managed only)",
            integer(0, 10**6),
            default=0,
        ),
        Option(
            "AutoResync",
            "resync a token from two consecutive codes within the sync window (system "
            "setting; managed only)",
            boolean,
            default=False,
        ),
        Option(
            "AutoResyncTimeout",
            "seconds within which the second code of an AutoResync must come (system "
            "setting; managed only)",
            integer(1, 10**6),
            default=300,
        ),
        Option(
            "DefaultSyncWindow",
            "steps searched for a resync (system setting for new tokens; managed only)",
            integer(1, 10**6),
            default=1000,
        ),
    )
    # JSON carries a number as well as a string.
    code_forms = frozenset({"json_number", "non_ascii_digits", "whitespace"})
    #: A TOTP token takes sha1, sha256 or sha512, 6 to 8 digits, any step (the usual two).
    variants = tuple(
        TotpParameters(algorithm, digits, period)
        for algorithm in HASHLIBS
        for digits in (6, 7, 8)
        for period in (30, 60)
    )

    # The variant sets what the checks provision; each token takes its own parameters.
    provisions_every_variant = True

    @classmethod
    def variant_options(
        cls, variant: TotpParameters, given: Mapping[str, str], workdir: Path
    ) -> dict[str, str]:
        return {
            **given,
            "hashlib": HASHLIBS[variant.algorithm],
            "otplen": str(variant.digits),
            "timeStep": str(variant.period),
        }

    def __init__(
        self, options: Mapping[str, Any], workdir: Path, *, url: str | None = None
    ) -> None:
        super().__init__(options, workdir, url=url)
        self.server: PrivacyIdeaServer | None = None
        self.clock: FaketimeFileClock | None = None
        self._state: Path | None = None
        self._live: set[str] = set()
        self._live_lock = threading.Lock()
        self._serials = itertools.count(1)
        # A run's own tag: serials of two runs against one server never meet.
        self._run = uuid.uuid4().hex[:8].upper()
        if url is None:
            self._start_managed()
        else:
            self._reach(url)
        try:
            self._system = self._read_system_config()
        except DriverError:
            self.close()
            raise

    def _start_managed(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._state = Path(tempfile.mkdtemp(prefix="privacyidea-", dir=self.workdir))
        self.clock = FaketimeFileClock(self._state / "faketime", time.time())
        try:
            self.server = start_server(
                self._state / "server", clock=self.clock, jwt_validity=JWT_VALIDITY_SECONDS
            )
            client = HttpClient(self.server.url, timeout=HTTP_TIMEOUT_SECONDS)
            self.client = client
            self.admin = AdminSession(
                client,
                self.server.user,
                self.server.password,
                hint="the managed server's own admin (see its server.log)",
            )
            system = {
                SETTINGS[name].system_key: _config_value(value)
                for name, value in self.settings.items()
                if name not in TOKEN_OPTIONS
            }
            if system:
                written = self.admin.call("POST", "/system/setConfig", system)
                if written.status != 200 or _result(written).get("status") is not True:
                    raise DriverError(
                        f"POST /system/setConfig {sorted(system)} answered "
                        f"{written.status} {_error(written)}"
                    )
        except BaseException:
            self.close()
            raise

    def _reach(self, url: str) -> None:
        system_options = sorted(set(self.settings) - TOKEN_OPTIONS)
        if system_options:
            raise OptionError(
                f"target {self.name!r} option(s) {', '.join(system_options)}: system settings "
                "are written only on a server the harness starts (--target privacyidea); "
                "a server at a URL is read, not reconfigured"
            )
        user = os.environ.get(USER_VARIABLE)
        password = os.environ.get(TARGET_PASSWORD_VARIABLE)
        if not user or not password:
            raise DriverError(
                f"privacyIDEA at {url}: set {USER_VARIABLE} and {TARGET_PASSWORD_VARIABLE} to an "
                "admin's name and password (the driver creates and deletes TOTP tokens)"
            )
        self.client = HttpClient(url, timeout=HTTP_TIMEOUT_SECONDS)
        self.admin = AdminSession(
            self.client,
            user,
            password,
            hint=f"check {USER_VARIABLE} and {TARGET_PASSWORD_VARIABLE}",
        )
        self.admin.sign_in()

    @classmethod
    def missing(cls) -> str | None:
        found = missing_environment(ENVIRONMENT, "privacyIDEA")
        if found is not None:
            return found
        if not SERVE_SCRIPT.is_file() or not CONFIG_TEMPLATE.is_file():
            return f"privacyIDEA's set-up files are missing from {SETUP_DIR}: {REMEDY}"
        if libfaketime() is None:
            return f"privacyIDEA needs libfaketime (Debian faketime), not installed: {REMEDY}"
        return None

    # -- configuration -------------------------------------------------------------------

    def _read_system_config(self) -> dict[str, str]:
        """The server's system config (``GET /system/``): only the keys set there."""
        exchange = self.admin.call("GET", "/system/")
        value = _result(exchange).get("value")
        if exchange.status != 200 or not isinstance(value, dict):
            raise DriverError(f"GET /system/ answered {exchange.status} {_error(exchange)}")
        return {str(k): str(v) for k, v in value.items()}

    @property
    def configuration(self) -> Configuration:
        return Configuration(self.settings, self._system, managed=self.url is None)

    def declared_policy(self) -> dict[str, Any]:
        return self.configuration.declared_policy()

    def policy_sources(self) -> dict[str, str]:
        return self.configuration.policy_sources()

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        if self.server is not None:
            described["url"] = self.server.url
            described["log"] = str(self.server.process.log_path)
        elif self.url is not None:
            described["url"] = self.url
        return described

    # -- the verifier ----------------------------------------------------------------------

    def provision(self, parameters: TotpParameters) -> Credential:
        hashlib = HASHLIBS.get(parameters.algorithm.upper())
        if hashlib is None:
            raise Unsupported(
                f"privacyIDEA's TOTP token takes hashlib sha1, sha256 or sha512, "
                f"not {parameters.algorithm}"
            )
        serial = f"{SERIAL_PREFIX}{self._run}{next(self._serials):05d}"
        request: dict[str, Any] = {
            "type": "totp",
            "genkey": 1,
            "serial": serial,
            "otplen": parameters.digits,
            "hashlib": hashlib,
            "timeStep": parameters.period,
            "description": "twofa-harness conformance probe (deleted when done)",
        }
        if "timeWindow" in self.settings:
            request["timeWindow"] = self.settings["timeWindow"]
        with self._live_lock:
            self._live.add(serial)
        made = self.admin.call("POST", "/token/init", request)
        if made.status != 200 or _result(made).get("status") is not True:
            self._forget(serial)
            raise Unsupported(
                f"privacyIDEA refused a TOTP token of {parameters.describe()}: "
                f"{made.status} {_error(made)}"
            )
        detail = made.field("detail")
        googleurl = detail.get("googleurl") if isinstance(detail, dict) else None
        uri = googleurl.get("value") if isinstance(googleurl, dict) else None
        try:
            parsed = parse_uri(str(uri))
            key = parsed.key()
            handed_out = TotpParameters(parsed.algorithm, parsed.digits, parsed.period)
        except OtpauthError as exc:
            self.drop_serial(serial)
            raise DriverError(f"/token/init handed out an unusable otpauth URI: {exc}") from exc
        if handed_out != parameters:
            self.drop_serial(serial)
            raise Unsupported(
                f"asked for {parameters.describe()}, privacyIDEA handed out {handed_out.describe()}"
            )
        if "max_failcount" in self.settings:
            set_max = self.admin.call(
                "POST",
                "/token/set",
                {"serial": serial, "max_failcount": self.settings["max_failcount"]},
            )
            if set_max.status != 200:
                self.drop_serial(serial)
                raise DriverError(f"POST /token/set max_failcount answered {_error(set_max)}")
        fields: dict[str, Any] = {
            "serial": serial,
            "issuer": parsed.issuer,
            "account": parsed.account,
        }
        # The QR code its web UI shows the user (the URI drawn as a PNG data URI): what an
        # app's camera reads (twofa interop decodes it from its pixels). Redacted in logs.
        image = googleurl.get("img") if isinstance(googleurl, dict) else None
        if isinstance(image, str) and image.startswith(PNG_DATA_URI):
            fields["qr_png_base64"] = image[len(PNG_DATA_URI) :]
        return Credential(
            label=serial,
            key=key,
            parameters=handed_out,
            created_at=self.now(),
            uri=str(uri),
            fields=fields,
            handle={"serial": serial},
        )

    def submit(self, credential: Credential, code: str | int) -> Answer:
        serial = credential.handle["serial"]
        exchange = _request(
            self.client, "POST", "/validate/check", {"serial": serial, "pass": code}
        )
        return _answer(exchange)

    def drop(self, credential: Credential) -> None:
        self.drop_serial(credential.handle["serial"])

    def drop_serial(self, serial: str) -> None:
        """Delete the token (already gone is fine)."""
        deleted = self.admin.call("DELETE", f"/token/{serial}")
        if deleted.status not in (200, 404):
            raise DriverError(f"DELETE /token/{serial} answered {deleted.status} {_error(deleted)}")
        self._forget(serial)

    def _forget(self, serial: str) -> None:
        with self._live_lock:
            self._live.discard(serial)

    def live_serials(self) -> list[str]:
        """The tokens this driver made and has not deleted yet."""
        with self._live_lock:
            return sorted(self._live)

    def close(self) -> None:
        if self.url is not None and hasattr(self, "admin"):
            # Someone else's server: leave no token behind.
            for serial in self.live_serials():
                with contextlib.suppress(DriverError):
                    self.drop_serial(serial)
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self._state is not None:
            # The state holds the server's keys, secrets and database: none of it is kept
            # but the logs (a 500's traceback is in privacyidea.log).
            for log in ("server.log", "privacyidea.log"):
                with contextlib.suppress(OSError):
                    shutil.copy(
                        self._state / "server" / log, self.workdir / f"{self._state.name}-{log}"
                    )
            shutil.rmtree(self._state, ignore_errors=True)
            self._state = None


def _config_value(value: Any) -> str:
    """A setting as privacyIDEA's system config stores it ("True"/"False", digits)."""
    return str(bool(value)) if isinstance(value, bool) else str(value)


def _parse_config(default: Any, raw: str) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, str):
        return raw.strip().lower()
    try:
        return int(raw)
    except ValueError:
        raise DriverError(
            f"the server's system config holds {raw!r} where a number belongs"
        ) from None


def _said(exchange: Exchange) -> str:
    detail = exchange.field("detail")
    message = detail.get("message") if isinstance(detail, dict) else None
    if exchange.status == 200 and isinstance(message, str):
        return message
    return f"{exchange.status} {_error(exchange)}"


def _answer(exchange: Exchange) -> Answer:
    evidence = exchange.evidence()
    response = evidence.get("response")
    if isinstance(response, dict):
        # The RSA signature of every answer is long and says nothing about the code.
        evidence["response"] = {k: v for k, v in response.items() if k != "signature"}
    kept = {"http": evidence}
    said = _said(exchange)
    result = _result(exchange)
    if exchange.status >= 500 or exchange.body is None or not result:
        return Answer(Verdict.ERROR, said, kept)
    if exchange.status == 200 and result.get("value") is True:
        return Answer(Verdict.ACCEPTED, said, kept)
    if exchange.status == 200 and result.get("value") is False:
        lowered = said.lower()
        for words, verdict in MESSAGES:
            if words in lowered:
                return Answer(verdict, said, kept)
        return Answer(Verdict.REFUSED, said, kept)
    if exchange.status == 400:
        return Answer(Verdict.MALFORMED, said, kept)
    # 404 (no such token), 401/403 (a policy): not an answer about the code.
    return Answer(Verdict.ERROR, said, kept)
