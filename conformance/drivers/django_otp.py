"""django-otp 1.7.5's ``TOTPDevice``, reached through a minimal Django 5.2 site.

The host app (``peers/django_otp_host/host.py``) runs in the peer's own
environment (``.peers/django-otp``), under libfaketime, on loopback, with a
threaded server and a SQLite file in its state directory. It exposes what a
login view does with django-otp, one JSON endpoint per verb: a credential is a
user with a ``TOTPDevice`` whose key django-otp generates (read back from its
``config_url``); a submission is ``verify_is_allowed()`` then
``verify_token()`` on the device loaded ``for_verify`` in a transaction, as
``OTPAuthenticationFormMixin`` does; a drop deletes the user. SQLite runs
with Django's ``transaction_mode`` IMMEDIATE and a 5 s timeout: SQLite ignores
``select_for_update``, and with the default DEFERRED mode parallel
verifications of one device fail with "database is locked".

Options, by django-otp's names: ``tolerance`` (the ``TOTPDevice`` field, given
to every new device), ``OTP_TOTP_SYNC`` and ``OTP_TOTP_THROTTLE_FACTOR``
(settings). Unset, django-otp's documented defaults apply.

The declared policy follows django-otp's documentation
(https://django-otp-official.readthedocs.io/en/stable/overview.html, "TOTP
Devices": the ``TOTPDevice`` field docs and "TOTP Settings"; the throttling
mixin in https://django-otp-official.readthedocs.io/en/stable/extend.html):

- window: ``tolerance`` steps back and forward ("if this is 1, we'll accept any
  of three tokens: the current one, the previous one, and the next one"; default 1);
- replay: ``last_t`` ("Only tokens at a higher time step will be verified
  subsequently"): monotonic_step;
- throttle: "The sequence of 1, 2, 4, 8... seconds is multiplied by this factor
  to define the delay imposed after 1, 2, 3, 4... successive failures" (default
  1; 0 disables): a delay, starting after one failure at ``factor`` seconds;
- drift: ``OTP_TOTP_SYNC`` (default True) tracks ``drift`` and slides the
  window by it; the docs set no bound on it;
- totp: the field defaults (6 digits, 30 s step); SHA1 is the only algorithm
  (the device has no algorithm field; ``config_url`` says ``algorithm=SHA1``).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping, Sequence
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
    TotpParameters,
    Unsupported,
    Verdict,
    boolean,
    integer,
)
from conformance.http import Exchange, HttpClient, TargetUnreachable
from simulators.otpauth import OtpauthError, parse_uri

#: The peer's environment under .peers/ and the host app it runs.
ENVIRONMENT: Final = "django-otp"
HOST_APP: Final = PEERS_DIR / "django_otp_host" / "host.py"
READY: Final = r"django-otp host ready on 127\.0\.0\.1:\d+"
#: Longer than the host's SQLite lock timeout (5 s), so a locked database answers first.
HTTP_TIMEOUT_SECONDS: Final = 15.0

DOCS: Final = "https://django-otp-official.readthedocs.io/en/stable/overview.html"
EXTEND_DOCS: Final = "https://django-otp-official.readthedocs.io/en/stable/extend.html"

#: django-otp's documented defaults of the options.
DEFAULT_TOLERANCE: Final = 1
#: TOTPDevice's own defaults (digits 6, step 30).
DEFAULT_DIGITS: Final = 6
DEFAULT_STEP: Final = 30
DEFAULT_SYNC: Final = True
DEFAULT_THROTTLE_FACTOR: Final = 1
#: ``TOTPDevice.step`` and ``tolerance`` are PositiveSmallIntegerFields.
SMALL_INTEGER_MAX: Final = 32767


def _device_digits(text: str) -> int:
    """6 or 8: the choices of ``TOTPDevice.digits`` (``choices=[(6, 6), (8, 8)]``)."""
    value = integer(6, 8)(text)
    if value not in (6, 8):
        raise ValueError(f"{value} is not one of TOTPDevice's digits (6 or 8)")
    return value


class DjangoOtpDriver(Driver):
    """django-otp's TOTPDevice in a minimal Django site started by the harness."""

    name = "django-otp"
    title = "django-otp 1.7.5 TOTPDevice (Django 5.2 host app, SQLite)"
    options: ClassVar[Sequence[Option]] = (
        Option(
            "tolerance",
            "TOTPDevice.tolerance of every new device: steps accepted in the past or future",
            integer(0, SMALL_INTEGER_MAX),
            DEFAULT_TOLERANCE,
        ),
        Option(
            "OTP_TOTP_SYNC",
            "track the prover's clock drift and slide the window by it",
            boolean,
            DEFAULT_SYNC,
        ),
        Option(
            "OTP_TOTP_THROTTLE_FACTOR",
            "seconds of delay after one failure, doubling with each more; 0 disables",
            integer(0, 86_400),
            DEFAULT_THROTTLE_FACTOR,
        ),
        Option(
            "digits",
            "TOTPDevice.digits of the team's devices (6 or 8): what the checks provision",
            _device_digits,
            DEFAULT_DIGITS,
        ),
        Option(
            "step",
            "TOTPDevice.step of the team's devices, in seconds: what the checks provision",
            integer(1, 32767),
            DEFAULT_STEP,
        ),
    )
    #: TOTPDevice takes 6 or 8 digits and any step; its HMAC is SHA-1 only.
    variants = tuple(TotpParameters("SHA1", digits, step) for digits in (6, 8) for step in (30, 60))
    # The variant sets what the checks provision; each TOTPDevice has its own digits and step.
    provisions_every_variant = True

    @classmethod
    def variant_options(
        cls, variant: TotpParameters, given: Mapping[str, str], workdir: Path
    ) -> dict[str, str]:
        return {**given, "digits": str(variant.digits), "step": str(variant.period)}

    def __init__(
        self, options: Mapping[str, Any], workdir: Path, *, url: str | None = None
    ) -> None:
        super().__init__(options, workdir, url=url)
        if url is not None:
            raise DriverError("django-otp runs in a host app the harness starts: give no URL")
        missing = self.missing()
        if missing is not None:
            raise NotInstalled(missing)
        workdir.mkdir(parents=True, exist_ok=True)
        self.state = Path(tempfile.mkdtemp(prefix="django-otp-", dir=workdir))
        config: dict[str, Any] = dict(self.settings)
        (self.state / "config.json").write_text(_json_text(config), encoding="utf-8")
        # Written before the start: an unparsable file would break the peer's sleeps.
        clock = FaketimeFileClock(self.state / "faketime.txt", time.time())
        self.clock = clock
        port = free_port()
        self.server: ServerProcess | None = ServerProcess(
            [
                str(peer_python(ENVIRONMENT)),
                str(HOST_APP),
                "--state",
                str(self.state),
                "--port",
                str(port),
            ],
            name="django-otp host",
            log_path=self.state / "host.log",
            env=clock.environment(),
            cwd=self.state,
            ready=READY,
        )
        self.http = HttpClient(f"http://127.0.0.1:{port}", timeout=HTTP_TIMEOUT_SECONDS)

    @classmethod
    def missing(cls) -> str | None:
        absent = missing_environment(ENVIRONMENT, "django-otp")
        if absent is not None:
            return absent
        if not HOST_APP.is_file():
            return f"django-otp's host app {HOST_APP} is missing: restore the checkout's peers/"
        if libfaketime() is None:
            return f"django-otp's clock needs libfaketime (Debian faketime): {REMEDY}"
        return None

    # -- the verifier ------------------------------------------------------------------

    def provision(self, parameters: TotpParameters) -> Credential:
        if parameters.algorithm.upper() != "SHA1":
            raise Unsupported(
                f"django-otp's TOTPDevice cannot use {parameters.algorithm}: it has no "
                "algorithm field and computes HMAC-SHA1 only (its config_url says algorithm=SHA1)"
            )
        exchange = self._call(
            "POST", "/credentials", {"digits": parameters.digits, "step": parameters.period}
        )
        if exchange.status == 400 and exchange.field("error") == "invalid_device":
            raise Unsupported(
                f"django-otp refuses a TOTPDevice of {parameters.describe()}: "
                f"{exchange.field('message')}"
            )
        if exchange.status != 201 or not isinstance(exchange.body, dict):
            raise DriverError(f"POST /credentials answered {_said(exchange)}")
        uri = str(exchange.body.get("config_url", ""))
        try:
            parsed = parse_uri(uri)
            key = parsed.key()
            handed_out = TotpParameters(parsed.algorithm, parsed.digits, parsed.period)
        except OtpauthError as exc:
            raise DriverError(f"django-otp's config_url is unusable: {exc}") from exc
        if handed_out != parameters:
            raise DriverError(
                f"asked for {parameters.describe()}, django-otp's config_url says "
                f"{handed_out.describe()}"
            )
        return Credential(
            label=str(exchange.body["device"]),
            key=key,
            parameters=handed_out,
            created_at=self.now(),
            provisioned_by="server",
            uri=uri,
            fields={
                "user": exchange.body.get("user"),
                "device": exchange.body.get("device"),
                "state": exchange.body.get("state"),
            },
            handle={"device": exchange.body["device"], "user_id": exchange.body["id"]},
        )

    def submit(self, credential: Credential, code: str | int) -> Answer:
        if not isinstance(code, str):
            raise DriverError("django-otp's login form takes the token as a string field")
        body = {"device": credential.handle["device"], "otp_token": code}
        try:
            exchange = self.http.post("/verify", body)
        except TargetUnreachable as exc:
            return Answer(
                Verdict.ERROR, f"no answer: {exc}", {"request": body, "log": self._tail()}
            )
        return _answer(exchange)

    def drop(self, credential: Credential) -> None:
        if self.server is None or not self.server.alive:
            return
        exchange = self._call("DELETE", f"/credentials/{credential.handle['user_id']}")
        if exchange.status not in (200, 404):
            raise DriverError(f"DELETE /credentials answered {_said(exchange)}")

    def _call(self, method: str, path: str, body: Any = None) -> Exchange:
        try:
            return self.http.request(method, path, json_body=body)
        except TargetUnreachable as exc:
            raise DriverError(f"the django-otp host did not answer: {exc}\n{self._tail()}") from exc

    def _tail(self) -> str:
        return self.server.tail() if self.server is not None else "(not running)"

    # -- the declared policy -------------------------------------------------------------

    @property
    def tolerance(self) -> int:
        return int(self.settings.get("tolerance", DEFAULT_TOLERANCE))

    @property
    def sync(self) -> bool:
        return bool(self.settings.get("OTP_TOTP_SYNC", DEFAULT_SYNC))

    @property
    def throttle_factor(self) -> int:
        return int(self.settings.get("OTP_TOTP_THROTTLE_FACTOR", DEFAULT_THROTTLE_FACTOR))

    def declared_policy(self) -> dict[str, Any]:
        factor = self.throttle_factor
        throttle: dict[str, Any] = (
            # The first delay comes after one failure and lasts `factor` seconds; each
            # further failure doubles it (there is no fixed lock length).
            {"max_failures": 1, "lock_seconds": factor, "kind": "delay"}
            if factor > 0
            else {"max_failures": None, "lock_seconds": None, "kind": "none"}
        )
        return {
            "window": {"back": self.tolerance, "forward": self.tolerance},
            "replay": "monotonic_step",
            "throttle": throttle,
            "drift": {"tracking": self.sync, "max_steps": None},
            "totp": {
                "algorithm": "SHA1",
                "digits": int(self.settings.get("digits", DEFAULT_DIGITS)),
                "period": int(self.settings.get("step", DEFAULT_STEP)),
            },
        }

    def policy_sources(self) -> dict[str, str]:
        device = f"{DOCS} (TOTP Devices: TOTPDevice, from django_otp/plugins/otp_totp/models.py)"
        return {
            "window": f'{device}: tolerance "The number of time steps in the past or future '
            "to allow. For example, if this is 1, we'll accept any of three tokens: the current "
            'one, the previous one, and the next one. (Default: 1)"; drift: "The number of '
            'time steps the prover is known to deviate from our clock" (Default: 0); t0 '
            '"The Unix time at which to begin counting steps. (Default: 0)"',
            "replay": f'{device}: last_t "The time step of the last verified token. To avoid '
            "verifying the same token twice, this will be updated on each successful "
            "verification. Only tokens at a higher time step will be verified subsequently. "
            '(Default: -1)"',
            "throttle": f'{DOCS} (TOTP Settings): OTP_TOTP_THROTTLE_FACTOR "Default: 1. This '
            "controls the rate of throttling. The sequence of 1, 2, 4, 8... seconds is "
            "multiplied by this factor to define the delay imposed after 1, 2, 3, 4... "
            'successive failures. Set to 0 to disable throttling completely."; '
            f'{EXTEND_DOCS} (ThrottlingMixin.get_throttle_factor): "The number of seconds '
            "required between verification attempts will be c2^(n-1) where c is this factor "
            'and n is the number of previous failures." So: a delay after 1 failure of '
            "factor seconds, doubling with each further failure; the docs name no fixed "
            "lock length, and no maximum.",
            "drift": f'{DOCS} (TOTP Settings): OTP_TOTP_SYNC "Default: True. If true, then '  # noqa: S608 - prose
            "TOTP devices will keep track of the difference between the prover's clock and "
            "our own. Any time a TOTPDevice matches a token in the past or future, it will "
            "update drift to the number of time steps that the two sides are out of sync. "
            "For subsequent tokens, we'll slide the window of acceptable tokens by this "
            'number." The docs set no limit on drift: max_steps is None.',
            "totp": f'{device}: step "The time step in seconds. (Default: 30)"; digits '
            '"The number of digits to expect in a token (6 or 8). (Default: 6)"; the device '
            "has no algorithm field (config_url writes algorithm=SHA1): SHA1.",
        }

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        described["state_dir"] = str(self.state)
        return described

    def close(self) -> None:
        server, self.server = getattr(self, "server", None), None
        if server is not None:
            server.stop()


