"""The 2106 diagnosis: a clock that stops at the largest unsigned 32-bit time is named as such.

Beside the signed 32-bit wrap (January 2038), an app whose time conversion
saturates at 2^32 - 1 shows, from 2106-02-07 06:28:15 UTC on, the code of that
second forever. A deliberately broken vendor program does it (the fixture's
``uint32-clamp``); KeePassXC 2.7.4 does it for real (Qt's ``toTime_t``); a
correct implementation never gets the finding.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from conformance.vendor.adapters import JsonLinesAdapter, ProfileAdapter, VendorAdapter
from conformance.vendor.cases import ALL_CASES, Case, select_cases
from conformance.vendor.registry import adapter_entry
from conformance.vendor.runner import VendorRun, run_cases
from conformance.vendor.verdicts import UINT32_MAX_TIME, judge
from simulators.hotp import CodeGenerator

FIXTURE = Path(__file__).parent / "fixtures" / "misbehaving_vendor.py"
CLAMP_WORDS = "the clock stops at 2^32 - 1 (2106-02-07 06:28:15 UTC)"


def by_id(case_id: str) -> Case:
    return next(c for c in ALL_CASES if c.id == case_id)


def clamp_findings(run: VendorRun) -> list[str]:
    return [f.text for f in run.findings if CLAMP_WORDS in f.text]


def test_codes_of_a_clock_stopped_at_2_to_the_32_are_diagnosed() -> None:
    case = by_id("alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-std")
    generator = CodeGenerator(case.secret)
    received = [generator.code_at(min(t, UINT32_MAX_TIME)) for t in case.times]
    judgement = judge(case, received)
    assert judgement.verdict == "silently_wrong"
    assert judgement.wrong_at == (1,)  # 59 is right; the year 2603 is not
    assert judgement.diagnosis is not None
    assert judgement.diagnosis.time_mode == "clamp32"
    assert judgement.diagnosis.algorithm == "SHA1"
    assert "a clock that stops at 2^32 - 1" in judgement.reason
    # A wrap to 32 bits is a different fault, and stays named as one.
    wrapped = [generator.code_at(t & 0xFFFFFFFF) for t in case.times]
    wrapped_judgement = judge(case, wrapped)
    assert wrapped_judgement.diagnosis is not None
    assert wrapped_judgement.diagnosis.time_mode == "time32"


def _run(adapter: VendorAdapter, *families: str) -> VendorRun:
    return run_cases(adapter, select_cases(families), timeout=20)


def test_a_vendor_program_whose_clock_clamps_gets_the_2106_finding() -> None:
    adapter = JsonLinesAdapter([sys.executable, str(FIXTURE), "uint32-clamp"])
    run = _run(adapter, "baseline", "time")
    (text,) = clamp_findings(run)
    assert text == (
        f"Codes wrong at 20000000000: {CLAMP_WORDS}, every later code is that second's; "
        "these users will be locked out from February 2106."
    )
    wrong = {r.case.id for r in run.results if r.verdict == "silently_wrong"}
    # Only a time past 2^32 - 1 in another time step shows it: 2^32 is in the same step.
    assert wrong == {
        "alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-std",
        "alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-20000000000",
    }


def test_a_correct_implementation_does_not_get_the_2106_finding() -> None:
    run = _run(ProfileAdapter("rfc-reference"), "baseline", "time")
    assert clamp_findings(run) == []
    assert {r.verdict for r in run.results} == {"compatible"}


def test_keepassxc_stops_its_clock_at_2106_for_real() -> None:
    entry = adapter_entry("keepassxc")
    missing = entry.missing()
    if missing is not None:
        pytest.skip(missing)
    started = time.monotonic()
    run = _run(entry.build(), "baseline")
    (text,) = clamp_findings(run)
    assert text.startswith("Codes wrong at 20000000000: ")
    assert time.monotonic() - started < 20


def test_the_broken_fixture_is_found_through_the_command_line(tmp_path: Path) -> None:
    from tests.processes import twofa

    done = twofa(
        "check-authenticator",
        "--jsonl",
        f"{shlex.quote(sys.executable)} {shlex.quote(str(FIXTURE))} uint32-clamp",
        "--cases",
        "baseline",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 1, done.stderr
    assert CLAMP_WORDS in done.stdout


def test_an_hotp_uri_read_as_totp_is_said_in_words() -> None:
    # KeePassXC shows the TOTP code for the URI matrix's HOTP row (M26): the diagnosis
    # finds the URI's own parameters, and must still say what differs.
    case = by_id("dialect-M26")
    totp = CodeGenerator(case.secret, digits=case.digits, period=case.period)
    judgement = judge(case, [totp.code_at(t) for t in case.times])
    assert judgement.verdict == "silently_wrong"
    assert judgement.reason.endswith(
        "codes computed as TOTP from the time, not from the HOTP URI's counter"
    )
