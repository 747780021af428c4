"""The ``twofa`` command line: codes, URI lint, profiles, argument errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from tests.vectors import BEYOND_32_BIT_COUNTERS, RFC4226_HOTP, RFC6238_TOTP, rfc_uri

TWOFA = str(Path(sys.executable).with_name("twofa"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(("unix_time", "expected", "algorithm"), RFC6238_TOTP)
def test_rfc6238_vectors_through_twofa_code(
    capsys: pytest.CaptureFixture[str], unix_time: int, expected: str, algorithm: str
) -> None:
    assert run(capsys, "code", "--uri", rfc_uri(algorithm), "--at", str(unix_time)) == (
        0,
        f"{expected}\n",
        "",
    )


@pytest.mark.parametrize(("counter", "_hmac", "expected"), RFC4226_HOTP)
def test_rfc4226_vectors_through_twofa_code(
    capsys: pytest.CaptureFixture[str], counter: int, _hmac: str, expected: str
) -> None:
    uri = rfc_uri("SHA1", digits=6, otp_type="hotp", counter=counter)
    assert run(capsys, "code", "--uri", uri)[:2] == (0, f"{expected}\n")


@pytest.mark.parametrize(("counter", "six", "eight"), BEYOND_32_BIT_COUNTERS)
def test_beyond_32_bit_counters_through_twofa_code(
    capsys: pytest.CaptureFixture[str], counter: int, six: str, eight: str
) -> None:
    uri = rfc_uri("SHA1", digits=8, otp_type="hotp", counter=0)
    assert run(capsys, "code", "--uri", uri, "--counter", str(counter))[:2] == (0, f"{eight}\n")


def test_the_issue_example_through_the_installed_console_script() -> None:
    result = subprocess.run(
        [
            TWOFA,
            "code",
            "--uri",
            "otpauth://totp/RFC:sha1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8",
            "--at",
            "59",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TZ": "UTC"},
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "94287082\n", "")


def test_skew_and_drift_move_the_device_clock(capsys: pytest.CaptureFixture[str]) -> None:
    uri = rfc_uri("SHA1", digits=6)
    assert run(capsys, "code", "--uri", uri, "--at", "59", "--skew", "1")[1] == "359152\n"
    # 1e6 ppm doubles the elapsed time since the anchor: 30 + 30 s = step 2.
    assert (
        run(capsys, "code", "--uri", uri, "--at", "30", "--anchor", "0", "--drift-ppm", "1000000")[
            1
        ]
        == "359152\n"
    )


def test_a_profiles_quirk_shows_as_a_note_and_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "code",
        "--uri",
        rfc_uri("SHA256"),
        "--at",
        "59",
        "--profile",
        "google-authenticator-legacy",
        "--json",
    )
    payload = json.loads(out)
    assert status == 0
    assert payload["silently_defaulted"] is True
    assert (payload["algorithm"], payload["digits"]) == ("SHA1", 6)
    assert "algorithm SHA256 not honoured" in err


def test_a_refusing_profile_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "code",
        "--uri",
        rfc_uri("SHA256"),
        "--at",
        "59",
        "--profile",
        "yubico-authenticator",
    )
    assert (status, out) == (1, "")
    assert "refuses" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["code"], "Missing option '--uri'"),
        (["code", "--uri", "https://example.com"], "not an otpauth URI"),
        (["code", "--uri", rfc_uri("SHA1"), "--at", "soon"], "'--at'"),
        (["code", "--uri", rfc_uri("SHA1"), "--at", "-5"], "--at"),
        (["code", "--uri", rfc_uri("SHA1"), "--profile", "nokia"], "unknown profile"),
        (["code", "--uri", rfc_uri("SHA1", otp_type="hotp"), "--counter", "-1"], "8 bytes"),
        (["profiles", "nokia"], "unknown profile"),
        (["lint-uri"], "Missing argument"),
        (["frobnicate"], "No such command"),
    ],
)
def test_argument_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    status, out, err = run(capsys, *args)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("twofa: error: ")
    assert fragment in err


def test_lint_uri_passes_the_wiki_example(capsys: pytest.CaptureFixture[str]) -> None:
    uri = (
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
        "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
    )
    assert run(capsys, "lint-uri", uri) == (0, "ok: no findings\n", "")


def test_lint_uri_exits_1_on_errors_and_0_on_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "lint-uri", "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME"
    )
    assert status == 1
    assert "SEC-01" in out
    status, out, _ = run(
        capsys,
        "lint-uri",
        "--json",
        "otpauth://totp/Bank:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Evil",
    )
    assert status == 0
    assert json.loads(out) == [
        {"requirement": "URI-04", "severity": "warning", "message": json.loads(out)[0]["message"]}
    ]


def test_profiles_lists_every_profile_with_quirks(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "profiles")
    assert status == 0
    assert "google-authenticator-legacy" in out
    assert "refuses spaces in a typed key" in out
    assert "not claims about today's apps" in out
    status, out, _ = run(capsys, "profiles", "--json", "freeotp")
    [freeotp] = json.loads(out)
    assert any("':'" in quirk for quirk in freeotp["quirks"])


def test_profiles_show_their_sourced_uri_matrix_stances(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "profiles", "aegis")
    assert status == 0
    assert "URI matrix rows" in out
    m18 = next(line for line in out.splitlines() if "M18" in line)
    assert "honouring every parameter" in m18
    assert "UNVERIFIED" in m18
    status, out, _ = run(capsys, "profiles", "--json", "google-authenticator-legacy")
    [legacy] = json.loads(out)
    assert any("M18" in row and "defaults" in row for row in legacy["uri_matrix_rows"])
    status, out, _ = run(capsys, "profiles", "rfc-reference")
    assert "URI matrix rows" not in out
