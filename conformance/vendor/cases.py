"""The case matrix of ``twofa check-authenticator``: what to provision, when to ask for codes.

The full cartesian product of the dimensions (algorithm, digits, period,
secret length, URI form, provisioning, time) is about 100,000 cases; most of
them tell nothing a smaller set does not. The matrix is a covering design
instead: a baseline (SHA1, 6 digits, 30 s, a 160-bit secret, a plain URI,
scanned), every value of every dimension varied alone against it, every
algorithm x digits x period combination, every algorithm with every secret
length and every URI form, typed keys with every non-default parameter, the
RFC 6238 Appendix B vectors, and every time point for the baseline, for each
algorithm, for 8 digits and for the 15 s and 60 s periods. Case ids are
deterministic and name every dimension, so a vendor can quote one in a bug.

Expected codes come from the harness's own reference algorithm
(``simulators.hotp``). The secrets are public test seeds (RFC 4226/6238 and
the Key Uri Format wiki's example), never anything real.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final, Literal
from urllib.parse import quote

from simulators.hotp import CodeGenerator, encode_base32
from simulators.otpauth import build_uri

ALGORITHMS: Final = ("SHA1", "SHA256", "SHA512")
DIGITS: Final = (6, 7, 8)
PERIODS: Final = (15, 30, 60)
SECRET_BITS: Final = (80, 128, 160, 256, 512)

#: The test secrets by length: the Key Uri Format wiki's 80-bit example, and the
#: RFC 4226/6238 ASCII seeds (the 20-, 32- and 64-byte ones are Appendix A's).
SECRETS: Final[dict[int, bytes]] = {
    80: b"Hello!\xde\xad\xbe\xef",
    128: b"1234567890123456",
    160: b"12345678901234567890",
    256: b"12345678901234567890123456789012",
    512: b"1234567890123456789012345678901234567890123456789012345678901234",
}

UriForm = Literal[
    "plain",
    "minimal",
    "issuer-prefix",
    "issuer-param",
    "percent-label",
    "padded",
    "colon-issuer",
    "colon-account",
    "param-order",
]
#: URI forms and what each one tries.
URI_FORMS: Final[dict[str, str]] = {
    "plain": "the issuer in the label and as a parameter, every parameter written",
    "minimal": "the parameters at their defaults left out",
    "issuer-prefix": "the issuer only as the label prefix",
    "issuer-param": "the issuer only as the issuer parameter",
    "percent-label": "a percent-encoded label ('%3A' between issuer and account)",
    "padded": "'=' padding in the secret",
    "colon-issuer": "':' in the issuer parameter",
    "colon-account": "':' in the account name",
    "param-order": "its parameters in reverse order (period first, secret last)",
}

Provisioning = Literal["uri", "key-upper", "key-lower", "key-spaced", "key-lower-spaced"]
PROVISIONINGS: Final[dict[str, str]] = {
    "uri": "scanned QR code (the otpauth URI)",
    "key-upper": "typed key, upper case, no spaces",
    "key-lower": "typed key, lower case",
    "key-spaced": "typed key in groups of four (as servers display it)",
    "key-lower-spaced": "typed key in lower case and groups of four",
}

#: Time points (Unix seconds): RFC 6238 Appendix B times, both ends of one
#: 30 s step, the signed 32-bit edge (2^31 - 1, 2^31), 2^32 and the year 2603.
TIME_POINTS: Final = (
    59,
    1111111109,
    1111111110,
    1111111111,
    1111111139,
    1234567890,
    2000000000,
    2**31 - 1,
    2**31,
    2**32,
    20000000000,
)
#: The times of RFC 6238 Appendix B.
RFC_TIMES: Final = (59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000)
#: The times of a case that is not about time: the first RFC time and the year 2603.
STANDARD_TIMES: Final = (59, 20000000000)

ISSUER: Final = "Example"
ACCOUNT: Final = "alice@example.com"

#: Family → what it exercises, in run order (also the report's plans).
FAMILIES: Final[dict[str, str]] = {
    "baseline": "SHA1, 6 digits, 30 s, 160-bit secret, plain URI, scanned",
    "algorithm": "each algorithm against the baseline",
    "digits": "each digit count against the baseline",
    "period": "each period against the baseline",
    "secret": "each secret length against the baseline",
    "uri": "each URI form against the baseline",
    "provisioning": "each way of typing the key against the baseline",
    "time": "each time point, for the baseline",
    "rfc-vectors": "RFC 6238 Appendix B: 8 digits with the seed of each hash's length",
    "combination": "every algorithm x digits x period combination",
    "algorithm-secret": "every algorithm with every secret length",
    "algorithm-uri": "SHA256 and SHA512 in every URI form",
    "typed-parameters": "a typed key with each non-default parameter in the app's fields",
    "time-parameters": "each time point for SHA256, SHA512, 8 digits, 15 s and 60 s",
    # conformance/vendor/dialect_cases.py (its FAMILY and FAMILY_TEXT)
    "uri-dialects": "every row of the reference URI matrix M01-M40 (otpauth-dialects.md §4)",
}

#: Requirement ids (shared/reference/standards-checklist.md) each dimension speaks for.
_BASE_REQUIREMENTS: Final = ("ALG-01", "ALG-02", "ALG-05")
_URI_REQUIREMENTS: Final[dict[str, tuple[str, ...]]] = {
    "plain": ("URI-01", "URI-02", "URI-04"),
    "minimal": ("URI-05", "URI-06", "URI-07"),
    "issuer-prefix": ("URI-02", "URI-04"),
    "issuer-param": ("URI-04",),
    "percent-label": ("URI-02",),
    "padded": ("URI-03",),
    "colon-issuer": ("URI-02", "URI-04"),
    "colon-account": ("URI-02",),
    "param-order": ("URI-01",),
}


@dataclass(frozen=True)
class Case:
    """One thing to provision and the times to ask its codes for."""

    family: str
    algorithm: str
    digits: int
    period: int
    bits: int
    #: How the URI is written (``none`` for typed keys).
    uri_form: str
    provisioning: str
    #: Name of the time set (``std``, ``rfc``) or the single time as text.
    time_set: str
    times: tuple[int, ...]
    #: Matrix cells this case fills: (parameter, value) pairs of the report.
    cells: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def id(self) -> str:
        return (
            f"alg-{self.algorithm}.digits-{self.digits}.period-{self.period}.bits-{self.bits}"
            f".uri-{self.uri_form}.prov-{self.provisioning}.t-{self.time_set}"
        )

    @property
    def secret(self) -> bytes:
        return SECRETS[self.bits]

    @property
    def secret_base32(self) -> str:
        """The secret as unpadded base32."""
        return encode_base32(self.secret)

    @property
    def scanned(self) -> bool:
        return self.provisioning == "uri"

    @property
    def label(self) -> str:
        """What a person would type in the app's account-name field."""
        return f"{ISSUER}:{ACCOUNT}"

    @cached_property
    def uri(self) -> str:
        """The otpauth URI of the case (also given for typed-key cases, for reference)."""
        return _uri(self)

    @property
    def typed_key(self) -> str:
        """The key as a person types it (for typed-key cases; the plain key otherwise)."""
        key = self.secret_base32
        if "spaced" in self.provisioning:
            key = " ".join(key[i : i + 4] for i in range(0, len(key), 4))
        if "lower" in self.provisioning:
            key = key.lower()
        return key

    @cached_property
    def expected_codes(self) -> tuple[str, ...]:
        """The reference algorithm's codes at the case's times."""
        generator = CodeGenerator(
            self.secret, digits=self.digits, algorithm=self.algorithm, period=self.period
        )
        return tuple(generator.code_at(t) for t in self.times)

    @property
    def requirements(self) -> tuple[str, ...]:
        reqs = list(_BASE_REQUIREMENTS)
        if self.algorithm != "SHA1":
            reqs += ["ALG-09", "URI-05"]
        if self.digits != 6:
            reqs += ["ALG-03", "URI-06"]
        if self.period != 30:
            reqs += ["ALG-07", "URI-07"]
        if self.bits != 160:
            reqs += ["SEC-01", "SEC-02"]
        if self.scanned:
            reqs += _URI_REQUIREMENTS[self.uri_form]
        else:
            reqs.append("URI-03")
        if any(t >= 2**31 - 1 for t in self.times):
            reqs.append("ALG-08")
        return tuple(dict.fromkeys(reqs))

    @property
    def title(self) -> str:
        how = (
            f"{self.uri_form} URI, scanned"
            if self.scanned
            else PROVISIONINGS[self.provisioning].replace("typed key", "typed key")
        )
        times = ", ".join(str(t) for t in self.times)
        return (
            f"{self.algorithm}, {self.digits} digits, {self.period} s, {self.bits}-bit secret, "
            f"{how}; codes at {times}"
        )

    @property
    def matrix_group(self) -> str | None:
        """The report's own matrix this case's cells belong to (None: the main matrix)."""
        return None

    def variations(self) -> dict[str, str]:
        """The dimensions where this case differs from the baseline, as text."""
        found = {}
        for name, value, base in (
            ("algorithm", self.algorithm, "SHA1"),
            ("digits", str(self.digits), "6"),
            ("period", str(self.period), "30"),
            ("secret bits", str(self.bits), "160"),
            ("URI form", self.uri_form, "plain"),
            ("provisioning", self.provisioning, "uri"),
        ):
            if value != base and not (name == "URI form" and value == "none"):
                found[name] = value
        return found


