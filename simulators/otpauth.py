"""The ``otpauth://`` Key URI format: build, parse and lint.

Follows Google's Key Uri Format wiki (the de-facto standard; checklist §2):
``otpauth://TYPE/LABEL?PARAMETERS`` with the label ``issuer:account``. The
parser is tolerant enough to read defective URIs, so the linter can say what is
wrong with them; ``KeyUri.key()`` and friends are strict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from simulators.hotp import DIGEST_BYTES, HASHES, OtpError, decode_base32, encode_base32

OtpType = Literal["totp", "hotp"]
Severity = Literal["error", "warning"]

#: Parameters the Key Uri Format wiki defines.
KNOWN_PARAMETERS: Final = frozenset(
    {"secret", "issuer", "algorithm", "digits", "period", "counter"}
)
#: The wiki's defaults for absent parameters.
DEFAULT_ALGORITHM: Final = "SHA1"
DEFAULT_DIGITS: Final = 6
DEFAULT_PERIOD: Final = 30
#: WIN-08: a period above this keeps one code valid too long.
MAX_PERIOD_SECONDS: Final = 120
#: RFC 4226 R6 (SEC-01): the shared secret MUST be at least 128 bits.
MIN_SECRET_BITS: Final = 128

_BASE32_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_LABEL_SEPARATOR: Final = re.compile(r":|%3A", re.IGNORECASE)


class OtpauthError(ValueError):
    """Raised when a string is not an otpauth URI at all, or a value cannot be used."""


@dataclass(frozen=True)
class KeyUri:
    """One otpauth URI as written: raw parameter values, decoded label parts.

    Typed accessors (``key()``, ``algorithm``, ``digits``...) apply the wiki's
    defaults and raise ``OtpauthError`` for values that cannot be used.
    """

    type: str
    account: str
    label_issuer: str | None
    #: Every query parameter in order, duplicates kept, values percent-decoded.
    parameters: tuple[tuple[str, str], ...] = ()
    #: The label exactly as it stood in the URI (still percent-encoded).
    raw_label: str = ""

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.parameters if key == name]

    def parameter(self, name: str) -> str | None:
        """The first value of a parameter, or None when it is absent."""
        found = self.values(name)
        return found[0] if found else None

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.parameters)

    @property
    def secret(self) -> str | None:
        return self.parameter("secret")

    @property
    def issuer_parameter(self) -> str | None:
        return self.parameter("issuer")

    @property
    def issuer(self) -> str | None:
        """The issuer: the parameter when present, else the label prefix (URI-04)."""
        return self.issuer_parameter if self.issuer_parameter is not None else self.label_issuer

    @property
    def algorithm(self) -> str:
        raw = self.parameter("algorithm")
        if raw is None:
            return DEFAULT_ALGORITHM
        if raw.upper() not in HASHES:
            raise OtpauthError(f"unknown algorithm {raw!r}: use SHA1, SHA256 or SHA512")
        return raw.upper()

    @property
    def digits(self) -> int:
        return self._integer("digits", DEFAULT_DIGITS)

    @property
    def period(self) -> int:
        return self._integer("period", DEFAULT_PERIOD)

    @property
    def counter(self) -> int | None:
        if self.parameter("counter") is None:
            return None
        return self._integer("counter", 0)

    def key(self) -> bytes:
        """The secret's bytes; padding is tolerated here, the linter reports it."""
        if self.secret is None:
            raise OtpauthError("the URI has no secret parameter")
        try:
            return decode_base32(self.secret)
        except OtpError as exc:
            raise OtpauthError(str(exc)) from exc

    def _integer(self, name: str, default: int) -> int:
        raw = self.parameter(name)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit()):
            raise OtpauthError(f"{name} must be a whole number, not {raw!r}")
        return int(raw)


def parse_uri(uri: str) -> KeyUri:
    """Read an otpauth URI. Raises ``OtpauthError`` only when it is not one at all."""
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() != "otpauth":
        raise OtpauthError(f"not an otpauth URI (scheme {parts.scheme or 'missing'!r})")
    otp_type = parts.netloc.lower()
    if otp_type not in ("totp", "hotp"):
        raise OtpauthError(f"unknown OTP type {parts.netloc!r}: use totp or hotp")
    raw_label = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not raw_label:
        raise OtpauthError("the URI has no label (otpauth://TYPE/LABEL?...)")
    separator = _LABEL_SEPARATOR.search(raw_label)
    if separator:
        label_issuer: str | None = unquote(raw_label[: separator.start()])
        # The wiki allows optional spaces before the account name.
        account = unquote(raw_label[separator.end() :]).lstrip(" ")
    else:
        label_issuer, account = None, unquote(raw_label)
    parameters = tuple(parse_qsl(parts.query, keep_blank_values=True))
    return KeyUri(
        type=otp_type,
        account=account,
        label_issuer=label_issuer,
        parameters=parameters,
        raw_label=raw_label,
    )


