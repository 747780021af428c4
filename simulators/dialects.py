"""otpauth URI dialects: each specification's rules as data, and a linter per dialect.

Five dialects disagree on what an ``otpauth://`` URI may carry (the reference is
``shared/reference/otpauth-dialects.md``; docs/uri-dialects.md explains the
choices below): Google's Key Uri Format (G), draft-andesco-otpauth-uri-00 (A),
draft-linuxgemini-otpauth-uri-02 (L), Yubico's "URI string format" page and
its .NET SDK (Y, YSDK) and Apple's iCloud Keychain article (AP). Rule ids are
the reference's. ``lint_dialect`` answers in the reference matrix's verdicts:

- ``OK`` conforming; ``OK*`` conforming with a SHOULD-level warning;
- ``NC`` a grammar or producer violation whose consumer behaviour the dialect
  leaves undefined (a warning, an error in strict mode);
- ``REJ`` a consumer MUST reject; ``rej`` a consumer SHOULD reject;
- ``N/S`` the dialect is silent on something the URI does; ``n/a`` out of scope.

The URI is read raw (scheme and type as written, label still percent-encoded),
because the dialects differ exactly where a tolerant parser would normalise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal, get_args
from urllib.parse import unquote

from simulators.hotp import OtpError, decode_base32

Dialect = Literal["google", "ietf-andesco", "ietf-linuxgemini", "yubico", "apple"]
Verdict = Literal["OK", "OK*", "NC", "REJ", "rej", "N/S", "n/a"]
Role = Literal["producer", "consumer", "both"]
Severity = Literal["error", "warning", "note"]

DIALECTS: Final[tuple[Dialect, ...]] = get_args(Dialect)
VERDICTS: Final[tuple[Verdict, ...]] = get_args(Verdict)
#: The matrix's column heading of each dialect.
COLUMNS: Final[dict[Dialect, str]] = {
    "ietf-andesco": "A",
    "ietf-linuxgemini": "L",
    "yubico": "Y",
    "apple": "AP",
    "google": "G",
}
#: Where each dialect's rules were read (the reference's pinned revisions).
SOURCES: Final[dict[Dialect, str]] = {
    "google": "Google Key Uri Format wiki (github.com/google/google-authenticator/wiki)",
    "ietf-andesco": "draft-andesco-otpauth-uri-00 (the -01 body is UNVERIFIED)",
    "ietf-linuxgemini": "draft-linuxgemini-otpauth-uri-02 (the -03 body is UNVERIFIED)",
    "yubico": "Yubico 'URI string format' page and Yubico.NET.SDK Credential.cs",
    "apple": "Apple, 'Securing Logins with iCloud Keychain Verification Codes'",
}
#: Worst first: the verdict of a URI is its worst finding's (n/a overrides all).
_RANK: Final[dict[Verdict, int]] = {"OK": 0, "OK*": 1, "N/S": 2, "NC": 3, "rej": 4, "REJ": 5}


@dataclass(frozen=True)
class Rule:
    """One rule of one dialect, as the reference table words it."""

    id: str
    dialect: Dialect
    keyword: str
    role: Role
    sentence: str

    @property
    def is_must(self) -> bool:
        """A MUST-level rule: a BCP 14 MUST/REQUIRED/SHALL or a grammar constraint."""
        words = self.keyword.replace("/", " ").split()
        return self.keyword == "grammar" or bool({"MUST", "REQUIRED"} & set(words))


def _rules(dialect: Dialect, rows: Iterable[tuple[str, str, Role, str]]) -> dict[str, Rule]:
    return {rid: Rule(rid, dialect, kw, role, text) for rid, kw, role, text in rows}


#: Every rule the linters check, by id (only rules that can fire are listed).
RULES: Final[dict[str, Rule]] = {
    **_rules(
        "ietf-andesco",
        [
            ("A-3.1-1", "grammar", "both",
             "uri = \"otpauth://\" otp-type \"/\" label \"?\" parameter *(\"&\" parameter): "
             "a label and at least one parameter, no fragment."),
            ("A-3.1-3", "SHOULD", "producer", "Producers SHOULD emit lowercase forms."),
            ("A-3.1-4", "grammar", "both",
             "secret = \"secret=\" 1*(%x41-5A / %x32-37): upper-case Base32, no '=', "
             "at least one character."),
            ("A-3.1-5", "grammar", "both",
             "algorithm, digits, counter and period take the values of the ABNF; counter and "
             "period are 1*DIGIT."),
            ("A-3.1-6", "grammar", "both",
             "Each label component is 1*(unreserved / pct-encoded / sub-delims / \"@\"): no raw "
             "space, raw non-ASCII or raw ':' inside a component."),
            ("A-3.1-7", "MUST", "producer",
             "Parameter values MUST percent-encode a literal '&' as %26."),
            ("A-3.1-9", "MUST", "consumer",
             "If the decoded issuer-label or account contains a colon, the consumer MUST reject "
             "the URI."),
            ("A-3.2-1", "MUST", "both", "otp-type MUST be totp or hotp."),
            ("A-3.3-1", "—", "both",
             "Optional spaces before the account are encoded as %20 (whether a consumer trims "
             "them is not said)."),
            ("A-3.4-3", "MUST", "consumer", "A consumer MUST reject the URI if secret is missing."),
            ("A-3.4-5", "MUST", "consumer",
             "A consumer MUST reject the URI if any known parameter appears more than once."),
            ("A-3.4.1-1", "MUST", "producer",
             "The secret MUST be unpadded Base32 with the RFC 4648 alphabet A-Z2-7."),
            ("A-3.4.1-2", "SHOULD / MAY", "both",
             "Producers SHOULD emit upper case; consumers MAY accept lower case."),
            ("A-3.4.2-1", "SHOULD", "producer", "A producer SHOULD include issuer."),
            ("A-3.4.2-2", "SHOULD / RECOMMENDED", "producer",
             "issuer SHOULD be a stable service identifier; a domain name is RECOMMENDED."),
            ("A-3.4.3-4", "SHOULD", "consumer",
             "For an unsupported algorithm the consumer SHOULD reject the URI."),
            ("A-3.4.4-2", "MUST / SHOULD", "consumer",
             "Consumers MUST support 6 digits and SHOULD support 8; for an unsupported value they "
             "SHOULD reject the URI."),
            ("A-3.4.5-1", "OPTIONAL / MUST", "consumer",
             "period defaults to 30 and MUST be ignored for hotp; no range is stated."),
            ("A-3.4.6-1", "REQUIRED / MUST", "both",
             "counter is REQUIRED for hotp and MUST be ignored for totp."),
            ("A-3.4.7-2", "SHOULD", "consumer", "Consumers SHOULD ignore unrecognised parameters."),
            ("A-4-4", "MUST NOT", "consumer",
             "A consumer MUST NOT reject the URI only because the label prefix and the issuer "
             "parameter differ; the parameter is authoritative."),
        ],
    ),
    **_rules(
        "ietf-linuxgemini",
        [
            ("L-3-1", "MUST", "both", "The URI MUST have the form otpauth://TYPE/LABEL?PARAMETERS."),
            ("L-3-2", "grammar", "both",
             "ABNF (\"approximate\"): label *VCHAR; \"secret=\" *base-32 first; digits %x36-38; "
             "counter and period *DIGIT; other parameters \"&\" *VCHAR \"=\" *VCHAR; base-32 is "
             "upper case."),
            ("L-3.1-1", "MUST", "both", "TYPE MUST be totp or hotp."),
            ("L-3.2-1", "REQUIRED / MUST", "both",
             "LABEL is REQUIRED and MUST identify the user."),
            ("L-3.2-3", "—", "producer",
             "The authors believe the issuer should appear only as a parameter, not as a label "
             "prefix (a position, not a keyword)."),
            ("L-3.3-1", "REQUIRED / MUST / SHOULD", "both",
             "PARAMETERS is a URI query, separated by '&', SHOULD be URI safe."),
            ("L-3.3-2", "SHOULD", "producer", "The listed parameters SHOULD be included."),
            ("L-3.3.1-1", "REQUIRED / MUST", "both", "The secret MUST be provided and be Base32."),
            ("L-3.3.1-2", "SHOULD", "producer", "Padding is not required and SHOULD be omitted."),
            ("L-3.3.2-1", "OPTIONAL / SHOULD", "both",
             "algorithm is SHA1 (default), SHA256 or SHA512."),
            ("L-3.3.3-1", "OPTIONAL / SHOULD / MUST", "both",
             "digits MUST be between 6 and 8; default 6."),
            ("L-3.3.4-1", "REQUIRED / MUST", "both",
             "counter MUST be provided for HOTP and is ignored for TOTP."),
            ("L-3.3.5-1", "OPTIONAL / SHOULD / MUST", "both",
             "period (TOTP only) defaults to 30 and is ignored for HOTP; no range is stated."),
            ("L-3.3.6-1", "OPTIONAL / SHOULD", "producer", "issuer SHOULD be provided."),
            ("L-3.3.7-1", "MAY", "producer", "Vendors MAY include other parameters."),
        ],
    ),
    **_rules(
        "yubico",
        [
            ("Y-1", "—", "both",
             "The form is otpauth://TYPE/LABEL?PARAMETERS, scheme otpauth, types hotp and totp."),
            ("Y-3", "—", "both",
             "The label is Issuer:Account or Account; the account is a URI-encoded string."),
            ("Y-4", "should", "producer",
             "Issuer and account should be separated by a literal or url-encoded colon; optional "
             "spaces may precede the account."),
            ("Y-5", "may not", "both", "Neither the issuer nor the account may contain a colon."),
            ("Y-6", "should", "producer",
             "The secret is Base32 (RFC 3548); padding is not required and should be omitted."),
            ("Y-7", "recommended / should", "producer",
             "The issuer parameter is recommended; it and the label issuer should be equal."),
            ("Y-8", "—", "both", "algorithm is SHA1 (default), SHA256 or SHA512."),
            ("Y-9", "—", "both", "digits may be 6, 7 or 8."),
            ("Y-10", "required", "both", "counter applies to HOTP only and is required there."),
            ("Y-11", "—", "both", "period applies to TOTP only and may be 15, 30 or 60."),
            ("YSDK-1", "limit", "consumer",
             "The credential Name (period/issuer:account) is at most 64 bytes of UTF-8."),
            ("YSDK-3", "impl", "consumer",
             "The parser truncates the path at 64 characters; a label prefix overrides the issuer "
             "parameter."),
            ("YSDK-4", "impl", "consumer",
             "The secret must match [A-Za-z2-7=]*; a non-numeric digits falls back to 6."),
        ],
    ),
    **_rules(
        "apple",
        [
            ("AP-1", "—", "both",
             "iOS and macOS handle the apple-otpauth: scheme, otherwise identical to otpauth."),
            ("AP-3", "must", "both", "The host must be totp; there is no HOTP."),
            ("AP-4", "should", "producer",
             "The path should be the service's proper name, a colon, then the user name or email."),
            ("AP-5", "should", "both", "secret: Base32; secrets should be at least 160 bits."),
            ("AP-6", "—", "both", "digits: 6 or 8, default 6."),
            ("AP-7", "—", "both", "period: seconds, default 30; no range is stated."),
            ("AP-8", "—", "producer", "issuer: the domain of the site or app."),
            ("AP-9", "—", "both",
             "algorithm is not documented; the article lists only 'the most important' "
             "parameters."),
            ("AP-10", "—", "producer",
             "The example: apple-otpauth://totp/Example:user?secret=...&digits=6&period=30"
             "&issuer=example.com."),
        ],
    ),
    **_rules(
        "google",
        [
            ("G-1", "grammar", "both",
             "otpauth://TYPE/LABEL?PARAMETERS; label = accountname / issuer (\":\" / \"%3A\") "
             "*\"%20\" accountname; neither part contains a colon."),
            ("G-2", "STRONGLY RECOMMENDED", "producer",
             "Include issuer; if the label has a prefix too, they should be equal."),
            ("G-3", "—", "both",
             "The secret is Base32 (RFC 3548); padding should be omitted (a 2017 wiki edit, "
             "provenance UNVERIFIED)."),
            ("G-4", "—", "both",
             "digits is 6 or 8, period defaults to 30, algorithm SHA1; counter is required for "
             "hotp."),
        ],
    ),
}  # fmt: skip


@dataclass(frozen=True)
class DialectFinding:
    """What one rule says about one URI: the verdict it implies and a sentence."""

    rule: Rule
    verdict: Verdict
    message: str
    severity: Severity


@dataclass(frozen=True)
class DialectVerdict:
    """One dialect's verdict on a URI, with the findings that make it."""

    dialect: Dialect
    verdict: Verdict
    findings: tuple[DialectFinding, ...]
    strict: bool

    @property
    def column(self) -> str:
        return COLUMNS[self.dialect]

    @property
    def errors(self) -> tuple[DialectFinding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[DialectFinding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")


def severity_of(verdict: Verdict, *, strict: bool) -> Severity:
    """REJ/rej are errors; NC an error in strict mode, else a warning; OK* a warning."""
    if verdict in ("REJ", "rej") or (verdict == "NC" and strict):
        return "error"
    if verdict in ("NC", "OK*"):
        return "warning"
    return "note"


# --- reading the URI as written -------------------------------------------------------------

_URI: Final = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<type>[^/?#]*)(?P<path>/[^?#]*)?"
    r"(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$",
    re.DOTALL,
)
_SEPARATOR: Final = re.compile(r":|%3A", re.IGNORECASE)
_PCT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: RFC 3986 unreserved / sub-delims / "@" / "%" (pct-encoded is checked separately).
_A_COMPONENT: Final = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=@%]+$")
_LEADING_SPACES: Final = re.compile(r"^(?:%20)+", re.IGNORECASE)
_BASE32_LOOSE: Final = re.compile(r"^[A-Za-z2-7=]*$")
_DOMAIN: Final = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)
KNOWN: Final = ("secret", "issuer", "algorithm", "digits", "period", "counter")
_HASHES: Final = ("SHA1", "SHA256", "SHA512")


