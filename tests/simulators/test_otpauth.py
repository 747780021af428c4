"""The otpauth Key URI format: parse, build, lint (checklist §2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.otpauth import (
    OtpauthError,
    build_uri,
    lint_uri,
    parse_uri,
)
from tests.vectors import SEED_BASE32, SEED_SHA1

WIKI_FULL = (
    "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
    "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
)
WIKI_SHORT = "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
GOOD_SECRET = SEED_BASE32["SHA1"]


def test_the_wikis_full_example_parses_and_lints_clean() -> None:
    uri = parse_uri(WIKI_FULL)
    assert (uri.type, uri.issuer, uri.account) == ("totp", "ACME Co", "john.doe@email.com")
    assert (uri.algorithm, uri.digits, uri.period) == ("SHA1", 6, 30)
    assert lint_uri(WIKI_FULL) == []


def test_the_wikis_short_example_has_an_80_bit_secret() -> None:
    assert parse_uri(WIKI_SHORT).key() == b"Hello!\xde\xad\xbe\xef"
    assert [(f.requirement, f.severity) for f in lint_uri(WIKI_SHORT)] == [("SEC-01", "error")]


def test_encoded_colon_and_spaces_before_the_account() -> None:
    uri = parse_uri(f"otpauth://totp/Big%20Corporation%3A%20alice%40bigco.com?secret={GOOD_SECRET}")
    assert (uri.label_issuer, uri.account) == ("Big Corporation", "alice@bigco.com")


def test_defaults_apply_when_parameters_are_absent() -> None:
    uri = parse_uri(f"otpauth://totp/alice?secret={GOOD_SECRET}")
    assert (uri.algorithm, uri.digits, uri.period, uri.counter, uri.issuer) == (
        "SHA1",
        6,
        30,
        None,
        None,
    )


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/x?secret=AAAA",
        "otpauth://foo/ACME:a?secret=AAAA",
        "otpauth://totp/",
        "not a uri",
    ],
)
def test_what_is_not_an_otpauth_uri_is_refused(text: str) -> None:
    with pytest.raises(OtpauthError):
        parse_uri(text)
    findings = lint_uri(text)
    assert [(f.requirement, f.severity) for f in findings] == [("URI-01", "error")]


def _defect(
    secret: str = GOOD_SECRET,
    label: str = "ACME:alice",
    tail: str = "&issuer=ACME",
    otp_type: str = "totp",
) -> str:
    return f"otpauth://{otp_type}/{label}?secret={secret}{tail}"


@pytest.mark.parametrize(
    ("defect", "uri", "requirement", "severity"),
    [
        (
            "padding present",
            _defect(secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA="),
            "URI-03",
            "warning",
        ),
        (
            "issuer prefix differs from issuer parameter",
            _defect(label="Bank:alice", tail="&issuer=Evil"),
            "URI-04",
            "warning",
        ),
        ("':' inside the account", _defect(label="ACME:al:ice"), "URI-02", "error"),
        (
            "':' inside the issuer",
            _defect(label="alice", tail="&issuer=https://acme"),
            "URI-02",
            "error",
        ),
        ("secret under 128 bits", _defect(secret="JBSWY3DPEHPK3PXP"), "SEC-01", "error"),
        (
            "secret shorter than the HMAC output",
            _defect(tail="&issuer=ACME&algorithm=SHA256"),
            "SEC-02",
            "warning",
        ),
        ("digits 5", _defect(tail="&issuer=ACME&digits=5"), "URI-06", "error"),
        ("digits 9", _defect(tail="&issuer=ACME&digits=9"), "URI-06", "error"),
        ("digits 7", _defect(tail="&issuer=ACME&digits=7"), "URI-06", "warning"),
        ("period over 120 s", _defect(tail="&issuer=ACME&period=300"), "WIN-08", "error"),
        ("missing secret", "otpauth://totp/ACME:alice?issuer=ACME", "URI-03", "error"),
        ("unknown algorithm", _defect(tail="&issuer=ACME&algorithm=MD5"), "URI-05", "error"),
        ("HOTP without counter", _defect(otp_type="hotp"), "URI-08", "error"),
        ("no issuer at all", _defect(label="alice", tail=""), "URI-04", "warning"),
        ("duplicate parameter", _defect(tail="&issuer=ACME&digits=6&digits=8"), "URI-01", "error"),
        ("not base32", _defect(secret="GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ"), "URI-03", "error"),
    ],
)
def test_each_defect_is_flagged_with_its_requirement(
    defect: str, uri: str, requirement: str, severity: str
) -> None:
    findings = lint_uri(uri)
    assert (requirement, severity) in [(f.requirement, f.severity) for f in findings], (
        defect,
        findings,
    )


def test_a_well_formed_sha256_uri_with_a_32_byte_secret_is_clean() -> None:
    assert (
        lint_uri(
            f"otpauth://totp/ACME:alice?secret={SEED_BASE32['SHA256']}&issuer=ACME&algorithm=SHA256"
        )
        == []
    )


def test_build_follows_the_wiki() -> None:
    uri = build_uri(SEED_SHA1, "john.doe@email.com", "ACME Co")
    assert uri == (
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
    )
    assert lint_uri(uri) == []
    hotp = build_uri(SEED_SHA1, "a", "B", otp_type="hotp", counter=5, include_defaults=False)
    assert hotp == "otpauth://hotp/B:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=B&counter=5"


@pytest.mark.parametrize(
    ("issuer", "account"), [("AC:ME", "alice"), ("ACME", "al:ice"), ("ACME", "")]
)
def test_build_refuses_what_the_label_cannot_carry(issuer: str, account: str) -> None:
    with pytest.raises(OtpauthError):
        build_uri(SEED_SHA1, account, issuer)


names = st.text(
    alphabet=st.characters(blacklist_characters=":", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
).filter(lambda s: s == s.lstrip(" "))


@given(
    issuer=names,
    account=names,
    key=st.binary(min_size=1, max_size=64),
    algorithm=st.sampled_from(["SHA1", "SHA256", "SHA512"]),
    digits=st.sampled_from([6, 7, 8]),
    period=st.integers(1, 120),
)
def test_build_then_parse_round_trips(
    issuer: str, account: str, key: bytes, algorithm: str, digits: int, period: int
) -> None:
    uri = parse_uri(
        build_uri(key, account, issuer, algorithm=algorithm, digits=digits, period=period)
    )
    assert (uri.issuer, uri.label_issuer, uri.account) == (issuer, issuer, account)
    assert (uri.key(), uri.algorithm, uri.digits, uri.period) == (key, algorithm, digits, period)
