"""A simulated authenticator device: a phone running one app profile.

The device is provisioned the way a person would do it, by scanning the QR
code's URI or by typing the manual key, and each app profile decides what it
honours, refuses or silently gets wrong. Codes come from a pre-keyed HMAC, so
generating millions of them is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from simulators.clock import Clock, SystemClock
from simulators.hotp import HASHES, MAX_DIGITS, CodeGenerator, OtpError, decode_base32
from simulators.otpauth import KNOWN_PARAMETERS, OtpauthError, parse_uri
from simulators.profiles import AppProfile, ParameterSupport, get_profile

_WHITESPACE: Final = frozenset(" \t\r\n")


class ProvisioningRefused(ValueError):
    """Raised when the app refuses a URI or a typed key, as the real app would."""


class BackupUnsupported(RuntimeError):
    """Raised when a device's app has no cloud backup, or a backup is for another app."""


@dataclass(frozen=True)
class Account:
    """One account inside an authenticator app, with the parameters the app really uses."""

    issuer: str | None
    name: str
    otp_type: str
    algorithm: str
    digits: int
    period: int
    #: What the server asked for (from the URI or the typed form), before the app's quirks.
    requested_algorithm: str
    requested_digits: int | str
    requested_period: int | str
    #: The initial counter of an HOTP account.
    counter: int = 0
    #: What the app did differently from what was asked, in plain words.
    quirks_applied: tuple[str, ...] = ()
    #: What the app told the user while importing.
    warnings: tuple[str, ...] = ()
    key: bytes = field(default=b"", repr=False)
    _generator: CodeGenerator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        generator = CodeGenerator(
            self.key, digits=self.digits, algorithm=self.algorithm, period=self.period
        )
        object.__setattr__(self, "_generator", generator)

    @property
    def label(self) -> str:
        return f"{self.issuer}:{self.name}" if self.issuer else self.name

    @property
    def silently_defaulted(self) -> bool:
        """True when the app imported the account but computes codes other than asked."""
        return (self.algorithm, self.digits, self.period) != (
            self.requested_algorithm,
            self.requested_digits,
            self.requested_period,
        )

    def code_at(self, unix_time: float) -> str:
        """The TOTP code this account shows when the device's clock reads ``unix_time``."""
        return self._generator.code_at(unix_time)

    def code_shown_at(self, unix_time: float) -> str:
        """What the app shows at ``unix_time``: a TOTP code, or an HOTP account's current code."""
        if self.otp_type == "hotp":
            return self._generator.code_for_counter(self.counter)
        return self._generator.code_at(unix_time)

    def code_for_counter(self, counter: int) -> str:
        return self._generator.code_for_counter(counter)

    def step_at(self, unix_time: float) -> int:
        return self._generator.step_at(unix_time)


@dataclass(frozen=True)
class CloudBackup:
    """An app's cloud copy of its accounts (LastPass-style): same secrets on a new phone."""

    profile_name: str
    accounts: tuple[Account, ...]
    hotp_counters: tuple[tuple[int, int], ...] = ()