def _json_text(config: Mapping[str, Any]) -> str:
    return json.dumps(dict(config), indent=2, sort_keys=True) + "\n"


def _said(exchange: Exchange) -> str:
    """The status and the host's own words (django-otp's messages, or the failure)."""
    body = exchange.body if isinstance(exchange.body, dict) else {}
    if exchange.status == 200 and body.get("verified") is True:
        return "200 verified"
    words = [str(exchange.status)]
    refusal = body.get("verify_is_allowed")
    if isinstance(refusal, dict):
        words.append(f"{refusal.get('reason')} failure_count={refusal.get('failure_count')}")
        if refusal.get("locked_until"):
            words.append(f"locked_until={refusal['locked_until']}")
    elif body.get("error"):
        words.append(str(body["error"]))
    if body.get("message"):
        return " ".join(words) + f": {body['message']}"
    if not body and exchange.raw:
        words.append(exchange.raw[:200].decode("utf-8", "replace"))
    return " ".join(words)


def _answer(exchange: Exchange) -> Answer:
    evidence = {"http": exchange.evidence()}
    said = _said(exchange)
    body = exchange.body if isinstance(exchange.body, dict) else {}
    if exchange.status == 200 and body.get("verified") is True:
        return Answer(Verdict.ACCEPTED, said, evidence)
    if exchange.status == 401 and body.get("error") == "invalid_token":
        # django-otp says "invalid token" alike for a wrong, a reused and a malformed code.
        return Answer(Verdict.INVALID, said, evidence)
    if exchange.status == 429 and body.get("error") == "verification_not_allowed":
        return Answer(Verdict.LOCKED, said, evidence, _retry_after(exchange, body))
    return Answer(Verdict.ERROR, said, evidence)


def _retry_after(exchange: Exchange, body: Mapping[str, Any]) -> float | None:
    refusal = body.get("verify_is_allowed")
    if isinstance(refusal, dict) and isinstance(refusal.get("seconds_left"), int | float):
        return max(0.0, float(refusal["seconds_left"]))
    header = exchange.headers.get("Retry-After", "")
    return float(header) if header.isdigit() else None


__all__ = ["DjangoOtpDriver"]
