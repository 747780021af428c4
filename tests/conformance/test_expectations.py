"""One expectations reader (``conformance/expectations.py``) for ``twofa run`` and
``check-authenticator``: the same checks and words where the files agree, each
dialect's own where they differ."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.expectations import (
    Expectation,
    ExpectationsError,
    expectation_for,
    load_expectations,
    load_vendor_expectations,
)

CASES = ["alg-SHA512-8-30", "alg-SHA512-6-60", "uri-M01"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expected.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("check: [", r"line \d+: not valid YAML"),
        ("{check: x}", "expected a list of entries"),
        ("- 3", "entry 1: expected a mapping with"),
        ("- {outcome: failed, comment: c}", "entry 1: needs a 'check'"),
        ("- {check: uri-M01, colour: red, comment: c}", "unknown field 'colour'"),
        ("- {check: uri-M01}", r"entry 1 \(uri-M01\): needs a comment"),
        (
            "- {check: uri-M01, comment: a}\n- {check: uri-M01, comment: b}",
            r"entry 2 \(uri-M01\): listed twice \(first in entry 1\)",
        ),
        ("- {check: uri-M01, outcome: exploded, comment: c}", "unknown outcome 'exploded'"),
    ],
)
def test_both_files_are_read_and_refused_alike(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ExpectationsError, match=message):
        load_expectations(path, known_checks=CASES)
    with pytest.raises(ExpectationsError, match=message):
        load_vendor_expectations(path, CASES)


def test_a_run_s_entries_name_checks_and_may_narrow_to_a_target(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- {check: uri-M01, outcome: [passed, failed], comment: a race, target: pam-oath}\n"
        "- {check: uri-M01, comment: everywhere else}\n",
    )
    found = load_expectations(path, known_checks=CASES)
    narrow = expectation_for(found, "pam-oath", "uri-M01")
    assert narrow == Expectation("uri-M01", "passed", "a race", "pam-oath", ("passed", "failed"))
    general = expectation_for(found, "embedded", "uri-M01")
    assert general is not None
    assert general.accepted == ("failed",)
    with pytest.raises(ExpectationsError, match="no such check"):
        load_expectations(write(tmp_path, "- {check: alg-*, comment: c}"), known_checks=CASES)


def test_a_vendor_s_entries_may_be_globs_and_name_a_verdict(tmp_path: Path) -> None:
    path = write(tmp_path, "- {check: 'alg-SHA512-*', verdict: refused, comment: no SHA-512}")
    expectations = load_vendor_expectations(path, CASES)
    entry = expectations("alg-SHA512-6-60")
    assert entry is not None
    assert (entry.outcome, entry.verdict) == ("failed", "refused")
    assert entry.matches("refused", "failed")
    assert not entry.matches("silently_wrong", "failed")
    assert expectations("uri-M01") is None
    with pytest.raises(ExpectationsError, match="matches no case of this run"):
        load_vendor_expectations(write(tmp_path, "- {check: 'totp-*', comment: c}"), CASES)
    with pytest.raises(ExpectationsError, match="verdict refused means outcome failed"):
        load_vendor_expectations(
            write(tmp_path, "- {check: uri-M01, verdict: refused, outcome: passed, comment: c}"),
            CASES,
        )
    with pytest.raises(ExpectationsError, match="unknown field 'target'"):
        load_vendor_expectations(
            write(tmp_path, "- {check: uri-M01, target: x, comment: c}"), CASES
        )