def build_uri(
    secret: bytes | str,
    account: str,
    issuer: str | None = None,
    *,
    otp_type: OtpType = "totp",
    algorithm: str = DEFAULT_ALGORITHM,
    digits: int = DEFAULT_DIGITS,
    period: int = DEFAULT_PERIOD,
    counter: int | None = None,
    include_defaults: bool = True,
) -> str:
    """Build a URI the way the wiki recommends: issuer in label and parameter, no padding."""
    for name, value in (("issuer", issuer), ("account", account)):
        if value is not None and ":" in value:
            raise OtpauthError(f"the {name} {value!r} contains ':', which the label cannot carry")
    if not account:
        raise OtpauthError("the account name is empty")
    if otp_type == "hotp" and counter is None:
        raise OtpauthError("an HOTP URI needs a counter")
    secret_text = encode_base32(secret) if isinstance(secret, bytes) else secret.rstrip("=")
    label = quote(account, safe="@")
    if issuer:
        label = f"{quote(issuer, safe='@')}:{label}"
    params: list[tuple[str, str]] = [("secret", secret_text)]
    if issuer:
        params.append(("issuer", issuer))
    if include_defaults or algorithm.upper() != DEFAULT_ALGORITHM:
        params.append(("algorithm", algorithm.upper()))
    if include_defaults or digits != DEFAULT_DIGITS:
        params.append(("digits", str(digits)))
    if otp_type == "totp" and (include_defaults or period != DEFAULT_PERIOD):
        params.append(("period", str(period)))
    if otp_type == "hotp":
        params.append(("counter", str(counter)))
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in params)
    return f"otpauth://{otp_type}/{label}?{query}"


@dataclass(frozen=True)
class Finding:
    """One thing the linter has to say about a URI."""

    requirement: str
    severity: Severity
    message: str
    parameter: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.severity.upper():7} {self.requirement:7} {self.message}"


def lint_uri(uri: str) -> list[Finding]:
    """Check a URI against the Key Uri Format and the secret-size requirements.

    Requirement ids are those of the standards checklist (URI-0x, SEC-0x,
    WIN-08). Errors break a requirement; warnings break a recommendation.
    """
    try:
        parsed = parse_uri(uri)
    except OtpauthError as exc:
        return [Finding("URI-01", "error", f"{exc}.")]
    return list(_lint_parsed(parsed))


def _lint_parsed(uri: KeyUri) -> Iterable[Finding]:
    yield from _lint_label(uri)
    yield from _lint_parameters(uri)
    yield from _lint_algorithm(uri)
    raw_algorithm = (uri.parameter("algorithm") or DEFAULT_ALGORITHM).upper()
    yield from _lint_secret(uri, raw_algorithm if raw_algorithm in HASHES else DEFAULT_ALGORITHM)
    yield from _lint_digits(uri)
    yield from _lint_period_and_counter(uri)


def _lint_label(uri: KeyUri) -> Iterable[Finding]:
    if ":" in uri.account or _LABEL_SEPARATOR.search(uri.account):
        yield Finding(
            "URI-02",
            "error",
            f"The account name {uri.account!r} contains ':'; neither issuer nor account "
            "may contain a colon.",
        )
    if not uri.account:
        yield Finding("URI-02", "error", "The label has no account name.")
    issuer_param = uri.issuer_parameter
    if issuer_param is not None and ":" in issuer_param:
        yield Finding(
            "URI-02",
            "error",
            f"The issuer {issuer_param!r} contains ':'; some apps refuse such a URI.",
            "issuer",
        )
    if issuer_param is None and uri.label_issuer is None:
        yield Finding(
            "URI-04",
            "warning",
            "No issuer: the issuer parameter is STRONGLY RECOMMENDED, with the same label prefix.",
            "issuer",
        )
    elif issuer_param is None:
        yield Finding(
            "URI-04",
            "warning",
            "The label has an issuer prefix but no issuer parameter; the wiki recommends both.",
            "issuer",
        )
    elif uri.label_issuer is None:
        yield Finding(
            "URI-04",
            "warning",
            "The issuer parameter has no matching label prefix; older apps show only the label.",
            "issuer",
        )
    elif uri.label_issuer != issuer_param:
        yield Finding(
            "URI-04",
            "warning",
            f"The label's issuer prefix {uri.label_issuer!r} differs from the issuer parameter "
            f"{issuer_param!r}; they should be equal, and strict parsers refuse the URI.",
            "issuer",
        )


