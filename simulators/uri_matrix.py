"""The reference URI test matrix (otpauth-dialects.md §4) as typed data.

Forty rows, plus the variants the table names (``M07b``...), each with the URI
(the ``…&`` shorthand expanded as the table's key says), what it tests, the
expected verdict of each dialect column (A, L, Y, AP) and the codes an
importing app must show. Cells keep the table's own words; ``status`` says how
far a cell can be asserted, and ``reading`` records where this harness's
reading of the rule tables (simulators/dialects.py) gives another verdict, and
why (docs/uri-dialects.md lists them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from simulators.dialects import VERDICTS, Dialect, Verdict

Column = Literal["A", "L", "Y", "AP"]
#: asserted: the cell's verdict (or one of its alternatives "X/Y") must be the linter's.
#: hedged: the table hedges ("likely", "inferred", "N/S→OK", a word outside the key).
#: unverified: the table marks the cell UNVERIFIED.  absent: no verdict for this variant.
CellStatus = Literal["asserted", "hedged", "unverified", "absent"]

COLUMN_DIALECTS: Final[dict[Column, Dialect]] = {
    "A": "ietf-andesco",
    "L": "ietf-linuxgemini",
    "Y": "yubico",
    "AP": "apple",
}
VERDICT_OF: Final[dict[str, Verdict]] = {v: v for v in VERDICTS}
#: The RFC 4226/6238 test key "12345678901234567890" in Base32 (160 bits).
SK: Final = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#: What a URI written ``…&x=y`` in the table starts with.
SHORTHAND_BASE: Final = f"otpauth://totp/alice?secret={SK}&issuer=example.com"
#: Expected codes are computed at this time unless a row says otherwise.
DEFAULT_T: Final = 59


@dataclass(frozen=True)
class Cell:
    """One verdict cell of the table."""

    text: str
    verdicts: tuple[Verdict, ...]
    status: CellStatus = "asserted"
    #: The harness's verdict where its reading of the rules differs from the table.
    reading: Verdict | None = None
    why: str = ""


@dataclass(frozen=True)
class ExpectedCode:
    """A code an app that imports the URI must show at ``at`` (Unix time)."""

    code: str
    at: int = DEFAULT_T
    #: Set when the table gives the code only conditionally ("if accepted").
    condition: str | None = None


@dataclass(frozen=True)
class MatrixRow:
    """One row (or one variant of a row) of the matrix."""

    id: str
    uri: str
    tests: str
    cells: Mapping[Column, Cell]
    codes: tuple[ExpectedCode, ...] = ()
    note: str = ""
    variant_of: str | None = None


def _c(text: str, *verdicts: Verdict) -> Cell:
    """An asserted cell; a bare verdict word is its own verdict."""
    if not verdicts:
        if text not in VERDICTS:
            raise ValueError(f"give the verdicts of the cell {text!r}")
        return Cell(text, (VERDICT_OF[text],))
    return Cell(text, verdicts)


def _hedged(text: str, *verdicts: Verdict) -> Cell:
    return Cell(text, verdicts, "hedged")


def _cells(a: Cell | str, l: Cell | str, y: Cell | str, ap: Cell | str) -> dict[Column, Cell]:  # noqa: E741
    pick = {"A": a, "L": l, "Y": y, "AP": ap}
    return {k: v if isinstance(v, Cell) else _c(v) for k, v in pick.items()}  # type: ignore[misc]


def _short(tail: str) -> str:
    return f"{SHORTHAND_BASE}{tail}"


_CODE = ExpectedCode("287082")
_NO_VARIANT = Cell("(no verdict for the variant)", (), "absent")

ROWS: Final[tuple[MatrixRow, ...]] = (
    MatrixRow(
        "M01",
        f"otpauth://totp/Example:alice%40example.com?secret={SK}&issuer=Example",
        "Google-style baseline",
        _cells(
            "OK",
            Cell(
                "OK* (prefix discouraged)",
                ("OK*",),
                reading="OK",
                why="L-3.2-3 is the authors' position, not a BCP 14 keyword: a note. Counting it "
                "would contradict M04, M05, M26, M36 and M37, whose labels also have a prefix "
                "and whose L cells are OK.",
            ),
            "OK",
            _c("OK* (use apple-otpauth for links; issuer should be a domain)", "OK*"),
        ),
        (_CODE,),
    ),
    MatrixRow(
        "M02",
        f"otpauth://totp/alice%40example.com?secret={SK}&issuer=example.com",
        "issuer param only",
        _cells(
            "OK",
            "OK",
            "OK",
            Cell(
                "OK* (path should carry the service name)",
                ("OK*",),
                reading="OK",
                why="A path without a 'Service:' prefix is an AP-4 note, not a warning: the "
                "table's shorthand rows M16, M21 and M22 have the same path 'alice' and an AP "
                "cell of OK.",
            ),
        ),
        (_CODE,),
    ),
    MatrixRow(
        "M03",
        f"otpauth://totp/Example:alice%40example.com?secret={SK}&issuer=example.com",
        "prefix ≠ param",
        _cells(
            _c("OK; match on example.com, display 'Example'", "OK"),
            _hedged("N/S→OK", "N/S", "OK"),
            _c("OK*; YSDK stores issuer 'Example'", "OK*"),
            _c("OK (the intended shape)", "OK"),
        ),
        (_CODE,),
    ),
    MatrixRow(
        "M04",
        f"otpauth://totp/ACME%20Co%3A%20%20alice?secret={SK}&issuer=ACME%20Co",
        "%3A and %20 padding",
        _cells(
            _c("OK; whether the leading spaces are trimmed is N/S", "OK"),
            "OK",
            _c("OK (spaces may precede the account)", "OK"),
            "N/S",
        ),
        (_CODE,),
        note="expect account 'alice'",
    ),
    MatrixRow(
        "M05",
        f"otpauth://totp/Matrix:@edent_:matrix.org?secret={SK}",
        "extra colon (E13)",
        _cells(
            _c("REJ (A-3.1-9)", "REJ"),
            "OK",
            _c("REJ per the docs; YSDK keeps account '@edent_'", "REJ"),
            "N/S",
        ),
        note="E: valid",
    ),
    MatrixRow(
        "M06",
        f"otpauth://totp/?secret={SK}&issuer=example.com",
        "empty label (E9)",
        _cells(
            _c("REJ (grammar)", "REJ"),
            _c("REJ (L-3.2-1)", "REJ"),
            _c("REJ (YSDK: no account)", "REJ"),
            "N/S",
        ),
        note="E: valid",
    ),
    MatrixRow(
        "M07",
        "otpauth://totp/alice?issuer=example.com",
        "secret missing",
        _cells(_c("REJ (A-3.4-3; grammar 1*)", "REJ"), _c("REJ (L-3.3.1-1)", "REJ"), "REJ", "REJ"),
    ),
    MatrixRow(
        "M07b",
        "otpauth://totp/alice?secret=&issuer=example.com",
        "secret empty (E8)",
        _cells(_c("REJ (A-3.4-3; grammar 1*)", "REJ"), _c("REJ (L-3.3.1-1)", "REJ"), "REJ", "REJ"),
        variant_of="M07",
    ),
    MatrixRow(
        "M08",
        f"otpauth://totp/alice?secret={SK}&secret=MFRGGZDFMZTWQ2LK&issuer=example.com",
        "duplicate known parameter",
        _cells(_c("REJ (A-3.4-5)", "REJ"), "N/S", "N/S", "N/S"),
    ),
    MatrixRow(
        "M08b",
        _short("&issuer=evil.example"),
        "duplicate issuer (a phishing risk)",
        _cells(_c("REJ (A-3.4-5)", "REJ"), "N/S", "N/S", "N/S"),
        variant_of="M08",
    ),
    MatrixRow(
        "M09",
        "otpauth://totp/alice?secret=JBSWY3DPEB3W64TMMQ======&issuer=example.com",
        "padded secret (E16)",
        _cells(_c("NC (MUST unpadded)", "NC"), "OK*", _c("OK* (YSDK accepts)", "OK*"), "N/S"),
        (ExpectedCode("223288"),),
        note="key 'Hello world'; E: valid",
    ),
    MatrixRow(
        "M09b",
        "otpauth://totp/alice?secret=JBSWY3DPEB3W64TMMQ%3D%3D%3D%3D%3D%3D&issuer=example.com",
        "padded secret, %3D for each '='",
        _cells(_c("NC (MUST unpadded)", "NC"), "OK*", _c("OK* (YSDK accepts)", "OK*"), "N/S"),
        (ExpectedCode("223288"),),
        variant_of="M09",
    ),
    MatrixRow(
        "M10",
        f"otpauth://totp/alice?secret={SK.lower()}&issuer=example.com",
        "lowercase secret",
        _cells(_c("NC (consumer MAY accept)", "NC"), "NC", _c("OK (YSDK)", "OK"), "N/S"),
        (ExpectedCode("287082", condition="if accepted"),),
    ),
    MatrixRow(
        "M11",
        "otpauth://totp/alice?secret=GEZD%20GNBV%20GY3T%20QOJQ%20GEZD%20GNBV%20GY3T%20QOJQ",
        "spaces in secret",
        _cells(_c("REJ (grammar)", "REJ"), "REJ", _c("REJ (YSDK regex)", "REJ"), "N/S"),
        (ExpectedCode("287082", condition="apps that strip spaces"),),
    ),
    MatrixRow(
        "M12",
        "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJ1&issuer=example.com",
        "non-alphabet char ('1')",
        _cells("REJ", "REJ", "REJ", "REJ"),
        note="E22-type",
    ),
    MatrixRow(
        "M13",
        "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=example.com",
        "80-bit secret",
        _cells("OK", "OK", "OK", _c("OK* (<160 bits)", "OK*")),
        (ExpectedCode("996554"),),
        note="below RFC 4226's 128-bit minimum",
    ),
    MatrixRow(
        "M14",
        _short("&algorithm=SHA256"),
        "SHA-2",
        _cells(
            _c("OK (SHOULD support; literals case-insensitive)", "OK"),
            _c("OK (RFC 5234 literal; 'MUST be supported')", "OK"),
            _c("OK (YSDK upper-cases)", "OK"),
            _c("N/S (undocumented)", "N/S"),
        ),
        (ExpectedCode("247374"), ExpectedCode("756375", at=1111111109)),
        note="20-byte key",
    ),
    MatrixRow(
        "M14b",
        _short("&algorithm=sha512"),
        "case of the enumerated value",
        _cells(
            _c("OK (SHOULD support; literals case-insensitive)", "OK"),
            _c("OK (RFC 5234 literal; 'MUST be supported')", "OK"),
            _c("OK (YSDK upper-cases)", "OK"),
            _c("N/S (undocumented)", "N/S"),
        ),
        (ExpectedCode("342147"),),
        variant_of="M14",
    ),
    MatrixRow(
        "M15",
        _short("&algorithm=SHA-1"),
        "alias algorithm (E15)",
        _cells(_c("rej (A-3.4.3-4)", "rej"), "REJ", _c("REJ (YSDK throws)", "REJ"), "N/S"),
        note="flag apps that fall back silently to SHA1",
    ),
    MatrixRow(
        "M15b",
        _short("&algorithm=MD5"),
        "unknown algorithm ('also try MD5')",
        _cells(_c("rej (A-3.4.3-4)", "rej"), "REJ", _c("REJ (YSDK throws)", "REJ"), "N/S"),
        variant_of="M15",
    ),
    MatrixRow(
        "M16",
        _short("&digits=8"),
        "8 digits",
        _cells("OK", "OK", "OK", "OK"),
        (ExpectedCode("94287082"),),
        note="RFC 6238 vector",
    ),
    MatrixRow(
        "M17",
        _short("&digits=7"),
        "7 digits",
        _cells("rej", "OK", "OK", _c("rej/N/S (doc: 6 or 8)", "rej", "N/S")),
        (ExpectedCode("4287082"),),
    ),
    MatrixRow(
        "M18",
        _short("&digits=1&period=120"),
        "Eden E0-style",
        _cells(
            "rej",
            _c("REJ (must be 6–8)", "REJ"),  # noqa: RUF001 - the table's words
            "REJ",
            _hedged("not supported", "rej"),
        ),
        (ExpectedCode("4", condition="if honoured"),),
        note="fail if the app shows 6 digits / 30 s",
    ),
    MatrixRow(
        "M19",
        _short("&digits=10"),
        "max truncation (E19)",
        _cells("rej", "REJ", "REJ", "rej"),
        note="E: valid",
    ),
    MatrixRow(
        "M20",
        _short("&digits="),
        "empty value (E23)",
        _cells(
            _c("NC/rej (grammar)", "NC", "rej"),
            _c("REJ (ABNF)", "REJ"),
            _c("OK→6 (YSDK)", "OK"),
            "N/S",
        ),
        note="E: invalid",
    ),
    MatrixRow(
        "M21",
        _short("&period=60"),
        "60 s",
        _cells("OK", "OK", "OK", "OK"),
        (ExpectedCode("360094", at=1111111109),),
    ),
    MatrixRow(
        "M22",
        _short("&period=45"),
        "non-standard period",
        _cells("OK", "OK", _c("REJ (15/30/60 only)", "REJ"), "OK"),
        (ExpectedCode("974356", at=1111111109),),
    ),
    MatrixRow(
        "M23",
        _short("&period=0"),
        "zero (E17)",
        _cells(_c("NC (grammar passes, semantics undefined)", "NC"), "N/S", "REJ", "N/S"),
        note="E: invalid; the linter should flag an error",
    ),
    MatrixRow(
        "M24",
        _short("&period=-30"),
        "negative (E5)",
        _cells(_c("REJ (grammar)", "REJ"), _c("REJ (grammar)", "REJ"), "REJ", "N/S"),
        note="E: invalid",
    ),
    MatrixRow(
        "M25",
        _short("&period=1000000000"),
        "huge (E20)",
        _cells("OK", "OK", "REJ", "N/S"),
        note="E: valid",
    ),
    MatrixRow(
        "M26",
        f"otpauth://hotp/Example:alice?secret={SK}&counter=0&issuer=Example",
        "HOTP",
        _cells("OK", "OK", "OK", _c("n/a (totp only)", "n/a")),
        (ExpectedCode("755224"),),
        note="RFC 4226, counter 0",
    ),
    MatrixRow(
        "M27",
        f"otpauth://hotp/alice?secret={SK}&issuer=example.com",
        "HOTP without counter",
        _cells(_c("REJ (REQUIRED)", "REJ"), "REJ", "REJ", "n/a"),
    ),
    MatrixRow(
        "M28",
        f"otpauth://totp/alice?secret={SK}&counter=5&issuer=example.com",
        "counter on TOTP",
        _cells(_c("OK (MUST ignore)", "OK"), _c("OK (ignored)", "OK"), "OK", "N/S"),
        (_CODE,),
        note="not 254676",
    ),
    MatrixRow(
        "M29",
        f"otpauth://hotp/alice?secret={SK}&counter=1&period=60",
        "period on HOTP",
        _cells(_c("OK (MUST ignore)", "OK"), "OK", "OK", "n/a"),
        (_CODE,),
    ),
    MatrixRow(
        "M30",
        _short("&image=https%3A%2F%2Fexample.com%2Fl.png"),
        "unknown parameter",
        _cells(_c("OK (SHOULD ignore)", "OK"), _c("OK (MAY)", "OK"), "N/S", "N/S"),
        (_CODE,),
    ),
    MatrixRow(
        "M31",
        f"OTPAUTH://TOTP/alice?secret={SK}&issuer=example.com",
        "upper-case scheme and type",
        _cells(
            _c("OK* (SHOULD lowercase)", "OK*"),
            Cell("OK (ABNF semantics; intent UNVERIFIED)", ("OK",), "unverified"),
            _hedged("likely OK (.NET normalises case; inferred)", "OK"),
            "N/S",
        ),
        (_CODE,),
    ),
    MatrixRow(
        "M32",
        f"apple-otpauth://totp/Example:alice%40example.com?secret={SK}&issuer=example.com",
        "Apple scheme (E24)",
        _cells(
            _c("n/a → REJ as otpauth", "n/a", "REJ"),
            "REJ",
            _c("REJ (YSDK)", "REJ"),
            _c("OK", "OK"),
        ),
        (_CODE,),
        note="E: valid",
    ),
    MatrixRow(
        "M33",
        f"otpauth://steam/alice?secret={SK}",
        "unknown type",
        _cells(
            _c("REJ (A-3.2-1)", "REJ"),
            "REJ",
            _c("REJ per the docs; YSDK treats it as HOTP (inferred from code)", "REJ"),
            "REJ",
        ),
    ),
    MatrixRow(
        "M34",
        f"otpauth://totp/ACME Co:alice?secret={SK}",
        "raw space (not RFC 3986)",
        _cells("REJ", "REJ", "REJ", "N/S"),
        note="checks scanner and OS tolerance",
    ),
    MatrixRow(
        "M35",
        f"otpauth://totp/%E8%8E%8E%E5%A3%AB%E6%AF%94%E4%BA%9A?secret={SK}",
        "UTF-8 label (E10)",
        _cells("OK", "OK", _c("OK, 12 bytes ≤ 64", "OK"), "N/S"),
        note="E: valid",
    ),
    MatrixRow(
        "M35b",
        f"otpauth://totp/莎士比亚?secret={SK}",
        "raw UTF-8 label (E11)",
        _cells(
            _c("REJ, grammar", "REJ"),
            _c("REJ, VCHAR", "REJ"),
            _hedged("not URI-encoded", "REJ"),
            "N/S",
        ),
        note="E: valid",
        variant_of="M35",
    ),
    MatrixRow(
        "M36",
        "otpauth://totp/A-very-long-service-name-for-testing:someone.with.a.long.address%40"
        f"example.com?secret={SK}&period=60",
        "Yubico Name limit",
        _cells(
            "OK",
            "OK",
            _c("REJ: Name = 79 bytes > 64; YSDK also truncates the path at 64 chars", "REJ"),
            "OK",
        ),
    ),
    MatrixRow(
        "M37",
        f"otpauth://totp/AT%26T:alice?secret={SK}&issuer=AT%26T",
        "'&' in values",
        _cells("OK", "OK", "OK", "N/S"),
        note="issuer 'AT&T'",
    ),
    MatrixRow(
        "M37b",
        f"otpauth://totp/AT%26T:alice?secret={SK}&issuer=AT&T",
        "raw '&' in the issuer value",
        _cells(
            _c("REJ (A-3.1-7)", "REJ"),
            _hedged("breaks the query", "REJ"),
            _NO_VARIANT,
            _NO_VARIANT,
        ),
        variant_of="M37",
    ),
    MatrixRow(
        "M38",
        f"otpauth://totp/Some+Company:alice?secret={SK}&issuer=Microsoft",
        "'+' in the path, and prefix ≠ issuer",
        _cells(_c("OK; RFC 3986 decoding keeps 'Some+Company'", "OK"), "N/S", "OK*", "N/S"),
        note="form-decoders give 'Some Company' (interop check)",
    ),
    MatrixRow(
        "M39",
        f"otpauth://totp/alice?issuer=example.com&secret={SK}",
        "secret not first",
        _cells("OK", _c("OK (its own example does the same)", "OK"), "OK", "N/S"),
        (_CODE,),
    ),
    MatrixRow(
        "M40",
        f"otpauth://totp/alice?secret={SK}&issuer=",
        "empty issuer",
        _cells(
            _c("OK* (SHOULD include a stable ID)", "OK*"),
            "OK*",
            _c("OK (YSDK: null)", "OK"),
            "OK*",
        ),
        (_CODE,),
    ),
)

BY_ID: Final[dict[str, MatrixRow]] = {row.id: row for row in ROWS}


@dataclass(frozen=True)
class CellRef:
    """One (row, column) cell, for parametrised tests and reports."""

    row: MatrixRow
    column: Column
    cell: Cell = field(compare=False)

    @property
    def dialect(self) -> Dialect:
        return COLUMN_DIALECTS[self.column]

    @property
    def id(self) -> str:
        return f"{self.row.id}-{self.column}"


def iter_cells() -> list[CellRef]:
    """Every cell of the matrix, row by row, A L Y AP."""
    return [CellRef(row, col, row.cells[col]) for row in ROWS for col in COLUMN_DIALECTS]
