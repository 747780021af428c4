"""The reference URI matrix (otpauth-dialects.md §4) through ``twofa lint-uri`` and ``twofa code``.

Every verdict cell of every row (and variant) is checked against the output of
``twofa lint-uri --dialect all --json``. A cell the table hedges or marks
UNVERIFIED is not asserted: the test skips with the table's words and what the
linter says. A cell where this harness reads the rules differently
(``Cell.reading``) asserts that reading and skips saying so.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli import cli, main
from simulators.uri_matrix import ROWS, CellRef, ExpectedCode, MatrixRow, iter_cells

CELLS = iter_cells()


@cache
def lint_all_json(uri: str) -> tuple[int, dict[str, Any]]:
    """``twofa lint-uri --dialect all --json URI``: exit status and the parsed output."""
    result = CliRunner().invoke(cli, ["lint-uri", "--dialect", "all", "--json", uri])
    return result.exit_code, json.loads(result.stdout)


def test_the_matrix_has_its_forty_rows_and_the_named_variants() -> None:
    main_rows = [row.id for row in ROWS if row.variant_of is None]
    assert main_rows == [f"M{n:02}" for n in range(1, 41)]
    assert sorted(row.id for row in ROWS if row.variant_of) == [
        "M07b", "M08b", "M09b", "M14b", "M15b", "M35b", "M37b",
    ]  # fmt: skip
    assert len(CELLS) == 4 * len(ROWS)


@pytest.mark.parametrize("ref", CELLS, ids=[ref.id for ref in CELLS])
def test_verdict_cell(ref: CellRef) -> None:
    _, out = lint_all_json(ref.row.uri)
    entry = out["dialects"][ref.dialect]
    assert entry["column"] == ref.column
    got = entry["verdict"]
    cell = ref.cell
    rules = ", ".join(f"{f['rule']} {f['verdict']}" for f in entry["findings"]) or "no findings"
    if cell.status == "absent":
        pytest.skip(f"{ref.id}: the table gives no verdict for this variant; the linter says {got}")
    if cell.status in ("hedged", "unverified"):
        agrees = "agrees" if got in cell.verdicts else "differs"
        pytest.skip(
            f"{ref.id}: table cell {cell.status} ({cell.text!r}), not asserted; "
            f"the linter says {got} ({agrees}; {rules})"
        )
    if cell.reading is not None:
        assert got == cell.reading, (ref.id, cell.text, got, rules)
        pytest.skip(f"{ref.id}: the table says {cell.text!r}; this harness reads {got}: {cell.why}")
    assert got in cell.verdicts, f"{ref.id}: table {cell.text!r}, linter {got} ({rules})"


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_exit_status_is_1_exactly_when_a_dialect_has_an_error(row: MatrixRow) -> None:
    status, out = lint_all_json(row.uri)
    errors = [
        f["rule"]
        for entry in out["dialects"].values()
        for f in entry["findings"]
        if f["severity"] == "error"
    ]
    assert status == (1 if errors else 0), errors
    assert out["columns"] == ["A", "L", "Y", "AP", "G"]
    for entry in out["dialects"].values():
        for finding in entry["findings"]:
            assert all(finding[key] for key in ("rule", "keyword", "message")), finding


def test_strict_mode_turns_nc_into_errors() -> None:
    padded = next(row for row in ROWS if row.id == "M09").uri
    runner = CliRunner()
    lenient = runner.invoke(cli, ["lint-uri", "--dialect", "ietf-andesco", "--json", padded])
    strict = runner.invoke(
        cli, ["lint-uri", "--dialect", "ietf-andesco", "--strict", "--json", padded]
    )
    [lenient_finding] = json.loads(lenient.stdout)["dialects"]["ietf-andesco"]["findings"]
    [strict_finding] = json.loads(strict.stdout)["dialects"]["ietf-andesco"]["findings"]
    assert (lenient.exit_code, lenient_finding["severity"]) == (0, "warning")
    assert (strict.exit_code, strict_finding["severity"]) == (1, "error")
    assert lenient_finding["rule"] == strict_finding["rule"] == "A-3.4.1-1"
    assert lenient_finding["verdict"] == "NC"


CODES = [(row, code) for row in ROWS for code in row.codes]

#: twofa code reads otpauth:// only (simulators.otpauth.parse_uri); the row's code is
#: checked on the same URI with the otpauth scheme, which AP-1 calls identical.
SCHEME_SUBSTITUTED = {"M32": ("apple-otpauth://", "otpauth://")}


@pytest.mark.parametrize(
    ("row", "expected"), CODES, ids=[f"{row.id}-T{code.at}" for row, code in CODES]
)
def test_expected_code_through_twofa_code(row: MatrixRow, expected: ExpectedCode) -> None:
    uri = row.uri
    if row.id in SCHEME_SUBSTITUTED:
        refused = CliRunner().invoke(cli, ["code", "--uri", uri, "--at", str(expected.at)])
        assert refused.exit_code == 2
        assert "not an otpauth URI" in refused.stderr
        uri = uri.replace(*SCHEME_SUBSTITUTED[row.id])
    result = CliRunner().invoke(
        cli, ["code", "--uri", uri, "--at", str(expected.at), "--profile", "rfc-reference"]
    )
    if expected.condition is not None and result.exit_code == 1:
        # The table gives this code only "if accepted": refusing is a correct outcome,
        # showing another code would not be.
        assert "refuses this URI" in result.stderr
        pytest.skip(
            f"{row.id}: code {expected.code} is conditional ({expected.condition}); the "
            f"rfc-reference profile refuses the URI: {result.stderr.strip()}"
        )
    assert (result.exit_code, result.stdout.strip()) == (0, expected.code), result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["lint-uri", "--dialect", "microsoft", "otpauth://totp/a?secret=A"], "--dialect"),
        (["lint-uri", "--strict", "otpauth://totp/a?secret=A"], "--strict applies to --dialect"),
        (["lint-uri", "--dialect", "all"], "Missing argument"),
    ],
)
def test_argument_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    assert (exited.value.code, out) == (2, "")
    assert err.startswith("twofa: error: ")
    assert err.count("\n") == 1
    assert fragment in err


def test_without_dialect_the_generic_lint_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    uri = next(row for row in ROWS if row.id == "M13").uri  # an 80-bit secret
    with pytest.raises(SystemExit) as exited:
        main(["lint-uri", uri])
    out, _ = capsys.readouterr()
    assert exited.value.code == 1
    assert "ERROR   SEC-01  The secret is 80 bits" in out.splitlines()[-1]


def test_one_dialect_prints_its_verdict_and_rule_lines() -> None:
    uri = next(row for row in ROWS if row.id == "M22").uri  # period=45
    result = CliRunner().invoke(cli, ["lint-uri", "--dialect", "yubico", uri])
    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines[0] == "Y yubico: REJ"
    assert any(line.split()[:4] == ["Y", "ERROR", "REJ", "Y-11"] for line in lines)
    table = CliRunner().invoke(cli, ["lint-uri", "--dialect", "all", uri]).stdout.splitlines()
    assert table[:2] == [
        "dialect   A     L     Y     AP    G",
        "verdict   OK    OK    REJ   OK    OK",
    ]