def _lint_parameters(uri: KeyUri) -> Iterable[Finding]:
    seen: set[str] = set()
    for name in uri.parameter_names:
        if name in seen and name in KNOWN_PARAMETERS:
            yield Finding(
                "URI-01",
                "error",
                f"The parameter {name!r} appears more than once; apps disagree on which wins.",
                name,
            )
        seen.add(name)


def _lint_algorithm(uri: KeyUri) -> Iterable[Finding]:
    raw = uri.parameter("algorithm")
    if raw is None:
        return
    if raw.upper() not in HASHES:
        yield Finding(
            "URI-05",
            "error",
            f"Unknown algorithm {raw!r}: the Key Uri Format allows SHA1, SHA256 and SHA512.",
            "algorithm",
        )
    elif raw != raw.upper():
        yield Finding(
            "URI-05",
            "warning",
            f"The algorithm is written {raw!r}; apps that compare exactly expect {raw.upper()!r}.",
            "algorithm",
        )


def _lint_secret(uri: KeyUri, algorithm: str) -> Iterable[Finding]:
    secrets = uri.values("secret")
    if not secrets or not secrets[0]:
        yield Finding("URI-03", "error", "The secret parameter is REQUIRED and missing.", "secret")
        return
    secret = secrets[0]
    if "=" in secret:
        yield Finding(
            "URI-03",
            "warning",
            "The secret carries base32 '=' padding, which should be omitted; some apps refuse it.",
            "secret",
        )
    body = secret.rstrip("=")
    if body != body.upper() and frozenset(body.upper()) <= _BASE32_ALPHABET:
        yield Finding(
            "URI-03",
            "warning",
            "The secret is in lower case; base32 is upper case and some apps refuse it.",
            "secret",
        )
        body = body.upper()
    try:
        key = decode_base32(body)
    except OtpError as exc:
        yield Finding("URI-03", "error", f"The secret cannot be decoded: {exc}.", "secret")
        return
    bits = len(key) * 8
    if bits < MIN_SECRET_BITS:
        yield Finding(
            "SEC-01",
            "error",
            f"The secret is {bits} bits; RFC 4226 R6 requires at least {MIN_SECRET_BITS}.",
            "secret",
        )
    elif len(key) < DIGEST_BYTES[algorithm]:
        yield Finding(
            "SEC-02",
            "warning",
            f"The secret is {len(key)} bytes, shorter than the {DIGEST_BYTES[algorithm]}-byte "
            f"{algorithm} output that RFC 6238 §5.1 recommends.",
            "secret",
        )


def _lint_digits(uri: KeyUri) -> Iterable[Finding]:
    raw = uri.parameter("digits")
    if raw is None:
        return
    if not (raw.isascii() and raw.isdigit()):
        yield Finding("URI-06", "error", f"digits must be a whole number, not {raw!r}.", "digits")
    elif int(raw) == 7:
        yield Finding(
            "URI-06",
            "warning",
            "digits=7 is allowed by RFC 4226 but not by the Key Uri Format (6 or 8); "
            "many apps ignore it.",
            "digits",
        )
    elif int(raw) not in (6, 8):
        yield Finding(
            "URI-06",
            "error",
            f"digits={raw}: the Key Uri Format allows 6 or 8, and RFC 4226 at least 6.",
            "digits",
        )


def _lint_period_and_counter(uri: KeyUri) -> Iterable[Finding]:
    period = uri.parameter("period")
    if period is not None:
        if not (period.isascii() and period.isdigit()) or int(period) == 0:
            yield Finding(
                "URI-07",
                "error",
                f"period must be a positive whole number, not {period!r}.",
                "period",
            )
        elif int(period) > MAX_PERIOD_SECONDS:
            yield Finding(
                "WIN-08",
                "error",
                f"period={period} s: over {MAX_PERIOD_SECONDS} s one code stays valid too long.",
                "period",
            )
        if uri.type == "hotp":
            yield Finding("URI-07", "warning", "period has no meaning for an HOTP URI.", "period")
    counter = uri.parameter("counter")
    if uri.type == "hotp" and counter is None:
        yield Finding("URI-08", "error", "An HOTP URI REQUIRES a counter parameter.", "counter")
    elif counter is not None and not (counter.isascii() and counter.isdigit()):
        yield Finding(
            "URI-08", "error", f"counter must be a whole number, not {counter!r}.", "counter"
        )
    elif counter is not None and int(counter) >= 2**64:
        yield Finding("URI-08", "error", "counter does not fit in 8 bytes (RFC 4226 §5.1).")
