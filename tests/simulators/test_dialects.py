"""The dialect linters rule by rule: every rule can fire, every rule can stay silent."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.dialects import (
    COLUMNS,
    DIALECTS,
    RULES,
    Dialect,
    lint_all,
    lint_dialect,
    read_raw,
    severity_of,
)
from simulators.uri_matrix import BY_ID, SK

#: rule id → a matrix row whose URI makes the rule fire.
FIRES: dict[str, str] = {
    "A-3.1-1": "M32", "A-3.1-3": "M31", "A-3.1-4": "M12", "A-3.1-5": "M24", "A-3.1-6": "M34",
    "A-3.1-7": "M37b", "A-3.1-9": "M05", "A-3.2-1": "M33", "A-3.3-1": "M04", "A-3.4-3": "M07",
    "A-3.4-5": "M08", "A-3.4.1-1": "M09", "A-3.4.1-2": "M10", "A-3.4.2-1": "M35",
    "A-3.4.2-2": "M40", "A-3.4.3-4": "M15", "A-3.4.4-2": "M17", "A-3.4.5-1": "M23",
    "A-3.4.6-1": "M27", "A-3.4.7-2": "M30", "A-4-4": "M03",
    "L-3-1": "M32", "L-3-2": "M34", "L-3.1-1": "M33", "L-3.2-1": "M06", "L-3.2-3": "M01",
    "L-3.3-1": "M08", "L-3.3-2": "M13", "L-3.3.1-1": "M07", "L-3.3.1-2": "M09",
    "L-3.3.2-1": "M15", "L-3.3.3-1": "M19", "L-3.3.4-1": "M27", "L-3.3.5-1": "M23",
    "L-3.3.6-1": "M40", "L-3.3.7-1": "M30",
    "Y-1": "M32", "Y-3": "M06", "Y-4": "M04", "Y-5": "M05", "Y-6": "M09", "Y-7": "M03",
    "Y-8": "M15", "Y-9": "M19", "Y-10": "M27", "Y-11": "M22", "YSDK-1": "M36", "YSDK-3": "M03",
    "YSDK-4": "M10",
    "AP-1": "M01", "AP-3": "M33", "AP-4": "M04", "AP-5": "M13", "AP-6": "M19", "AP-7": "M25",
    "AP-8": "M01", "AP-9": "M14", "AP-10": "M39",
    "G-1": "M06", "G-2": "M03", "G-3": "M09", "G-4": "M15",
}  # fmt: skip

#: A URI on which no rule of the dialect has anything to say.
CLEAN: dict[Dialect, str] = {
    "ietf-andesco": f"otpauth://totp/alice?secret={SK}&issuer=example.com",
    "ietf-linuxgemini": (
        f"otpauth://totp/alice?secret={SK}&issuer=example.com&algorithm=SHA1&digits=6&period=30"
    ),
    "yubico": f"otpauth://totp/Example:alice?secret={SK}&issuer=Example",
    "apple": (
        f"apple-otpauth://totp/Example:alice%40example.com?secret={SK}&digits=6&period=30"
        "&issuer=example.com"
    ),
    "google": f"otpauth://totp/Example:alice?secret={SK}&issuer=Example",
}


def test_every_rule_has_an_example_that_fires_it() -> None:
    assert set(FIRES) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_the_rule_can_fire(rule_id: str) -> None:
    rule = RULES[rule_id]
    verdict = lint_dialect(BY_ID[FIRES[rule_id]].uri, rule.dialect)
    assert rule_id in {f.rule.id for f in verdict.findings}


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_the_rule_can_stay_silent(rule_id: str) -> None:
    rule = RULES[rule_id]
    verdict = lint_dialect(CLEAN[rule.dialect], rule.dialect)
    assert rule_id not in {f.rule.id for f in verdict.findings}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_clean_uri_is_ok_with_no_findings(dialect: Dialect) -> None:
    verdict = lint_dialect(CLEAN[dialect], dialect)
    assert (verdict.verdict, verdict.findings) == ("OK", ())


def test_rule_ids_and_keywords_are_the_references() -> None:
    prefixes = {"A-", "L-", "Y-", "YSDK-", "AP-", "G-"}
    for rule_id, rule in RULES.items():
        assert any(rule_id.startswith(p) for p in prefixes)
        assert rule.keyword
        assert rule.sentence.endswith(".")
    assert RULES["A-3.4-5"].is_must
    assert RULES["A-3.1-4"].is_must
    assert not RULES["A-3.4.2-1"].is_must
    assert not RULES["AP-8"].is_must


def test_severity_follows_the_verdict_and_strict_mode() -> None:
    assert [severity_of(v, strict=False) for v in ("REJ", "rej", "NC", "OK*", "N/S", "n/a")] == [
        "error", "error", "warning", "warning", "note", "note",
    ]  # fmt: skip
    assert severity_of("NC", strict=True) == "error"
    assert severity_of("N/S", strict=True) == "note"


def test_the_verdict_is_the_worst_finding_and_n_a_wins() -> None:
    # M15: A 'rej' (unknown algorithm) outranks nothing else; AP is N/S (undocumented).
    verdicts = lint_all(BY_ID["M15"].uri)
    assert [v.verdict for v in verdicts.values()] == ["rej", "REJ", "REJ", "N/S", "rej"]
    assert list(verdicts) == list(COLUMNS)
    # An HOTP URI without a counter is REJ for A but out of Apple's scope altogether.
    assert lint_dialect(BY_ID["M27"].uri, "apple").verdict == "n/a"
    # N/S outranks OK*: M04's AP cell is N/S although "ACME Co" is not a domain (OK*).
    apple = lint_dialect(BY_ID["M04"].uri, "apple")
    assert {f.verdict for f in apple.findings} >= {"N/S", "OK*"}
    assert apple.verdict == "N/S"


def test_the_yubico_name_counts_utf8_bytes_with_the_period_prefix() -> None:
    [limit] = [
        f for f in lint_dialect(BY_ID["M36"].uri, "yubico").findings if f.rule.id == "YSDK-1"
    ]
    assert "79 bytes" in limit.message
    assert "YSDK-1" not in {f.rule.id for f in lint_dialect(BY_ID["M35"].uri, "yubico").findings}


def test_read_raw_keeps_the_uri_as_written() -> None:
    raw = read_raw(f"OTPAUTH://TOTP/ACME%20Co%3A%20alice?secret={SK}&issuer=AT&T#frag")
    assert raw is not None
    assert (raw.scheme, raw.type, raw.label, raw.fragment) == (
        "OTPAUTH", "TOTP", "ACME%20Co%3A%20alice", "frag",
    )  # fmt: skip
    assert (raw.prefix, raw.account) == ("ACME Co", "alice")
    assert raw.parts[-1] == ("T", None)
    assert raw.values("issuer") == ["AT"]
    assert read_raw("not a uri") is None
    assert lint_dialect("not a uri", "apple").verdict == "REJ"


def test_an_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        lint_dialect(CLEAN["google"], "microsoft")  # type: ignore[arg-type]


def test_a_reference_server_style_uri_breaks_only_documented_rules() -> None:
    uri = (
        "otpauth://totp/Remote%20Support:v5.agent%40example.com?secret=J6X3TYWEP672JA7U27XKWYKY74XH"
        "X2LO&issuer=Remote%20Support&algorithm=SHA1&digits=6&period=30"
    )
    verdicts = lint_all(uri)
    assert {d: v.verdict for d, v in verdicts.items()} == {
        "ietf-andesco": "OK",
        "ietf-linuxgemini": "OK",
        "yubico": "OK",
        "apple": "N/S",
        "google": "OK",
    }
    assert not any(v.errors for v in verdicts.values())
    assert [f.rule.id for f in verdicts["apple"].warnings] == ["AP-8"]


def test_docs_list_every_rule_the_linters_check() -> None:
    text = (Path(__file__).parents[2] / "docs" / "uri-dialects.md").read_text(encoding="utf-8")
    assert [rule_id for rule_id in RULES if f"`{rule_id}`" not in text] == []


@pytest.mark.parametrize("secret", ["A", "GEZDGNBVG", "AB%3DCD"])
def test_a_secret_that_cannot_encode_whole_bytes_is_rejected_everywhere(secret: str) -> None:
    uri = f"otpauth://totp/Example:alice?secret={secret}&issuer=example.com"
    assert {v.verdict for v in lint_all(uri).values()} == {"REJ"}


_LABEL_CHARS = st.sampled_from(["a", "Z", ":", "%3A", "%20", " ", "@", "+", "&", "%", "莎", "%E8"])
_PARAM = st.tuples(
    st.sampled_from(["secret", "issuer", "algorithm", "digits", "period", "counter", "image", ""]),
    st.one_of(st.none(), st.text(max_size=12), st.sampled_from([SK, "SHA256", "6", "0", "-1"])),
)
_URIS = st.builds(
    lambda scheme, otp_type, label, params, fragment: (
        f"{scheme}://{otp_type}/{''.join(label)}?"
        + "&".join(n if v is None else f"{n}={v}" for n, v in params)
        + fragment
    ),
    st.sampled_from(["otpauth", "OTPAUTH", "apple-otpauth", "https"]),
    st.sampled_from(["totp", "hotp", "TOTP", "steam", ""]),
    st.lists(_LABEL_CHARS, max_size=8),
    st.lists(_PARAM, max_size=6),
    st.sampled_from(["", "#x"]),
)


@given(st.one_of(st.text(), _URIS), st.booleans())
def test_any_text_gets_a_consistent_verdict_from_every_dialect(text: str, strict: bool) -> None:
    ranks = ["OK", "OK*", "N/S", "NC", "rej", "REJ"]
    for verdict in lint_all(text, strict).values():
        found = [f.verdict for f in verdict.findings]
        if "n/a" in found:
            assert verdict.verdict == "n/a"
        else:
            assert verdict.verdict == max(found, key=ranks.index, default="OK")
        for finding in verdict.findings:
            assert finding.rule.dialect == verdict.dialect
            assert finding.severity == severity_of(finding.verdict, strict=strict)