@dataclass(frozen=True)
class RawUri:
    """The URI's parts exactly as written; ``values`` decodes parameter values."""

    scheme: str
    type: str
    label: str
    query: str | None
    fragment: str | None
    #: (name, raw value) in order; the value is None for a part without '='.
    parts: tuple[tuple[str, str | None], ...]

    def values(self, name: str) -> list[str]:
        """Decoded values of a parameter (names compared case-insensitively)."""
        return [unquote(v) for n, v in self.parts if n.lower() == name and v is not None]

    def one(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None

    @property
    def names(self) -> list[str]:
        return [n for n, v in self.parts if v is not None]

    @property
    def label_split(self) -> tuple[str | None, str]:
        """(raw prefix or None, raw account): split at the first ':' or %3A (A-3.1-8)."""
        separator = _SEPARATOR.search(self.label)
        if separator is None:
            return None, self.label
        return self.label[: separator.start()], self.label[separator.end() :]

    @property
    def prefix(self) -> str | None:
        raw = self.label_split[0]
        return None if raw is None else unquote(raw)

    @property
    def account(self) -> str:
        return unquote(self.label_split[1]).lstrip(" ")


def read_raw(uri: str) -> RawUri | None:
    """Split a URI into its parts as written, or None if it has no ``scheme://`` form."""
    match = _URI.match(uri.strip())
    if match is None:
        return None
    path = match["path"] or ""
    query = match["query"]
    parts: list[tuple[str, str | None]] = []
    if query:
        for piece in query.split("&"):
            name, eq, value = piece.partition("=")
            parts.append((name, value if eq else None))
    return RawUri(
        scheme=match["scheme"],
        type=match["type"],
        label=path[1:],
        query=query,
        fragment=match["fragment"],
        parts=tuple(parts),
    )


UNDECODABLE: Final = (
    "The secret is not Base32 (RFC 4648): its length or padding cannot encode whole bytes."
)


def _key_bits(secret: str) -> int | None:
    try:
        return len(decode_base32(secret.upper().rstrip("="))) * 8
    except OtpError:
        return None


def _duplicates(raw: RawUri) -> list[str]:
    names = [n.lower() for n in raw.names]
    return sorted({n for n in names if n in KNOWN and names.count(n) > 1})


def _unknown(raw: RawUri) -> list[str]:
    return [n for n in raw.names if n.lower() not in KNOWN]


def _non_ascii_or_space(text: str) -> bool:
    return any(ord(c) > 0x7E or ord(c) <= 0x20 for c in text)


# --- the linters ------------------------------------------------------------------------------

Emit = Callable[[str, Verdict, str], None]
Checker = Callable[[RawUri, Emit], None]


def _andesco(raw: RawUri, emit: Emit) -> None:
    if raw.scheme.lower() != "otpauth":
        emit("A-3.1-1", "REJ", f"The scheme is {raw.scheme!r}; this dialect defines otpauth only.")
        return
    if raw.type.lower() not in ("totp", "hotp"):
        emit("A-3.2-1", "REJ", f"The type {raw.type!r} is neither totp nor hotp.")
        return
    written = [raw.scheme, raw.type, *(n for n in raw.names if n.lower() in KNOWN)]
    if any(w != w.lower() for w in written):
        emit("A-3.1-3", "OK*", "The scheme, type and parameter names should be lower case.")
    if raw.fragment is not None:
        emit("A-3.1-1", "REJ", "The URI has a fragment ('#'), which the grammar does not allow.")
    if not raw.label:
        emit("A-3.1-1", "REJ", "The label is empty; the grammar requires one.")
    else:
        prefix, account = raw.label_split
        components = [c for c in (prefix, _LEADING_SPACES.sub("", account)) if c is not None]
        for component in components:
            if not _A_COMPONENT.match(component) or _PCT.search(component):
                emit(
                    "A-3.1-6",
                    "REJ",
                    f"The label component {component!r} has characters outside unreserved, "
                    "pct-encoded, sub-delims and '@' (a raw space, non-ASCII or ':').",
                )
        for name, value in (("issuer-label", raw.prefix), ("account", raw.account)):
            if value is not None and ":" in value:
                emit("A-3.1-9", "REJ", f"The decoded {name} {value!r} contains a colon.")
        if _LEADING_SPACES.match(account):
            emit("A-3.3-1", "OK", "Spaces (%20) precede the account; trimming them is unspecified.")
    for name, value in raw.parts:
        if value is None:
            emit(
                "A-3.1-7",
                "REJ",
                f"The query part {name!r} has no '=': a literal '&' in a value must be %26.",
            )
    secrets = raw.values("secret")
    if not secrets:
        emit("A-3.4-3", "REJ", "The URI has no secret.")
    for duplicate in _duplicates(raw):
        emit("A-3.4-5", "REJ", f"The parameter {duplicate!r} appears more than once.")
    if secrets:
        secret = secrets[0]
        if not secret or not _BASE32_LOOSE.match(secret):
            emit("A-3.1-4", "REJ", "The secret is empty or has characters outside Base32 A-Z2-7.")
        elif _key_bits(secret) is None:
            emit("A-3.4.1-1", "REJ", UNDECODABLE)
        else:
            if "=" in secret:
                emit("A-3.4.1-1", "NC", "The secret carries '=' padding; it MUST be unpadded.")
            if secret != secret.upper():
                emit(
                    "A-3.4.1-2",
                    "NC",
                    "The secret is in lower case; the grammar is upper case and consumers only "
                    "MAY accept it.",
                )
    algorithm = raw.one("algorithm")
    if algorithm is not None and algorithm.upper() not in _HASHES:
        emit("A-3.4.3-4", "rej", f"algorithm={algorithm!r} is not SHA1, SHA256 or SHA512.")
    digits = raw.one("digits")
    if digits is not None and digits not in ("6", "8"):
        emit("A-3.4.4-2", "rej", f"digits={digits!r}: only 6 and 8 are defined.")
    _numbers(
        raw,
        emit,
        period_rule="A-3.4.5-1",
        counter_rule="A-3.4.6-1",
        grammar="A-3.1-5",
        empty_ok=False,
    )
    period = raw.one("period")
    if raw.type.lower() == "totp" and period is not None and period.isdigit() and int(period) == 0:
        emit("A-3.4.5-1", "NC", "period=0 matches the grammar, but a zero period is undefined.")
    issuer = raw.one("issuer")
    if issuer is None:
        emit("A-3.4.2-1", "OK", "No issuer parameter (SHOULD include one; a note, see docs).")
    elif not issuer:
        emit("A-3.4.2-2", "OK*", "The issuer parameter is empty: no stable service identifier.")
    elif not _DOMAIN.match(issuer):
        emit("A-3.4.2-2", "OK", f"The issuer {issuer!r} is not a domain name (RECOMMENDED).")
    if issuer and raw.prefix is not None and raw.prefix != issuer:
        emit(
            "A-4-4",
            "OK",
            f"The label prefix {raw.prefix!r} differs from issuer {issuer!r}: match on the "
            "parameter, display the prefix.",
        )
    for name in _unknown(raw):
        emit("A-3.4.7-2", "OK", f"The parameter {name!r} is not defined; consumers ignore it.")


def _numbers(
    raw: RawUri, emit: Emit, *, period_rule: str, counter_rule: str, grammar: str, empty_ok: bool
) -> None:
    """The period and counter rules A and L share: digits only (A's 1*DIGIT refuses an
    empty value, L's *DIGIT does not), and an HOTP URI needs a counter."""
    hotp = raw.type.lower() == "hotp"
    period, counter = raw.one("period"), raw.one("counter")
    if period is not None and not period.isdigit() and not (period == "" and empty_ok):
        emit(grammar, "REJ", f"period={period!r} is not a whole number (DIGIT only, no sign).")
    elif period is not None and hotp:
        emit(period_rule, "OK", "period has no meaning for hotp; consumers ignore it.")
    if counter is not None and not counter.isdigit():
        emit(grammar, "REJ", f"counter={counter!r} is not a whole number.")
    elif counter is None and hotp:
        emit(counter_rule, "REJ", "An hotp URI needs a counter.")
    elif counter is not None and not hotp:
        emit(counter_rule, "OK", "counter has no meaning for totp; consumers ignore it.")


def _linuxgemini(raw: RawUri, emit: Emit) -> None:
    if raw.scheme.lower() != "otpauth":
        emit("L-3-1", "REJ", f"The scheme is {raw.scheme!r}; the form is otpauth://TYPE/LABEL?...")
        return
    if raw.type.lower() not in ("totp", "hotp"):
        emit("L-3.1-1", "REJ", f"The type {raw.type!r} is neither totp nor hotp.")
        return
    if raw.scheme != "otpauth" or raw.type != raw.type.lower():
        emit("L-3-2", "OK", "Upper case scheme or type: ABNF literals are case-insensitive.")
    if raw.fragment is not None:
        emit(
            "L-3-1", "REJ", "The URI has a fragment ('#'), outside otpauth://TYPE/LABEL?PARAMETERS."
        )
    if not raw.label:
        emit("L-3.2-1", "REJ", "The label is empty; LABEL is REQUIRED.")
    elif _non_ascii_or_space(raw.label):
        emit("L-3-2", "REJ", "The label has a raw space or non-ASCII character (label = *VCHAR).")
    if raw.prefix is not None:
        emit("L-3.2-3", "OK", "The label has an issuer prefix, which the authors discourage.")
    issuer = raw.one("issuer")
    if issuer and raw.prefix is not None and raw.prefix != issuer:
        emit(
            "L-3.2-3",
            "N/S",
            f"The label prefix {raw.prefix!r} differs from issuer {issuer!r}; -02 does not say "
            "what a consumer does then.",
        )
    for name, value in raw.parts:
        if value is None:
            emit("L-3-2", "REJ", f"The query part {name!r} has no '=' (a raw '&' in a value?).")
    secrets = raw.values("secret")
    if not secrets or not secrets[0]:
        emit("L-3.3.1-1", "REJ", "The secret is missing or empty; it MUST be provided.")
    else:
        secret = secrets[0]
        if not _BASE32_LOOSE.match(secret):
            emit("L-3.3.1-1", "REJ", "The secret has characters outside Base32.")
        elif _key_bits(secret) is None:
            emit("L-3.3.1-1", "REJ", UNDECODABLE)
        else:
            if "=" in secret:
                emit("L-3.3.1-2", "OK*", "The secret carries '=' padding, which SHOULD be omitted.")
            if secret != secret.upper():
                emit(
                    "L-3-2", "NC", "The secret is in lower case; the ABNF's base-32 is upper case."
                )
        if raw.names and raw.names[0].lower() != "secret":
            emit("L-3-2", "OK", "The ABNF puts secret first; the draft's own example does not.")
    for duplicate in _duplicates(raw):
        emit("L-3.3-1", "N/S", f"The parameter {duplicate!r} appears twice; -02 is silent on that.")
    algorithm = raw.one("algorithm")
    if algorithm is not None and algorithm.upper() not in _HASHES:
        emit("L-3.3.2-1", "REJ", f"algorithm={algorithm!r} is not SHA1, SHA256 or SHA512.")
    digits = raw.one("digits")
    if digits is not None and digits not in ("6", "7", "8"):
        emit("L-3.3.3-1", "REJ", f"digits={digits!r}: it MUST be between 6 and 8.")
    _numbers(
        raw, emit, period_rule="L-3.3.5-1", counter_rule="L-3.3.4-1", grammar="L-3-2", empty_ok=True
    )
    period = raw.one("period")
    if (
        raw.type.lower() == "totp"
        and period is not None
        and (period == "" or period == "0" * len(period))
    ):
        emit("L-3.3.5-1", "N/S", f"period={period!r}: -02 states no range and no meaning for it.")
    if issuer is None:
        emit("L-3.3.6-1", "OK", "No issuer parameter (SHOULD be provided; a note, see docs).")
    elif not issuer:
        emit("L-3.3.6-1", "OK*", "The issuer parameter is empty; issuer SHOULD be provided.")
    absent = [n for n in ("algorithm", "digits", "period") if raw.one(n) is None]
    if absent:
        emit("L-3.3-2", "OK", f"Not given (defaults apply): {', '.join(absent)}.")
    for name in _unknown(raw):
        emit("L-3.3.7-1", "OK", f"The parameter {name!r} is a vendor extension (MAY).")


def _yubico(raw: RawUri, emit: Emit) -> None:
    if raw.scheme.lower() != "otpauth":
        emit("Y-1", "REJ", f"The scheme is {raw.scheme!r}; the SDK requires otpauth (YSDK-2).")
        return
    if raw.type.lower() not in ("totp", "hotp"):
        emit("Y-1", "REJ", f"The type {raw.type!r} is neither totp nor hotp (YSDK-2 reads HOTP).")
        return
    if raw.scheme != "otpauth" or raw.type != raw.type.lower():
        emit("Y-1", "OK", "Upper-case scheme or type: .NET normalises case (inferred).")
    hotp = raw.type.lower() == "hotp"
    if not raw.label or not raw.account:
        emit("Y-3", "REJ", "The label has no account (the SDK needs one).")
    elif _non_ascii_or_space(raw.label):
        emit("Y-3", "REJ", "The label has a raw space or non-ASCII character: not URI-encoded.")
    for name, value in (("issuer", raw.prefix), ("account", raw.account)):
        if value is not None and ":" in value:
            emit("Y-5", "REJ", f"The {name} {value!r} contains a colon.")
    if _LEADING_SPACES.match(raw.label_split[1]):
        emit("Y-4", "OK", "Spaces precede the account, which the page allows.")
    if len(raw.label) > 64:
        emit("YSDK-3", "OK", "The SDK truncates the path at 64 characters.")
    issuer = raw.one("issuer")
    period = raw.one("period")
    name_issuer = raw.prefix if raw.prefix is not None else issuer
    name = (
        (f"{period}/" if not hotp and period not in (None, "30") else "")
        + (f"{name_issuer}:" if name_issuer else "")
        + raw.account
    )
    if len(name.encode()) > 64:
        emit("YSDK-1", "REJ", f"The credential Name is {len(name.encode())} bytes of UTF-8 (> 64).")
    secrets = raw.values("secret")
    if not secrets or not secrets[0]:
        emit("Y-6", "REJ", "The secret is missing or empty.")
    elif not _BASE32_LOOSE.match(secrets[0]):
        emit("YSDK-4", "REJ", "The secret has characters outside [A-Za-z2-7=].")
    elif _key_bits(secrets[0]) is None:
        emit("Y-6", "REJ", UNDECODABLE)
    else:
        if "=" in secrets[0]:
            emit("Y-6", "OK*", "The secret carries '=' padding, which should be omitted.")
        if secrets[0] != secrets[0].upper():
            emit("YSDK-4", "OK", "The secret is in lower case; the SDK accepts it.")
    for duplicate in _duplicates(raw):
        emit("Y-1", "N/S", f"The parameter {duplicate!r} appears twice; the page is silent.")
    for unknown in _unknown(raw):
        emit("Y-1", "N/S", f"The parameter {unknown!r} is not on the page, which is silent on it.")
    algorithm = raw.one("algorithm")
    if algorithm is not None and algorithm.upper() not in _HASHES:
        emit(
            "Y-8", "REJ", f"algorithm={algorithm!r} is not SHA1, SHA256 or SHA512 (the SDK throws)."
        )
    digits = raw.one("digits")
    if digits is not None and not digits.isdigit():
        emit("YSDK-4", "OK", f"digits={digits!r} is not a number; the SDK uses 6.")
    elif digits is not None and digits not in ("6", "7", "8"):
        emit("Y-9", "REJ", f"digits={digits}: only 6, 7 and 8 (the SDK throws).")
    if period is not None and hotp:
        emit("Y-11", "OK", "period applies to TOTP only; ignored for hotp.")
    elif period is not None and period not in ("15", "30", "60"):
        emit("Y-11", "REJ", f"period={period!r}: only 15, 30 and 60.")
    counter = raw.one("counter")
    if hotp and (counter is None or not counter.isdigit()):
        emit("Y-10", "REJ", "An hotp URI needs a whole-number counter.")
    elif counter is not None and not hotp:
        emit("Y-10", "OK", "counter applies to HOTP only; ignored for totp.")
    if not issuer:
        emit("Y-7", "OK", "No issuer parameter (recommended; the SDK stores none).")
    elif raw.prefix is not None and raw.prefix != issuer:
        emit(
            "Y-7", "OK*", f"The label prefix {raw.prefix!r} and issuer {issuer!r} should be equal."
        )
        emit("YSDK-3", "OK", f"The SDK stores the issuer {raw.prefix!r}: the label prefix wins.")


def _apple(raw: RawUri, emit: Emit) -> None:
    if raw.type.lower() == "hotp":
        emit("AP-3", "n/a", "An hotp URI: Apple's verification codes are TOTP only.")
        return
    if raw.scheme.lower() == "otpauth":
        emit("AP-1", "OK", "Links for Apple devices use the apple-otpauth: scheme.")
    elif raw.scheme.lower() != "apple-otpauth":
        emit("AP-1", "REJ", f"The scheme is {raw.scheme!r}, neither apple-otpauth nor otpauth.")
        return
    if raw.type.lower() != "totp":
        emit("AP-3", "REJ", f"The host is {raw.type!r}; it must be totp.")
        return
    if raw.scheme != raw.scheme.lower() or raw.type != "totp":
        emit("AP-1", "N/S", "Upper-case scheme or type: the article is silent on case.")
    prefix, account = raw.label_split
    if not raw.label:
        emit("AP-4", "N/S", "The path is empty; the article does not say what an app does then.")
    elif prefix is None:
        emit(
            "AP-4", "OK", "The path has no 'Service:' prefix (should be service name, colon, user)."
        )
    else:
        if raw.label[len(prefix)] != ":":
            emit("AP-4", "N/S", "The separator is %3A; the article shows only a literal colon.")
        if _LEADING_SPACES.match(account):
            emit("AP-4", "N/S", "Spaces precede the user name; the article is silent on them.")
        if ":" in raw.account:
            emit("AP-4", "N/S", "The path has more than one colon; the article is silent.")
    decoded_label = unquote(raw.label)
    if _non_ascii_or_space(raw.label) or any(ord(c) > 0x7E for c in decoded_label):
        emit("AP-4", "N/S", "The path has a raw space or non-ASCII; the article is silent on them.")
    if "+" in raw.label or "&" in decoded_label:
        emit("AP-4", "N/S", "The path has '+' or '&'; the article is silent on such characters.")
    secrets = raw.values("secret")
    if not secrets or not secrets[0]:
        emit("AP-5", "REJ", "The secret is missing or empty.")
    else:
        secret = secrets[0]
        if not re.fullmatch(r"[A-Za-z2-7= ]*", secret):
            emit("AP-5", "REJ", "The secret has characters outside Base32.")
        elif _key_bits(secret.replace(" ", "")) is None:
            emit("AP-5", "REJ", UNDECODABLE)
        elif " " in secret or "=" in secret or secret != secret.upper():
            emit("AP-5", "N/S", "Spaces, '=' padding or lower case in the secret: not addressed.")
        else:
            bits = _key_bits(secret)
            if bits is not None and bits < 160:
                emit("AP-5", "OK*", f"The secret is {bits} bits; it should be at least 160.")
    for duplicate in _duplicates(raw):
        emit("AP-1", "N/S", f"The parameter {duplicate!r} appears twice; the article is silent.")
    if raw.one("algorithm") is not None:
        emit("AP-9", "N/S", "algorithm is not documented by Apple.")
    digits = raw.one("digits")
    if digits is not None and not digits.isdigit():
        emit("AP-6", "N/S", f"digits={digits!r}: the article does not cover such a value.")
    elif digits is not None and digits not in ("6", "8"):
        emit("AP-6", "rej", f"digits={digits}: the article allows 6 or 8.")
    period = raw.one("period")
    if period is not None and not (period.isdigit() and 1 <= int(period) <= 120):
        emit("AP-7", "N/S", f"period={period!r}: no range is stated (see docs for the bound).")
    if raw.one("counter") is not None:
        emit("AP-3", "N/S", "counter on a totp URI: the article is silent (no HOTP).")
    for unknown in _unknown(raw):
        emit("AP-9", "N/S", f"The parameter {unknown!r} is not among the documented ones.")
    if raw.names and raw.names[0].lower() != "secret":
        emit(
            "AP-10", "N/S", "secret is not first; the article's example has it first, order unsaid."
        )
    issuer = raw.one("issuer")
    if issuer is None:
        emit("AP-8", "OK", "No issuer parameter; the password manager then cannot suggest logins.")
    elif not _DOMAIN.match(issuer):
        emit(
            "AP-8", "OK*", f"The issuer {issuer!r} is not a domain; Apple wants the site's domain."
        )


def _google(raw: RawUri, emit: Emit) -> None:
    if raw.scheme.lower() != "otpauth" or raw.type.lower() not in ("totp", "hotp"):
        emit("G-1", "REJ", f"{raw.scheme}://{raw.type} is not otpauth://totp or otpauth://hotp.")
        return
    if not raw.label or not raw.account:
        emit("G-1", "REJ", "The label has no account name.")
    for name, value in (("issuer", raw.prefix), ("account", raw.account)):
        if value is not None and ":" in value:
            emit("G-1", "REJ", f"The {name} {value!r} contains a colon.")
    if _non_ascii_or_space(raw.label):
        emit("G-1", "NC", "The label has a raw space or non-ASCII character: not URI-encoded.")
    issuer = raw.one("issuer")
    if not issuer:
        emit("G-2", "OK*", "No (or an empty) issuer parameter; it is STRONGLY RECOMMENDED.")
    elif raw.prefix is not None and raw.prefix != issuer:
        emit(
            "G-2", "OK*", f"The label prefix {raw.prefix!r} and issuer {issuer!r} should be equal."
        )
    secrets = raw.values("secret")
    if not secrets or not secrets[0]:
        emit("G-3", "REJ", "The secret is missing or empty.")
    elif not _BASE32_LOOSE.match(secrets[0]):
        emit("G-3", "REJ", "The secret has characters outside Base32.")
    elif _key_bits(secrets[0]) is None:
        emit("G-3", "REJ", UNDECODABLE)
    else:
        if "=" in secrets[0]:
            emit("G-3", "OK*", "The secret carries '=' padding, which should be omitted.")
        if secrets[0] != secrets[0].upper():
            emit("G-3", "OK*", "The secret is in lower case; Base32 is upper case.")
    for duplicate in _duplicates(raw):
        emit("G-1", "N/S", f"The parameter {duplicate!r} appears twice; the wiki is silent.")
    algorithm, digits, period = raw.one("algorithm"), raw.one("digits"), raw.one("period")
    if algorithm is not None and algorithm.upper() not in _HASHES:
        emit("G-4", "rej", f"algorithm={algorithm!r} is not SHA1, SHA256 or SHA512.")
    if digits is not None and digits not in ("6", "8"):
        emit("G-4", "rej", f"digits={digits!r}: the wiki allows 6 or 8.")
    if period is not None and not (period.isdigit() and int(period) > 0):
        emit("G-4", "REJ", f"period={period!r} is not a positive whole number.")
    counter = raw.one("counter")
    if raw.type.lower() == "hotp" and (counter is None or not counter.isdigit()):
        emit("G-4", "REJ", "An hotp URI needs a whole-number counter.")


_CHECKERS: Final[dict[Dialect, Checker]] = {
    "google": _google,
    "ietf-andesco": _andesco,
    "ietf-linuxgemini": _linuxgemini,
    "yubico": _yubico,
    "apple": _apple,
}


def lint_dialect(uri: str, dialect: Dialect, strict: bool = False) -> DialectVerdict:
    """Lint ``uri`` against one dialect; the verdict is the worst finding's (n/a wins)."""
    if dialect not in _CHECKERS:
        raise ValueError(f"unknown dialect {dialect!r}: use one of {', '.join(DIALECTS)}")
    findings: list[DialectFinding] = []

    def emit(rule_id: str, verdict: Verdict, message: str) -> None:
        rule = RULES[rule_id]
        assert rule.dialect == dialect, (rule_id, dialect)
        findings.append(DialectFinding(rule, verdict, message, severity_of(verdict, strict=strict)))

    raw = read_raw(uri)
    if raw is None:
        first = {"google": "G-1", "ietf-andesco": "A-3.1-1", "ietf-linuxgemini": "L-3-1",
                 "yubico": "Y-1", "apple": "AP-1"}[dialect]  # fmt: skip
        emit(first, "REJ", "This is not a scheme://TYPE/LABEL?PARAMETERS URI at all.")
    else:
        _CHECKERS[dialect](raw, emit)
    return DialectVerdict(dialect, _worst(f.verdict for f in findings), tuple(findings), strict)


def lint_all(uri: str, strict: bool = False) -> dict[Dialect, DialectVerdict]:
    """Every dialect's verdict, in the matrix's column order (A, L, Y, AP, G)."""
    return {d: lint_dialect(uri, d, strict) for d in COLUMNS}


def _worst(verdicts: Iterable[Verdict]) -> Verdict:
    seen = list(verdicts)
    if "n/a" in seen:
        return "n/a"
    return max(seen, key=_RANK.__getitem__, default="OK")


def rules_of(dialect: Dialect) -> Iterator[Rule]:
    """The rules one dialect's linter checks, in the reference's order."""
    return (rule for rule in RULES.values() if rule.dialect == dialect)
