"""The case matrix (covering, deterministic, RFC-exact), the verdicts and their diagnosis."""

from __future__ import annotations

import dataclasses

import pytest

from conformance.vendor.cases import (
    ALGORITHMS,
    ALL_CASES,
    DIGITS,
    PERIODS,
    PROVISIONINGS,
    SECRET_BITS,
    TIME_POINTS,
    URI_FORMS,
    Case,
    _generate,
    select_cases,
)
from conformance.vendor.runner import CaseResult
from conformance.vendor.summary import findings
from conformance.vendor.verdicts import diagnose, judge
from simulators.hotp import CodeGenerator
from simulators.otpauth import parse_uri
from tests.vectors import RFC6238_TOTP

#: The covering design's cases (the URI matrix rows are tested in test_dialect_family.py).
DESIGN = [c for c in ALL_CASES if c.family != "uri-dialects"]


def by_id(case_id: str) -> Case:
    return next(c for c in ALL_CASES if c.id == case_id)


def test_the_matrix_is_a_few_hundred_unique_deterministic_cases() -> None:
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))
    assert 100 <= len(ids) <= 400
    assert ids == [c.id for c in _generate()]
    assert ids[0] == "alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-std"


def test_every_value_of_every_dimension_appears() -> None:
    assert {c.algorithm for c in DESIGN} == set(ALGORITHMS)
    assert {c.digits for c in DESIGN} == set(DIGITS)
    assert {c.period for c in DESIGN} == set(PERIODS)
    assert {c.bits for c in DESIGN} == set(SECRET_BITS)
    assert {c.uri_form for c in DESIGN} - {"none"} == set(URI_FORMS)
    assert {c.provisioning for c in DESIGN} == set(PROVISIONINGS)
    assert {t for c in DESIGN for t in c.times} >= set(TIME_POINTS)
    combos = {(c.algorithm, c.digits, c.period) for c in DESIGN}
    assert len(combos) == 27
    for algorithm in ALGORITHMS:
        assert {t for c in DESIGN if c.algorithm == algorithm for t in c.times} >= set(TIME_POINTS)


def test_the_rfc_vector_cases_expect_rfc_6238_appendix_b() -> None:
    for case in select_cases(["rfc-vectors"]):
        table = {t: code for t, code, mode in RFC6238_TOTP if mode == case.algorithm}
        assert case.expected_codes == tuple(table[t] for t in case.times)


@pytest.mark.parametrize("case", DESIGN, ids=lambda c: c.id)
def test_each_uri_says_what_the_case_says(case: Case) -> None:
    uri = parse_uri(case.uri)
    assert uri.algorithm == case.algorithm
    assert uri.digits == case.digits
    assert uri.period == case.period
    assert uri.key() == case.secret
    assert ("=" in (uri.secret or "")) == (case.uri_form == "padded")
    if not case.scanned:
        typed = case.typed_key
        assert typed.replace(" ", "").upper() == case.secret_base32
        assert (" " in typed) == ("spaced" in case.provisioning)
        assert (typed != typed.upper()) == ("lower" in case.provisioning)


def test_select_cases_by_family_id_and_glob() -> None:
    assert {c.family for c in select_cases(["digits"])} == {"digits"}
    assert [c.id for c in select_cases([ALL_CASES[3].id])] == [ALL_CASES[3].id]
    assert {c.algorithm for c in select_cases(["alg-SHA512.*"])} == {"SHA512"}
    with pytest.raises(KeyError, match="matches no case"):
        select_cases(["nothing"])


def test_codes_computed_with_a_fallback_are_diagnosed() -> None:
    case = by_id("alg-SHA256.digits-8.period-60.bits-160.uri-plain.prov-uri.t-std")
    sha1_6_30 = CodeGenerator(case.secret, digits=6, algorithm="SHA1", period=30)
    judgement = judge(case, [sha1_6_30.code_at(t) for t in case.times])
    assert judgement.verdict == "silently_wrong"
    assert judgement.diagnosis is not None
    assert judgement.diagnosis.differences(case) == [
        ("algorithm", "SHA256", "SHA1"),
        ("digits", "8", "6"),
        ("period", "60", "30"),
    ]
    assert "SHA1 instead of SHA256, 6 digits instead of 8, a 30 s period instead of 60 s" in (
        judgement.reason
    )


def test_a_time_kept_in_32_bits_is_diagnosed() -> None:
    case = by_id("alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-20000000000")
    generator = CodeGenerator(case.secret)
    wrapped = [generator.code_at(t & 0xFFFFFFFF) for t in case.times]
    diagnosis = diagnose(case, wrapped)
    assert diagnosis.time_mode == "time32"
    assert diagnosis.algorithm == "SHA1"


def test_unexplained_and_unreadable_codes() -> None:
    case = ALL_CASES[0]
    assert judge(case, list(case.expected_codes)).verdict == "compatible"
    odd = judge(case, ["000000"] * len(case.times))
    assert odd.verdict == "silently_wrong"
    assert odd.diagnosis is not None
    assert not odd.diagnosis.explained
    assert "match no algorithm" in odd.reason
    assert judge(case, ["12 345", "1"]).verdict == "failed"


def test_findings_speak_plainly_about_a_silent_fallback() -> None:
    case = by_id("alg-SHA256.digits-6.period-30.bits-160.uri-plain.prov-uri.t-std")
    sha1 = CodeGenerator(case.secret)
    received = [sha1.code_at(t) for t in case.times]
    judgement = judge(case, received)
    result = CaseResult(
        case,
        judgement.verdict,
        judgement.reason,
        0.0,
        1.0,
        received=received,
        diagnosis=judgement.diagnosis,
    )
    (finding,) = findings([result])
    assert finding.severity == "error"
    assert finding.text == (
        "SHA256 accepted but codes computed with SHA1: servers issuing SHA256 secrets will lock "
        "these users out."
    )
    assert finding.cases == (case.id,)
    compatible = dataclasses.replace(result, verdict="compatible", reason="", diagnosis=None)
    (ok,) = findings([compatible])
    assert ok.severity == "info"


def test_a_signed_32_bit_time_is_diagnosed_as_the_year_2038_problem() -> None:
    case = by_id("alg-SHA1.digits-6.period-30.bits-160.uri-plain.prov-uri.t-2147483648")
    generator = CodeGenerator(case.secret)
    # What a C int does at 2^31: -2^31, a step of -71582788, two's complement in 8 bytes.
    received = [generator.code_for_counter(2**64 - 71582788)]
    judgement = judge(case, received)
    assert judgement.diagnosis is not None
    assert judgement.diagnosis.time_mode == "signed32"
    result = CaseResult(
        case,
        judgement.verdict,
        judgement.reason,
        0.0,
        1.0,
        received=received,
        diagnosis=judgement.diagnosis,
    )
    (finding,) = findings([result])
    assert finding.text == (
        "Codes wrong at 2147483648: the Unix time is kept in a signed 32-bit integer; these "
        "users will be locked out from January 2038."
    )
