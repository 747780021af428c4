"""The "URI dialects" family: every row of the reference URI matrix as a vendor case."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conformance.cli import main
from conformance.vendor.adapters import ProfileAdapter
from conformance.vendor.cases import ALL_CASES, FAMILIES, select_cases
from conformance.vendor.declared import declared_verdict, derived_dialect_verdict
from conformance.vendor.dialect_cases import FAMILY, MATRIX_GROUP, DialectCase
from conformance.vendor.runner import run_cases
from conformance.vendor.summary import findings
from simulators.profiles import PROFILES
from simulators.uri_matrix import BY_ID, ROWS

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())
#: Rows whose URI defines no code: a consumer can only refuse them.
NO_CODE = ("M07", "M07b", "M08", "M08b", "M12", "M15", "M15b", "M23", "M24", "M27", "M33")


def family() -> dict[str, DialectCase]:
    cases = select_cases([FAMILY])
    assert all(isinstance(c, DialectCase) for c in cases)
    return {c.row_id: c for c in cases if isinstance(c, DialectCase)}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(["check-authenticator", *args])
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, _ = capsys.readouterr()
    return status, out


def test_the_family_has_every_row_and_variant_of_the_matrix_in_the_default_run() -> None:
    assert FAMILY in FAMILIES
    assert list(family()) == [row.id for row in ROWS]
    assert len(ROWS) >= 40
    default = {c.id for c in select_cases()}
    assert {f"dialect-{row.id}" for row in ROWS} <= default
    assert [c.id for c in select_cases(["dialect-M18"])] == ["dialect-M18"]
    assert {c.row_id for c in select_cases(["dialect-M14*"]) if isinstance(c, DialectCase)} == {
        "M14",
        "M14b",
    }
    for case in family().values():
        assert case.uri == BY_ID[case.row_id].uri
        assert case.scanned
        assert case.family == FAMILY


def test_expected_codes_are_the_codes_the_matrix_states() -> None:
    cases = family()
    stated = 0
    for row in ROWS:
        case = cases[row.id]
        for expected in row.codes:
            assert case.defines_code, row.id
            assert case.expected_codes[case.times.index(expected.at)] == expected.code, row.id
            stated += 1
    assert stated >= 25
    assert cases["M18"].expected_codes == ("4",)  # 1 digit, 120 s: "4 if honoured"
    assert cases["M26"].expected_codes == ("755224",)  # HOTP, counter 0
    assert cases["M29"].expected_codes == ("287082",)  # HOTP counter 1, period ignored
    assert cases["M28"].expected_codes == ("287082",)  # counter ignored on TOTP, not 254676


def test_rows_without_a_defined_code_expect_a_refusal_and_name_their_rules() -> None:
    cases = family()
    undefined = {row_id for row_id, c in cases.items() if not c.defines_code}
    assert undefined == set(NO_CODE)
    for row_id in NO_CODE:
        assert cases[row_id].refusal_conforms, row_id
    assert any("A-3.4-3" in cell for cell in cases["M07"].reject_cells)
    # Every dialect that speaks accepts M01 and M13: refusing them is an ordinary refusal.
    assert not cases["M01"].refusal_conforms
    assert not cases["M13"].refusal_conforms
    # Apple has no HOTP (n/a): a TOTP-only app may refuse M26.
    assert cases["M26"].refusal_conforms
    assert cases["M26"].allow_cells == ("AP: n/a (totp only)",)


def test_a_profile_that_silently_defaults_digits_and_period_is_worst_for_m18() -> None:
    legacy = PROFILES["google-authenticator-legacy"]
    stance = legacy.dialect_stance("M18")
    assert stance is not None
    assert stance.behaviour == "default"
    run_ = run_cases(ProfileAdapter(legacy.name), select_cases(["dialect-M18"]))
    [result] = run_.results
    assert result.verdict == "silently_wrong"
    assert result.received == ["287082"]
    assert result.diagnosis is not None
    assert (result.diagnosis.digits, result.diagnosis.period) == (6, 30)
    assert run_.findings[0].text == (
        "URI matrix M18 (Eden E0-style): a 1-digit, 120 s URI is imported as 6 digits / 30 s: "
        "users get codes the server never accepts."
    )


@pytest.mark.parametrize(
    ("profile", "verdict", "outcome"),
    [
        ("rfc-reference", "refused", "passed"),  # digits 6-8 only (RFC 4226 §5.3): refuses
        ("aegis", "compatible", "passed"),  # Eden: shows the 1-digit, 120 s code
        ("microsoft-authenticator", "silently_wrong", "failed"),
        ("authy", "refused", "passed"),
    ],
)
def test_m18_per_profile_follows_its_declared_digits_support(
    profile: str, verdict: str, outcome: str
) -> None:
    [result] = run_cases(ProfileAdapter(profile), select_cases(["dialect-M18"])).results
    assert (result.verdict, result.outcome) == (verdict, outcome)
    assert declared_verdict(PROFILES[profile], result.case) == verdict
    honours_one = PROFILES[profile].digits.honours(1)
    assert (verdict == "compatible") == honours_one
    if verdict == "compatible":
        assert result.received == ["4"]


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_sourced_stance_agrees_with_the_profiles_general_rules(name: str) -> None:
    # The device has no per-row logic: a stance holds only if the general rules give it.
    profile = PROFILES[name]
    cases = family()
    for stance in profile.dialect_stances:
        case = cases[stance.row]
        assert declared_verdict(profile, case) == derived_dialect_verdict(profile, case), stance.row
        assert str(stance.source), stance.row
        if "Eden" in str(stance.source):
            assert "UNVERIFIED" in stance.describe()
        if stance.behaviour != "honour":
            assert stance.describe() in profile.quirks


def test_importing_a_row_that_must_be_refused_is_silently_wrong_and_says_which_rule() -> None:
    run_ = run_cases(ProfileAdapter("google-authenticator-legacy"), select_cases(["dialect-M15b"]))
    [result] = run_.results
    assert result.verdict == "silently_wrong"
    assert "A-3.4.3-4" in result.reason
    assert "must be refused" in run_.findings[0].text
    assert "A-3.4.3-4" in run_.findings[0].text


def test_refusing_a_row_every_dialect_accepts_is_an_ordinary_refusal() -> None:
    run_ = run_cases(ProfileAdapter("yubico-authenticator"), select_cases(["dialect-M14"]))
    [result] = run_.results
    assert (result.verdict, result.outcome, result.unexpected) == ("refused", "failed", True)
    [finding, *_] = run_.findings
    assert finding.severity == "warning"
    assert "every dialect that speaks accepts it" in finding.text


def test_a_dialect_refusal_that_is_allowed_passes_and_is_counted_as_information() -> None:
    run_ = run_cases(ProfileAdapter("rfc-reference"), select_cases(["dialect-M07", "dialect-M01"]))
    assert [(r.verdict, r.outcome) for r in run_.results] == [
        ("compatible", "passed"),
        ("refused", "passed"),
    ]
    assert run_.exit_status == 0
    texts = [f.text for f in findings(run_.results)]
    assert any("1 URI matrix row(s) refused, as a dialect allows" in t for t in texts)


def test_the_report_lists_the_silently_defaulted_rows_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out = run(
        capsys,
        "--profile",
        "google-authenticator-legacy",
        *("--cases", "dialect-M01", "--cases", "dialect-M07", "--cases", "dialect-M18"),
        "--out",
        str(tmp_path),
    )
    assert status == 1
    folder = (tmp_path / "latest").resolve()
    assert "a 1-digit, 120 s URI is imported as 6 digits / 30 s" in out
    # summary.md: the group's table, M18 (silently wrong) first although it ran last.
    summary = (folder / "summary.md").read_text()
    table = summary[summary.index(f"### {MATRIX_GROUP}") :]
    rows = re.findall(r"^\| `(M\d+b?)` \| .*? \| (.*?) \| (.*?) \|$", table, re.M)
    assert rows == [
        ("M18", "\u2717 silently wrong", "failed"),
        ("M07", "\u2298 refused", "passed"),
        ("M01", "\u2713", "passed"),
    ]
    # index.html: the same order in the group's table, and the finding above it.
    html = (folder / "index.html").read_text()
    group = html[html.index(f">{MATRIX_GROUP}</h2>") :]
    assert re.findall(r"<th scope='row'><a href='#[^']+'>(M\d+b?)</a>", group)[:3] == [
        "M18",
        "M07",
        "M01",
    ]
    assert html.index("a 1-digit, 120 s URI is imported as 6 digits / 30 s") < html.index(
        f">{MATRIX_GROUP}</h2>"
    )
    # The main parameter matrix does not carry the rows.
    assert "<h2 id='matrix'>" not in html
    document = json.loads((folder / "report.json").read_text())
    jsonschema.validate(document, SCHEMA)
    cells = [m for check in document["extra"]["checks"] for m in check["matrix"]]
    assert {m["group"] for m in cells} == {MATRIX_GROUP}
    junit = ET.fromstring((folder / "junit.xml").read_text())  # noqa: S314 - our own report
    failing = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failing == ["dialect-M18"]


def test_the_command_template_route_shows_an_hotp_accounts_counter_code() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulators.vendor_process",
            "--profile",
            "rfc-reference",
            "--once",
            "--uri",
            BY_ID["M26"].uri,
            "--time",
            "1111111109",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "755224"


def test_every_case_of_the_matrix_is_deterministic_and_unique() -> None:
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))
    assert ids[-len(ROWS) :] == [f"dialect-{row.id}" for row in ROWS]
