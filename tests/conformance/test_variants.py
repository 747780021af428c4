"""``twofa run --variants``: each target at each TOTP parameter set its driver can be set
to, as a target of its own in every report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from conformance.cli import main
from conformance.drivers import parse_target
from conformance.drivers.reference import ReferenceDriver
from conformance.drivers.seam import TotpParameters
from conformance.variants import VariantError, expand, parse_variants
from tests.processes import twofa


def test_variants_are_all_or_a_list_of_algorithm_digits_period() -> None:
    assert parse_variants("all") is None
    assert parse_variants(" sha256-8-60, SHA1/6/30 ,SHA256-8-60") == [
        TotpParameters("SHA256", 8, 60),
        TotpParameters("SHA1", 6, 30),
    ]
    for bad in ("SHA3-6-30", "SHA1-6", "8-60", "", "SHA1-6-30;SHA256-8-60"):
        with pytest.raises(VariantError, match="give ALGORITHM-DIGITS-PERIOD"):
            parse_variants(bad)


def test_each_variant_is_a_target_with_a_policy_file_of_its_own(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"window": {"back": 2}, "totp": {"issuer": "Acme"}}))
    spec = parse_target("embedded")
    wanted = [TotpParameters("SHA512", 7, 60), TotpParameters("SHA1", 8, 30)]
    done = expand([spec], {spec.name: {"policy": str(mine)}}, wanted, tmp_path / "work")
    assert [s.name for s in done.specs] == ["embedded[SHA512-7-60]", "embedded[SHA1-8-30]"]
    policy = yaml.safe_load(Path(done.options["embedded[SHA512-7-60]"]["policy"]).read_text())
    # The team's own policy, with the variant's parameters over it.
    assert policy == {
        "window": {"back": 2},
        "totp": {"issuer": "Acme", "algorithm": "SHA512", "digits": 7, "period": 60},
    }
    assert done.notes == []


def test_all_is_every_variant_of_the_driver_and_a_target_without_any_runs_once(
    tmp_path: Path,
) -> None:
    embedded, remote = parse_target("embedded"), parse_target("http://127.0.0.1:9")
    options: dict[str, dict[str, str]] = {embedded.name: {}, remote.name: {}}
    done = expand([embedded, remote], options, None, tmp_path)
    assert len(done.specs) == len(ReferenceDriver.variants) + 1 == 19
    assert done.specs[-1] is remote
    assert done.notes == ["http://127.0.0.1:9 has no variants: it runs at its own parameters"]
    with pytest.raises(VariantError, match="cannot be set to other TOTP parameters"):
        expand([remote], options, [TotpParameters("SHA1", 6, 30)], tmp_path)
    with pytest.raises(VariantError, match=r"cannot be set to SHA1-6-90 \(its variants: SHA1-6"):
        expand([embedded], options, [TotpParameters("SHA1", 6, 90)], tmp_path)


def test_a_bad_variants_value_is_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", "--variants", "SHA256-8", "--plan", "algorithm"])
    assert done.value.code == 2
    assert "--variants 'SHA256-8': give ALGORITHM-DIGITS-PERIOD" in capsys.readouterr().err


def test_a_run_of_two_variants_reports_each_as_its_own_test_cases(tmp_path: Path) -> None:
    done = twofa(
        "run", "--variants", "SHA256-8-60,SHA1-7-30", "--plan", "algorithm",
        "--out", str(tmp_path / "out"), timeout=280,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    folder = tmp_path / "out" / "latest"
    records = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    names = ["embedded[SHA256-8-60]", "embedded[SHA1-7-30]"]
    assert [t["name"] for t in records[0]["targets"]] == names
    checks = [r for r in records if r["record"] == "check"]
    assert {r["target"] for r in checks} == set(names)
    assert {r["outcome"] for r in checks} == {"passed"}
    # Each variant really ran at its parameters: the target declared them, and its default
    # credential (checked against the declaration) provisioned and verified with them.
    declared = {}
    for r in checks:
        if r["id"] == "algorithm-provisioning-declares-parameters":
            step = next(s for s in r["steps"] if s["title"].startswith("The default credential"))
            totp = step["evidence"]["declared"]
            declared[r["target"]] = (totp["algorithm"], totp["digits"], totp["period"])
    assert declared == {
        "embedded[SHA256-8-60]": ("SHA256", 8, 60),
        "embedded[SHA1-7-30]": ("SHA1", 7, 30),
    }
    suites = ET.parse(folder / "junit.xml").getroot().findall("testsuite")  # noqa: S314
    assert sorted(s.get("name", "") for s in suites) == sorted(names)
    assert all(int(s.get("tests", "0")) == len(checks) // 2 for s in suites)