def _uri(case: Case) -> str:
    secret = case.secret_base32
    alg, digits, period = case.algorithm, case.digits, case.period
    form = case.uri_form
    if form in ("plain", "none"):
        return build_uri(case.secret, ACCOUNT, ISSUER, algorithm=alg, digits=digits, period=period)
    if form == "minimal":
        return build_uri(
            case.secret,
            ACCOUNT,
            ISSUER,
            algorithm=alg,
            digits=digits,
            period=period,
            include_defaults=False,
        )
    params = f"algorithm={alg}&digits={digits}&period={period}"
    account = quote(ACCOUNT, safe="@")
    if form == "issuer-prefix":
        return f"otpauth://totp/{ISSUER}:{account}?secret={secret}&{params}"
    if form == "issuer-param":
        return f"otpauth://totp/{account}?secret={secret}&issuer={ISSUER}&{params}"
    if form == "percent-label":
        label = quote("Big Corporation", safe="") + "%3A%20" + quote("alice@bigco.com", safe="")
        return f"otpauth://totp/{label}?secret={secret}&issuer=Big%20Corporation&{params}"
    if form == "padded":
        padded = secret + "=" * (-len(secret) % 8)
        return f"otpauth://totp/{ISSUER}:{account}?secret={padded}&issuer={ISSUER}&{params}"
    if form == "colon-issuer":
        return f"otpauth://totp/{account}?secret={secret}&issuer=ACME%3ACorp&{params}"
    if form == "colon-account":
        return f"otpauth://totp/{ISSUER}:alice%3Awork?secret={secret}&issuer={ISSUER}&{params}"
    if form == "param-order":
        return (
            f"otpauth://totp/{ISSUER}:{account}?period={period}&digits={digits}"
            f"&algorithm={alg}&issuer={ISSUER}&secret={secret}"
        )
    raise ValueError(f"unknown URI form {form!r}")


