"""Models of authenticator apps, built from public reports of how they behave.

Each profile is data: which algorithms, digit counts and periods the app
honours, what it does with the others (silently falls back to the default, or
refuses), how it normalises a typed key, what it refuses in a scanned URI, and
whether it backs secrets up to a cloud. Every quirk names its source. Where a
source says what the app does with a row of the reference URI matrix
(``simulators.uri_matrix``), the profile states it as a ``DialectStance``; the
other rows are unknown and follow from the general rules above.

A profile is a model of what was reported (see
``shared/reference/apps-and-servers.md`` part B), not a claim about the app as
it is today: apps change between versions, and the year of each report is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

from simulators.uri_matrix import BY_ID

#: What an app does with a parameter value it does not honour.
Fallback = Literal["default", "refuse"]
#: What an app does with one row of the URI matrix: refuses it, imports it honouring
#: every parameter, or imports it with defaults in place of what the URI says.
DialectBehaviour = Literal["refuse", "honour", "default"]


@dataclass(frozen=True)
class Source:
    """Where a reported behaviour comes from."""

    reference: str
    year: int | None = None

    def __str__(self) -> str:
        return f"{self.reference} ({self.year})" if self.year else self.reference


@dataclass(frozen=True)
class ParameterSupport:
    """Which values of one URI parameter an app honours, and what it does with others.

    ``honoured`` None means every value the algorithm allows. ``fallback``
    "default" is the dangerous case: the app imports the account and computes
    codes with the default value instead (wrong codes, no error).
    """

    default: str | int
    honoured: frozenset[str] | frozenset[int] | None = None
    fallback: Fallback = "refuse"
    source: Source | None = None

    def honours(self, value: str | int) -> bool:
        return self.honoured is None or value in self.honoured

    def describe(self, name: str) -> str | None:
        if self.honoured is None:
            return None
        values = "/".join(str(v) for v in sorted(self.honoured))
        if self.fallback == "default":
            what = f"silently uses {name} {self.default} for any other value (wrong codes)"
        else:
            what = f"refuses other values of {name}"
        return f"honours {name} {values} only; {what}"


RFC_ALGORITHM: Final = ParameterSupport("SHA1")
#: What the RFC reference honours. RFC 4226 §5.3: 6 digits at a minimum, possibly 7 and 8.
RFC_DIGITS: Final = ParameterSupport(6, frozenset({6, 7, 8}), "refuse")
RFC_PERIOD: Final = ParameterSupport(30)


@dataclass(frozen=True)
class DialectStance:
    """What a public source says an app does with one row of the reference URI matrix.

    Rows are those of ``simulators.uri_matrix`` (otpauth-dialects.md §4). A row
    without a stance is unknown: what the app does with it follows from the
    profile's general rules (parameter support, padding, ':' in the issuer, key
    rules, duplicate parameters), and that derivation is the declared behaviour.
    A stance must agree with those rules (the vendor tests check it), so the
    simulated device needs no per-row logic.
    """

    row: str
    behaviour: DialectBehaviour
    source: Source
    #: Set when the reference marks the source, or part of it, UNVERIFIED.
    unverified: str = ""

    def describe(self) -> str:
        what = {
            "refuse": "refuses it",
            "honour": "imports it honouring every parameter",
            "default": "imports it but computes codes with defaults (wrong codes)",
        }[self.behaviour]
        caveat = f"; UNVERIFIED: {self.unverified}" if self.unverified else ""
        row = BY_ID[self.row]
        return f"URI matrix {self.row} ({row.tests}): {what} [{self.source}{caveat}]"


@dataclass(frozen=True)
class KeyEntryRules:
    """How an app turns a key the user typed into base32."""

    spaces: Literal["strip", "refuse"] = "strip"
    lower_case: Literal["fold", "refuse"] = "fold"
    padding: Literal["strip", "refuse"] = "strip"
    hyphens: Literal["strip", "refuse"] = "strip"
    source: Source | None = None


@dataclass(frozen=True)
class AppProfile:
    """One authenticator app as reported by public sources."""

    name: str
    title: str
    summary: str
    algorithm: ParameterSupport
    digits: ParameterSupport
    period: ParameterSupport
    key_entry: KeyEntryRules = field(default_factory=KeyEntryRules)
    #: '=' padding inside a scanned URI's secret.
    uri_padding: Literal["accept", "refuse"] = "accept"
    #: A ':' inside the issuer parameter (e.g. an issuer that is a URL).
    issuer_colon: Literal["accept", "refuse"] = "accept"
    issuer_colon_source: Source | None = None
    uri_padding_source: Source | None = None
    #: Secrets shorter than this many bits are refused (0: no limit reported).
    refuses_secrets_under_bits: int = 0
    #: Secrets shorter than this many bits import with a warning to the user.
    warns_secrets_under_bits: int = 0
    secret_size_source: Source | None = None
    cloud_backup: bool = False
    cloud_backup_source: Source | None = None
    #: A known parameter written twice (two secrets, two issuers). No app report is
    #: known; every profile follows draft-andesco A-3.4-5 (a consumer MUST reject).
    duplicate_parameters: Literal["first", "refuse"] = "refuse"
    duplicate_parameters_source: Source | None = None
    #: What public sources say the app does with rows of the URI matrix (others: unknown).
    dialect_stances: tuple[DialectStance, ...] = ()
    #: Where the profile as a whole comes from.
    sources: tuple[Source, ...] = ()

    def dialect_stance(self, row: str) -> DialectStance | None:
        """The sourced stance on a URI-matrix row, or None when nothing is known."""
        return next((s for s in self.dialect_stances if s.row == row), None)

    @property
    def dialect_notes(self) -> list[str]:
        """Every sourced stance on a URI-matrix row, in plain words."""
        return [stance.describe() for stance in self.dialect_stances]

    @property
    def quirks(self) -> list[str]:
        """The declared deviations from the RFC reference, in plain words."""
        found: list[str] = []
        for name, support, reference in (
            ("algorithm", self.algorithm, RFC_ALGORITHM),
            ("digits", self.digits, RFC_DIGITS),
            ("period", self.period, RFC_PERIOD),
        ):
            text = support.describe(name)
            if text and not _covers(support, reference):
                found.append(text + (f" [{support.source}]" if support.source else ""))
        rules = self.key_entry
        typed = [
            f"refuses {what} in a typed key"
            for what, treatment in (
                ("spaces", rules.spaces),
                ("'=' padding", rules.padding),
                ("hyphens", rules.hyphens),
            )
            if treatment == "refuse"
        ]
        if rules.lower_case == "refuse":
            typed.append("refuses a lower-case typed key")
        found.extend(t + (f" [{rules.source}]" if rules.source else "") for t in typed)
        if self.uri_padding == "refuse":
            found.append(f"refuses '=' padding in a scanned URI [{self.uri_padding_source}]")
        if self.issuer_colon == "refuse":
            found.append(f"refuses an issuer containing ':' [{self.issuer_colon_source}]")
        if self.refuses_secrets_under_bits:
            found.append(
                f"refuses secrets under {self.refuses_secrets_under_bits} bits "
                f"[{self.secret_size_source}]"
            )
        if self.warns_secrets_under_bits:
            found.append(
                f"warns about secrets under {self.warns_secrets_under_bits} bits "
                f"[{self.secret_size_source}]"
            )
        if self.cloud_backup:
            found.append(f"backs accounts up to its cloud [{self.cloud_backup_source}]")
        if self.duplicate_parameters == "first":
            found.append(
                f"reads the first of a parameter written twice [{self.duplicate_parameters_source}]"
            )
        # A refusal or a silent default of a matrix row is a deviation; honouring is not.
        found.extend(s.describe() for s in self.dialect_stances if s.behaviour != "honour")
        return found


def _covers(support: ParameterSupport, reference: ParameterSupport) -> bool:
    """True when ``support`` honours at least what the reference does, failing the same way."""
    if support.fallback != reference.fallback:
        return False
    if support.honoured is None:
        return True
    return reference.honoured is not None and reference.honoured <= support.honoured


def _sha1_only(fallback: Fallback, source: Source) -> ParameterSupport:
    return ParameterSupport("SHA1", frozenset({"SHA1"}), fallback, source)


_AS = "shared/reference/apps-and-servers.md B.2"
#: Eden's crowdsourced results for his "E0" URI (1 digit, 120 s), the source of the M18 stances.
_EDEN_E0 = Source(
    "Eden, 'The least secure TOTP code possible', shkspr.mobi, crowdsourced results for E0 "
    "(otpauth-dialects.md §3)",
    2025,
)
_E0_UNVERIFIED = (
    "the exact E0 URI (digits 1, period 120, a lower-case secret) is UNVERIFIED in "
    "otpauth-dialects.md §3; M18 is the matrix's E0-style row"
)
_SUPPORT_JSON = Source("authelia docs/data/support.json")


def _stances(
    behaviour: DialectBehaviour, source: Source, *rows: str, unverified: str = ""
) -> tuple[DialectStance, ...]:
    return tuple(DialectStance(row, behaviour, source, unverified) for row in rows)


#: Digits 1 as well as the RFC's 6 to 8: apps Eden reports showing E0's 1-digit code.
_DIGITS_WITH_ONE: Final = ParameterSupport(
    6, frozenset({1, 6, 7, 8}), "refuse", Source(f"{_EDEN_E0}; 6-8 as the RFC reference")
)

PROFILES: Final[dict[str, AppProfile]] = {
    profile.name: profile
    for profile in (
        AppProfile(
            name="rfc-reference",
            title="RFC reference authenticator",
            summary="Honours every parameter RFC 4226/6238 and the Key Uri Format define.",
            algorithm=RFC_ALGORITHM,
            digits=RFC_DIGITS,
            period=RFC_PERIOD,
            sources=(Source("RFC 4226, RFC 6238, Google Key Uri Format wiki"),),
        ),
        AppProfile(
            name="google-authenticator-legacy",
            title="Google Authenticator (Android, open-source builds up to 2020)",
            summary="Reads only issuer, secret and counter: SHA1, 6 digits, 30 s whatever "
            "the URI says. Lenient typed keys.",
            algorithm=_sha1_only(
                "default",
                Source("google-authenticator-android AuthenticatorActivity.java L249-254", 2020),
            ),
            digits=ParameterSupport(
                6, frozenset({6}), "default", Source("otp/OtpProvider.java PIN_LENGTH = 6", 2020)
            ),
            period=ParameterSupport(
                30, frozenset({30}), "default", Source("DEFAULT_INTERVAL = 30", 2020)
            ),
            key_entry=KeyEntryRules(
                "strip", "fold", "strip", "strip", Source("util/Base32String.java", 2020)
            ),
            dialect_stances=_stances(
                "default",
                Source(
                    "AuthenticatorActivity.java L249-254 reads only issuer, secret, counter; "
                    "PIN_LENGTH = 6; DEFAULT_INTERVAL = 30",
                    2020,
                ),
                *("M14", "M14b", "M15", "M15b", "M16", "M17", "M18", "M19"),
                *("M21", "M22", "M23", "M24", "M25", "M36"),
            )
            + _stances(
                "honour",
                Source("util/Base32String.java: strips spaces and '=', upper-cases", 2020),
                *("M09", "M09b", "M10", "M11"),
            ),
            sources=(Source(f"{_AS}: Google Authenticator Android, open-source <=2020"),),
        ),
        AppProfile(
            name="google-authenticator-2023",
            title="Google Authenticator (Android, closed-source build as reported in 2023)",
            summary="Refuses SHA256 with a read error and ignores period (30 s). Reports "
            "conflict: a 2024 build is reported to work.",
            algorithm=ParameterSupport(
                "SHA1",
                frozenset({"SHA1", "SHA512"}),
                "refuse",
                Source("andry08/ArubaOTP-seed-extractor#21", 2023),
            ),
            digits=RFC_DIGITS,
            period=ParameterSupport(
                30,
                frozenset({30}),
                "default",
                Source("andry08/ArubaOTP-seed-extractor#21 (period 'completely ignored')", 2023),
            ),
            dialect_stances=(
                DialectStance(
                    "M14",
                    "refuse",
                    Source("andry08/ArubaOTP-seed-extractor#21; a 2024 build works", 2023),
                ),
                DialectStance(
                    "M14b",
                    "honour",
                    Source("keycloak#27349; a 2022 report (privacyidea#3311) says wrong", 2024),
                ),
                DialectStance("M16", "honour", Source("ArubaOTP-seed-extractor#21", 2023)),
                DialectStance(
                    "M18",
                    "refuse",
                    Source(f"{_EDEN_E0}: 'Google Authenticator' rejects it, build not stated"),
                    _E0_UNVERIFIED,
                ),
                DialectStance("M21", "default", Source("ArubaOTP-seed-extractor#21", 2023)),
            ),
            sources=(Source(f"{_AS}: Google Authenticator Android, closed-source builds"),),
        ),
        AppProfile(
            name="microsoft-authenticator",
            title="Microsoft Authenticator",
            summary="SHA1, 6 digits, 30 s only; other values import and give wrong codes.",
            algorithm=_sha1_only("default", Source("kspearrin/Otp.NET#62", 2024)),
            digits=ParameterSupport(
                6,
                frozenset({6}),
                "default",
                Source("Keycloak MicrosoftAuthenticatorOTPProvider.java; keycloak PR #27351", 2024),
            ),
            period=ParameterSupport(
                30, frozenset({30}), "default", Source("RobThree/TwoFactorAuth.Net#18", 2021)
            ),
            dialect_stances=(
                *_stances("default", Source("kspearrin/Otp.NET#62", 2024), "M14", "M14b"),
                DialectStance(
                    "M16", "default", Source("Keycloak MicrosoftAuthenticatorOTPProvider.java")
                ),
                DialectStance("M18", "default", _EDEN_E0, _E0_UNVERIFIED),
                DialectStance("M21", "default", Source("RobThree/TwoFactorAuth.Net#18", 2021)),
            ),
            sources=(Source(f"{_AS}: Microsoft Authenticator"),),
        ),
        AppProfile(
            name="authy",
            title="Authy (Twilio)",
            summary="Imports SHA256/SHA512 secrets but computes SHA1 codes; cannot use a "
            "60 s period.",
            algorithm=_sha1_only(
                "default",
                Source("ArubaOTP-seed-extractor README ('successful import, but a wrong code')"),
            ),
            digits=RFC_DIGITS,
            period=ParameterSupport(
                30, frozenset({30}), "default", Source("privacyidea/privacyidea#1156", 2018)
            ),
            dialect_stances=(
                DialectStance(
                    "M14", "default", Source("ArubaOTP-seed-extractor README ('wrong code')")
                ),
                DialectStance("M18", "refuse", _EDEN_E0, _E0_UNVERIFIED),
                DialectStance("M21", "default", Source("privacyidea/privacyidea#1156", 2018)),
            ),
            sources=(Source(f"{_AS}: Authy"),),
        ),
        AppProfile(
            name="lastpass-authenticator",
            title="LastPass Authenticator",
            summary="Honours algorithm, 8 digits and other periods; backs accounts up to the "
            "LastPass cloud, so a new phone restores the same secrets.",
            algorithm=RFC_ALGORITHM,
            digits=RFC_DIGITS,
            period=RFC_PERIOD,
            cloud_backup=True,
            cloud_backup_source=Source(
                "shared/seed/two-factor-remote-support.txt (LastPass cloud backup)"
            ),
            dialect_stances=(
                DialectStance("M14", "honour", Source("RobThree/TwoFactorAuth#54", 2020)),
                *_stances("honour", Source("sec51/twofactor#11 (iOS)", 2018), "M14b", "M16"),
                DialectStance("M21", "honour", Source("RobThree/TwoFactorAuth#54 (40 s)", 2020)),
            ),
            sources=(
                Source("RobThree/TwoFactorAuth#54", 2020),
                Source("sec51/twofactor#11", 2018),
            ),
        ),
        AppProfile(
            name="freeotp",
            title="FreeOTP",
            summary="Honours every parameter; refuses an issuer containing ':'; warns about "
            "secrets under 128 bits.",
            algorithm=RFC_ALGORITHM,
            digits=RFC_DIGITS,
            period=RFC_PERIOD,
            issuer_colon="refuse",
            issuer_colon_source=Source("FusionAuth/fusionauth-issues#3011", 2025),
            warns_secrets_under_bits=128,
            secret_size_source=Source("FusionAuth/fusionauth-issues#3012", 2025),
            dialect_stances=(
                DialectStance(
                    "M13", "honour", Source("FusionAuth/fusionauth-issues#3012 (warns)", 2025)
                ),
                *_stances(
                    "honour", Source("Keycloak FreeOTPProvider.supports()"), "M14", "M14b", "M16"
                ),
                DialectStance("M21", "honour", Source("springframeworkguru/ssc-brewery#6", 2020)),
            ),
            sources=(Source("Keycloak FreeOTPProvider.supports()"),),
        ),
        AppProfile(
            name="yubico-authenticator",
            title="Yubico Authenticator",
            summary="Refuses '=' padding in a scanned URI; SHA256/SHA512 reported unsupported.",
            algorithm=_sha1_only("refuse", Source("authelia docs/data/support.json")),
            digits=RFC_DIGITS,
            period=RFC_PERIOD,
            uri_padding="refuse",
            uri_padding_source=Source("Yubico/yubioath-flutter#1759", 2025),
            dialect_stances=(
                *_stances("refuse", Source("Yubico/yubioath-flutter#1759", 2025), "M09", "M09b"),
                *_stances("refuse", _SUPPORT_JSON, "M14", "M14b"),
                DialectStance("M16", "honour", _SUPPORT_JSON),
            ),
            sources=(Source(f"{_AS}: Yubico Authenticator"),),
        ),
        AppProfile(
            name="bitwarden-authenticator",
            title="Bitwarden Authenticator (Android)",
            summary="Honours every parameter; a typed key with spaces is 'Key is invalid'.",
            algorithm=RFC_ALGORITHM,
            digits=_DIGITS_WITH_ONE,
            period=RFC_PERIOD,
            key_entry=KeyEntryRules(
                spaces="refuse", source=Source("bitwarden/authenticator-android#141", 2024)
            ),
            dialect_stances=(
                *_stances("honour", _SUPPORT_JSON, "M14", "M14b", "M16"),
                DialectStance(
                    "M18",
                    "honour",
                    Source(f"{_EDEN_E0}: 'Bitwarden', which Bitwarden app not stated"),
                    _E0_UNVERIFIED,
                ),
            ),
            sources=(Source("authelia docs/data/support.json"),),
        ),
        AppProfile(
            name="aegis",
            title="Aegis Authenticator",
            summary="Honours SHA256, SHA512, 8 digits and other periods; shows a 1-digit, "
            "120 s code as asked.",
            algorithm=RFC_ALGORITHM,
            digits=_DIGITS_WITH_ONE,
            period=RFC_PERIOD,
            dialect_stances=(
                DialectStance("M14", "honour", Source("authelia commit 113c2f9e")),
                *_stances("honour", _SUPPORT_JSON, "M14b", "M16"),
                DialectStance("M18", "honour", _EDEN_E0, _E0_UNVERIFIED),
            ),
            sources=(Source("authelia commit 113c2f9e; docs/data/support.json"),),
        ),
        AppProfile(
            name="1password",
            title="1Password",
            summary="Honours SHA256; SHA512 and 8 digits reported unsupported (refused); shows a "
            "1-digit, 120 s code as asked.",
            algorithm=ParameterSupport(
                "SHA1",
                frozenset({"SHA1", "SHA256"}),
                "refuse",
                Source("authelia docs/data/support.json"),
            ),
            digits=ParameterSupport(
                6,
                frozenset({1, 6}),
                "refuse",
                Source(f"authelia docs/data/support.json (8 digits refused); {_EDEN_E0} (1 digit)"),
            ),
            period=RFC_PERIOD,
            dialect_stances=(
                DialectStance("M14", "honour", _SUPPORT_JSON),
                *_stances("refuse", _SUPPORT_JSON, "M14b", "M16"),
                DialectStance("M18", "honour", _EDEN_E0, _E0_UNVERIFIED),
            ),
            sources=(Source("authelia docs/data/support.json"),),
        ),
    )
}


class UnknownProfileError(KeyError):
    """Raised when a profile name is not in the catalogue."""

    def __str__(self) -> str:
        return str(self.args[0])


def get_profile(name: str) -> AppProfile:
    """The profile of that name; the error lists the names there are."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise UnknownProfileError(f"unknown profile {name!r}; known profiles: {known}") from None


def iter_profiles() -> Iterator[AppProfile]:
    return iter(PROFILES.values())