class AuthenticatorDevice:
    """A phone with one authenticator app on it, reading its own clock."""

    def __init__(
        self,
        profile: AppProfile | str = "rfc-reference",
        clock: Clock | None = None,
        *,
        name: str = "phone",
    ) -> None:
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.name = name
        self._accounts: list[Account] = []
        #: Next HOTP counter per account, keyed by the account's position.
        self._hotp_counters: dict[int, int] = {}

    def __repr__(self) -> str:
        return f"AuthenticatorDevice({self.profile.name!r}, name={self.name!r})"

    @property
    def accounts(self) -> tuple[Account, ...]:
        return tuple(self._accounts)

    # -- provisioning --------------------------------------------------------

    def provision_from_uri(self, uri: str) -> Account:
        """Import an account as if the app had scanned a QR code carrying ``uri``."""
        try:
            parsed = parse_uri(uri)
        except OtpauthError as exc:
            raise ProvisioningRefused(f"{self.profile.title} cannot read the code: {exc}") from exc
        profile = self.profile
        secret = parsed.secret
        if not secret:
            raise ProvisioningRefused("the URI has no secret")
        names = parsed.parameter_names
        repeated = sorted({n for n in names if n in KNOWN_PARAMETERS and names.count(n) > 1})
        if repeated and profile.duplicate_parameters == "refuse":
            raise ProvisioningRefused(
                f"{profile.title} refuses a URI with a duplicate parameter {repeated[0]!r} "
                f"[{profile.duplicate_parameters_source or 'draft-andesco-otpauth-uri-00 A-3.4-5'}]"
            )
        if "=" in secret and profile.uri_padding == "refuse":
            raise ProvisioningRefused(
                f"{profile.title} refuses a secret with '=' padding [{profile.uri_padding_source}]"
            )
        for issuer in (parsed.issuer_parameter, parsed.label_issuer):
            if issuer and ":" in issuer and profile.issuer_colon == "refuse":
                raise ProvisioningRefused(
                    f"{profile.title} refuses the issuer {issuer!r} because it contains ':' "
                    f"[{profile.issuer_colon_source}]"
                )
        key = self._decode(self._scanned_secret(secret))
        counter = 0
        if parsed.type == "hotp":
            raw_counter = parsed.parameter("counter")
            if raw_counter is None or not (raw_counter.isascii() and raw_counter.isdigit()):
                raise ProvisioningRefused("an HOTP URI needs a whole-number counter")
            counter = int(raw_counter)
        return self._add(
            key,
            issuer=parsed.issuer,
            name=parsed.account,
            otp_type=parsed.type,
            algorithm=parsed.parameter("algorithm") or "SHA1",
            digits=parsed.parameter("digits") or "6",
            period=parsed.parameter("period") or "30",
            counter=counter,
        )

    def _scanned_secret(self, secret: str) -> str:
        """A scanned secret as the app reads it: its key rules for spaces and case apply."""
        rules = self.profile.key_entry
        if any(c in _WHITESPACE for c in secret):
            if rules.spaces == "refuse":
                raise ProvisioningRefused(
                    f"{self.profile.title}: key is invalid (it contains spaces) [{rules.source}]"
                )
            secret = "".join(c for c in secret if c not in _WHITESPACE)
        if secret != secret.upper() and rules.lower_case == "refuse":
            raise ProvisioningRefused(
                f"{self.profile.title}: key is invalid (lower case) [{rules.source}]"
            )
        return secret.rstrip("=").upper()

    def provision_from_key(
        self,
        typed_key: str,
        *,
        account: str,
        issuer: str | None = None,
        algorithm: str = "SHA1",
        digits: int = 6,
        period: int = 30,
    ) -> Account:
        """Import an account from a key the user typed, with this app's normalisation."""
        return self._add(
            self._decode(self.normalise_typed_key(typed_key)),
            issuer=issuer,
            name=account,
            otp_type="totp",
            algorithm=algorithm,
            digits=str(digits),
            period=str(period),
        )

    def normalise_typed_key(self, typed_key: str) -> str:
        """What the app makes of a typed key, or ``ProvisioningRefused`` as its error."""
        rules = self.profile.key_entry
        key = typed_key
        checks: tuple[tuple[str, str, Callable[[str], bool], Callable[[str], str]], ...] = (
            (
                "spaces",
                rules.spaces,
                lambda k: any(c in _WHITESPACE for c in k),
                lambda k: "".join(c for c in k if c not in _WHITESPACE),
            ),
            ("hyphens", rules.hyphens, lambda k: "-" in k, lambda k: k.replace("-", "")),
            ("'=' padding", rules.padding, lambda k: "=" in k, lambda k: k.rstrip("=")),
        )
        for what, treatment, present, strip in checks:
            if present(key):
                if treatment == "refuse":
                    raise ProvisioningRefused(
                        f"{self.profile.title}: key is invalid (it contains {what}) "
                        f"[{rules.source}]"
                    )
                key = strip(key)
        if key != key.upper():
            if rules.lower_case == "refuse":
                raise ProvisioningRefused(
                    f"{self.profile.title}: key is invalid (lower case) [{rules.source}]"
                )
            key = key.upper()
        return key

    def _decode(self, secret: str) -> bytes:
        try:
            key = decode_base32(secret)
        except OtpError as exc:
            raise ProvisioningRefused(f"{self.profile.title}: key is invalid ({exc})") from exc
        bits = len(key) * 8
        if bits < self.profile.refuses_secrets_under_bits:
            raise ProvisioningRefused(
                f"{self.profile.title} refuses a {bits}-bit secret "
                f"[{self.profile.secret_size_source}]"
            )
        return key

    def _add(
        self,
        key: bytes,
        *,
        issuer: str | None,
        name: str,
        otp_type: str,
        algorithm: str,
        digits: str,
        period: str,
        counter: int = 0,
    ) -> Account:
        profile = self.profile
        quirks: list[str] = []
        effective_algorithm = _resolve(
            "algorithm", algorithm.upper(), profile.algorithm, lambda v: v in HASHES, quirks
        )
        requested_digits = _as_int(digits)
        effective_digits = _resolve(
            "digits",
            requested_digits,
            profile.digits,
            lambda v: isinstance(v, int) and 1 <= v <= MAX_DIGITS,
            quirks,
        )
        requested_period = _as_int(period)
        effective_period = _resolve(
            "period",
            requested_period,
            profile.period,
            lambda v: isinstance(v, int) and v > 0,
            quirks,
        )
        warnings: list[str] = []
        if len(key) * 8 < profile.warns_secrets_under_bits:
            warnings.append(
                f"{profile.title} warns that a {len(key) * 8}-bit secret is weak "
                f"[{profile.secret_size_source}]"
            )
        account = Account(
            issuer=issuer,
            name=name,
            otp_type=otp_type,
            algorithm=str(effective_algorithm),
            digits=int(effective_digits),
            period=int(effective_period),
            requested_algorithm=algorithm.upper(),
            requested_digits=requested_digits,
            requested_period=requested_period,
            counter=counter,
            quirks_applied=tuple(quirks),
            warnings=tuple(warnings),
            key=key,
        )
        self._accounts.append(account)
        self._hotp_counters[len(self._accounts) - 1] = counter
        return account

    # -- codes ---------------------------------------------------------------

    def account(self, label: str | None = None) -> Account:
        """The newest account with that label, or the newest account of all."""
        if not self._accounts:
            raise LookupError(f"{self.name} has no accounts")
        if label is None:
            return self._accounts[-1]
        for account in reversed(self._accounts):
            if label in (account.label, account.name):
                return account
        raise LookupError(f"{self.name} has no account {label!r}")

    def code_at(self, unix_time: float, label: str | None = None) -> str:
        """The code shown when this device's own clock reads ``unix_time``."""
        return self.account(label).code_at(unix_time)

    def code_now(self, label: str | None = None) -> str:
        """The code shown now, by this device's (possibly skewed, drifting) clock."""
        return self.account(label).code_at(self.clock.now())

    def next_hotp_code(self, label: str | None = None) -> str:
        """Press the button of an HOTP account: show the code, then count up."""
        account = self.account(label)
        index = self._accounts.index(account)
        counter = self._hotp_counters[index]
        self._hotp_counters[index] = counter + 1
        return account.code_for_counter(counter)

    def remove(self, label: str) -> None:
        """Delete an account, as a user tidying the app would."""
        account = self.account(label)
        index = self._accounts.index(account)
        del self._accounts[index]
        self._hotp_counters = {
            (i if i < index else i - 1): c for i, c in self._hotp_counters.items() if i != index
        }

    # -- cloud backup --------------------------------------------------------

    def backup(self) -> CloudBackup:
        """Copy every account to the app's cloud, if the app has one."""
        if not self.profile.cloud_backup:
            raise BackupUnsupported(f"{self.profile.title} has no cloud backup")
        return CloudBackup(
            self.profile.name, tuple(self._accounts), tuple(sorted(self._hotp_counters.items()))
        )

    @classmethod
    def restore(
        cls,
        backup: CloudBackup,
        clock: Clock | None = None,
        *,
        name: str = "new phone",
    ) -> AuthenticatorDevice:
        """A new phone with the same app, signed in to the cloud: the same secrets."""
        device = cls(backup.profile_name, clock, name=name)
        if not device.profile.cloud_backup:
            raise BackupUnsupported(f"{device.profile.title} has no cloud backup")
        device._accounts = list(backup.accounts)
        device._hotp_counters = dict(backup.hotp_counters)
        return device


def _as_int(raw: str) -> int | str:
    return int(raw) if raw.isascii() and raw.isdigit() else raw


def _resolve(
    name: str,
    requested: str | int,
    support: ParameterSupport,
    valid: Callable[[str | int], bool],
    quirks: list[str],
) -> str | int:
    """Apply one parameter's support rule: honour, silently default, or refuse."""
    if valid(requested) and support.honours(requested):
        return requested
    if support.fallback == "default":
        quirks.append(
            f"{name} {requested} not honoured: codes use {name} {support.default}"
            + (f" [{support.source}]" if support.source else "")
        )
        return support.default
    raise ProvisioningRefused(
        f"{name} {requested} is not supported" + (f" [{support.source}]" if support.source else "")
    )