def _case(
    family: str,
    cells: Sequence[tuple[str, str]],
    *,
    algorithm: str = "SHA1",
    digits: int = 6,
    period: int = 30,
    bits: int = 160,
    uri_form: str = "plain",
    provisioning: str = "uri",
    times: tuple[int, ...] | int = STANDARD_TIMES,
) -> Case:
    time_values: tuple[int, ...]
    if isinstance(times, int):
        time_set, time_values = str(times), (times,)
    else:
        time_set = "rfc" if times == RFC_TIMES else "std"
        time_values = times
    if provisioning != "uri":
        uri_form = "none"
    elif uri_form == "padded" and len(encode_base32(SECRETS[bits])) % 8 == 0:
        bits = 128  # a 160-bit secret is 32 base32 characters: nothing to pad
    return Case(
        family,
        algorithm,
        digits,
        period,
        bits,
        uri_form,
        provisioning,
        time_set,
        time_values,
        tuple(cells),
    )


def _generate() -> list[Case]:
    cases: list[Case] = [
        _case(
            "baseline",
            [
                ("algorithm", "SHA1"),
                ("digits", "6"),
                ("period", "30"),
                ("secret bits", "160"),
                ("URI form", "plain"),
                ("provisioning", "uri"),
            ],
        )
    ]
    cases += [_case("algorithm", [("algorithm", a)], algorithm=a) for a in ALGORITHMS[1:]]
    cases += [_case("digits", [("digits", str(d))], digits=d) for d in DIGITS if d != 6]
    cases += [_case("period", [("period", str(p))], period=p) for p in PERIODS if p != 30]
    cases += [_case("secret", [("secret bits", str(b))], bits=b) for b in SECRET_BITS if b != 160]
    cases += [_case("uri", [("URI form", f)], uri_form=f) for f in URI_FORMS if f != "plain"]
    cases += [
        _case("provisioning", [("provisioning", p)], provisioning=p)
        for p in PROVISIONINGS
        if p != "uri"
    ]
    cases += [_case("time", [("time (SHA1)", str(t))], times=t) for t in TIME_POINTS]
    cases += [
        _case(
            "rfc-vectors",
            [("RFC 6238 Appendix B", a)],
            algorithm=a,
            digits=8,
            bits=b,
            times=RFC_TIMES,
        )
        for a, b in (("SHA1", 160), ("SHA256", 256), ("SHA512", 512))
    ]
    cases += [
        _case(
            "combination",
            [("algorithm x digits x period", f"{a}/{d}/{p}")],
            algorithm=a,
            digits=d,
            period=p,
        )
        for a in ALGORITHMS
        for d in DIGITS
        for p in PERIODS
    ]
    cases += [
        _case("algorithm-secret", [("algorithm x secret bits", f"{a}/{b}")], algorithm=a, bits=b)
        for a in ALGORITHMS
        for b in SECRET_BITS
    ]
    cases += [
        _case("algorithm-uri", [(f"URI form ({a})", f)], algorithm=a, uri_form=f)
        for a in ALGORITHMS[1:]
        for f in URI_FORMS
    ]
    cases += [
        _case(
            "typed-parameters", [("typed key with parameter", text)], provisioning="key-upper", **kw
        )
        for text, kw in (
            ("SHA256", {"algorithm": "SHA256"}),
            ("SHA512", {"algorithm": "SHA512"}),
            ("7 digits", {"digits": 7}),
            ("8 digits", {"digits": 8}),
            ("15 s", {"period": 15}),
            ("60 s", {"period": 60}),
        )
    ]
    for text, kw in (
        ("SHA256", {"algorithm": "SHA256"}),
        ("SHA512", {"algorithm": "SHA512"}),
        ("8 digits", {"digits": 8}),
        ("15 s", {"period": 15}),
        ("60 s", {"period": 60}),
    ):
        cases += [
            _case("time-parameters", [(f"time ({text})", str(t))], times=t, **kw)
            for t in TIME_POINTS
        ]
    # The URI matrix rows, last: a case per row (imported here, as it builds on Case).
    from conformance.vendor.dialect_cases import dialect_cases

    cases += dialect_cases()
    # A combination already tried by an earlier family keeps its first family.
    unique: dict[str, Case] = {}
    for case in cases:
        if case.id in unique:
            first = unique[case.id]
            extra = tuple(c for c in case.cells if c not in first.cells)
            unique[case.id] = dataclasses.replace(first, cells=first.cells + extra)
        else:
            unique[case.id] = case
    return list(unique.values())


#: Every case, in run order.
ALL_CASES: Final[tuple[Case, ...]] = tuple(_generate())


def select_cases(selectors: Iterable[str] = ()) -> list[Case]:
    """The cases of these families, or whose id matches these glob patterns (all when empty).

    Raises ``KeyError`` naming the selector that matches nothing.
    """
    wanted = list(selectors)
    if not wanted:
        return list(ALL_CASES)
    chosen: dict[str, Case] = {}
    for selector in wanted:
        matched = [
            c
            for c in ALL_CASES
            if c.family == selector or c.id == selector or fnmatch.fnmatchcase(c.id, selector)
        ]
        if not matched:
            raise KeyError(
                f"--cases {selector!r} matches no case; families: {', '.join(FAMILIES)} "
                "(or a glob over case ids, e.g. 'alg-SHA256.*')"
            )
        chosen.update((c.id, c) for c in matched)
    return [c for c in ALL_CASES if c.id in chosen]
