"""The "URI dialects" case family: every row of the reference URI matrix, scanned.

One case per row (and per variant, ``M07b``...) of ``simulators.uri_matrix``
(otpauth-dialects.md §4): provision by scanning the row's URI, ask for the
codes at the row's times. The expected codes are the harness's reference
algorithm (``simulators.hotp``) applied to the URI as an honouring app reads
it (the Key Uri Format's defaults, the first value of each parameter, spaces
and case forgiven in the secret); a test checks them against the codes the
matrix states. A row whose URI defines no code (no secret, a secret that is
not base32, an algorithm that is not one, a period of 0, an HOTP URI without
a counter, an unknown type, two values of one parameter) can only be refused:
importing it is wrong whatever the app shows.

Verdicts (the harness notes of §4): refused; imported with the right code
(compatible); imported with a wrong or silently defaulted code
(silently wrong, the worst). A refusal passes when some dialect allows it
(a REJ, rej, NC or n/a cell) or the row defines no code; otherwise it is an
ordinary refusal, as in the other families.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from conformance.vendor.cases import Case
from simulators.hotp import HASHES, MAX_DIGITS, CodeGenerator, OtpError, decode_base32
from simulators.otpauth import DEFAULT_PERIOD, KNOWN_PARAMETERS
from simulators.uri_matrix import COLUMN_DIALECTS, DEFAULT_T, ROWS, SHORTHAND_BASE, MatrixRow

FAMILY: Final = "uri-dialects"
FAMILY_TEXT: Final = "every row of the reference URI matrix M01-M40 (otpauth-dialects.md §4)"
#: The report's own matrix for the family (a ``group`` of matrix cells).
MATRIX_GROUP: Final = "URI dialects (otpauth-dialects.md §4)"
#: Cell verdicts that make a refusal conform to some dialect.
_REFUSAL_ALLOWED: Final = frozenset({"REJ", "rej", "NC", "n/a"})
_MUST_REJECT: Final = frozenset({"REJ", "rej"})


@dataclass(frozen=True)
class Reading:
    """A URI as an app that honours every parameter reads it."""

    key: bytes
    otp_type: str
    algorithm: str
    digits: int
    period: int
    counter: int

    def codes(self, times: tuple[int, ...]) -> tuple[str, ...]:
        generator = CodeGenerator(
            self.key, digits=self.digits, algorithm=self.algorithm, period=self.period
        )
        if self.otp_type == "hotp":
            return tuple(generator.code_for_counter(self.counter) for _ in times)
        return tuple(generator.code_at(t) for t in times)


def read_row_uri(uri: str) -> Reading | None:
    """What an honouring app computes from this URI, or None when it defines no code."""
    parts = urlsplit(uri)
    if parts.scheme.lower() not in ("otpauth", "apple-otpauth"):
        return None
    otp_type = parts.netloc.lower()
    if otp_type not in ("totp", "hotp"):
        return None
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    if any(names.count(n) > 1 for n in KNOWN_PARAMETERS):
        return None  # two secrets or two issuers: which one the server meant is unknowable
    params = dict(pairs)
    secret = "".join(params.get("secret", "").split()).rstrip("=").upper()
    algorithm = (params.get("algorithm") or "SHA1").upper()
    digits = params.get("digits") or "6"
    period = params.get("period") or str(DEFAULT_PERIOD)
    counter = params.get("counter", "")
    try:
        key = decode_base32(secret)
    except OtpError:
        return None
    if algorithm not in HASHES or not digits.isdigit() or not 1 <= int(digits) <= MAX_DIGITS:
        return None
    if not period.isdigit() or int(period) == 0:
        return None
    if otp_type == "hotp" and not counter.isdigit():
        return None
    return Reading(
        key,
        otp_type,
        algorithm,
        int(digits),
        int(period),
        int(counter) if otp_type == "hotp" else 0,
    )


@dataclass(frozen=True)
class DialectCase(Case):
    """One row of the URI matrix as a vendor case."""

    row_id: str = ""
    row_uri: str = ""
    tests: str = ""
    key: bytes = b""
    otp_type: str = "totp"
    #: The codes an importing app must show; None when the row defines none.
    defined_codes: tuple[str, ...] | None = None
    #: Some dialect lets a consumer refuse the row (or it defines no code).
    refusal_conforms: bool = False
    #: The cells that say a consumer must or should reject it, e.g. "A: REJ (A-3.4-3)".
    reject_cells: tuple[str, ...] = ()
    #: The cells that let a consumer refuse it (REJ, rej, NC, n/a), e.g. "AP: n/a (totp only)".
    allow_cells: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"dialect-{self.row_id}"

    @property
    def secret(self) -> bytes:
        return self.key

    @cached_property
    def uri(self) -> str:
        return self.row_uri

    @cached_property
    def expected_codes(self) -> tuple[str, ...]:
        return self.defined_codes or ()

    @property
    def requirements(self) -> tuple[str, ...]:
        query = urlsplit(self.row_uri).query
        reqs = ["URI-01", "URI-02"]
        for name, req in (
            ("secret", "URI-03"),
            ("issuer", "URI-04"),
            ("algorithm", "URI-05"),
            ("digits", "URI-06"),
            ("period", "URI-07"),
        ):
            if f"{name}=" in query or name in self.tests:
                reqs.append(req)
        if self.defined_codes is not None:
            reqs.append("ALG-01")
        return tuple(dict.fromkeys(reqs))

    @property
    def title(self) -> str:
        times = ", ".join(str(t) for t in self.times)
        return f"{self.row_id} ({self.tests}): {self.row_uri}; codes at {times}"

    @property
    def matrix_group(self) -> str | None:
        return MATRIX_GROUP

    @property
    def defines_code(self) -> bool:
        return self.defined_codes is not None

    def variations(self) -> dict[str, str]:
        return {"URI dialect row": self.row_id}


def _shown(uri: str) -> str:
    """The URI as the matrix writes it: ``…&digits=1`` for its shorthand rows."""
    return "…" + uri[len(SHORTHAND_BASE) :] if uri.startswith(SHORTHAND_BASE) else uri


def _times(row: MatrixRow) -> tuple[int, ...]:
    return tuple(sorted({code.at for code in row.codes})) or (DEFAULT_T,)


def dialect_case(row: MatrixRow) -> DialectCase:
    """The vendor case of one matrix row."""
    reading = read_row_uri(row.uri)
    times = _times(row)
    verdicts = {c: set(row.cells[c].verdicts) for c in COLUMN_DIALECTS}
    reject_cells = tuple(
        f"{column}: {row.cells[column].text}"
        for column in COLUMN_DIALECTS
        if verdicts[column] & _MUST_REJECT
    )
    allow_cells = tuple(
        f"{column}: {row.cells[column].text}"
        for column in COLUMN_DIALECTS
        if verdicts[column] & _REFUSAL_ALLOWED
    )
    allowed = reading is None or bool(allow_cells)
    return DialectCase(
        family=FAMILY,
        algorithm=reading.algorithm if reading else "SHA1",
        digits=reading.digits if reading else 6,
        period=reading.period if reading else DEFAULT_PERIOD,
        bits=len(reading.key) * 8 if reading else 0,
        uri_form="dialect",
        provisioning="uri",
        time_set="-".join(str(t) for t in times),
        times=times,
        cells=((row.id, f"{row.tests}: {_shown(row.uri)}"),),
        row_id=row.id,
        row_uri=row.uri,
        tests=row.tests,
        key=reading.key if reading else b"",
        otp_type=reading.otp_type if reading else "totp",
        defined_codes=reading.codes(times) if reading else None,
        refusal_conforms=allowed,
        reject_cells=reject_cells,
        allow_cells=allow_cells,
    )


def dialect_cases() -> list[Case]:
    """Every row of the matrix, in its order."""
    return [dialect_case(row) for row in ROWS]
