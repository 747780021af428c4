"""The whole suite against the reference server set to parameters other than the Key Uri
Format's defaults: every check still passes. Run with SHA512, 8 digits, 60 s, it found four
faults of the harness and the server that only the defaults had hidden: step edges taken as
30 s apart, no trial of the target's own parameters, a wizard walked with an app the
parameters are reported to break, and a connect page that showed a non-default key without
the settings to type beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.processes import twofa


def twofa_run(tmp_path: Path, totp: dict[str, object], *plans: str) -> list[dict[str, object]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"totp": totp}), encoding="utf-8")
    args = [a for p in plans for a in ("--plan", p)]
    done = twofa("run", "--policy", str(policy), "--out", str(tmp_path / "out"), *args, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    log = tmp_path / "out" / "latest" / "results.jsonl"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_every_check_passes_at_sha512_8_digits_60_seconds(tmp_path: Path) -> None:
    records = twofa_run(tmp_path, {"algorithm": "SHA512", "digits": 8, "period": 60})
    checks = [r for r in records if r["record"] == "check"]
    assert len(checks) >= 40
    assert {r["outcome"] for r in checks} == {"passed"}
    assert records[0]["variant"] == {"algorithm": "SHA512", "digits": 8, "period": 60}
    mobile = next(r for r in checks if r["id"] == "wizard-mobile-key-enrollment")
    typed = next(s for s in mobile["steps"] if s["title"].startswith("Type the key"))
    # The page's settings were read and typed, with the app that can take them.
    assert typed["evidence"]["settings"] == {"algorithm": "SHA512", "digits": 8, "period": 60}
    assert typed["evidence"]["app"] == "rfc-reference"
    assert "reported not to honour" in typed["evidence"]["why"]


@pytest.mark.slow
def test_the_algorithm_and_wizard_plans_pass_at_sha256_7_digits_45_seconds(tmp_path: Path) -> None:
    records = twofa_run(
        tmp_path, {"algorithm": "SHA256", "digits": 7, "period": 45}, "algorithm", "wizard"
    )
    checks = [r for r in records if r["record"] == "check"]
    assert {r["outcome"] for r in checks} == {"passed"}
    controlled = next(
        r for r in checks if r["id"] == "algorithm-codes-accepted-at-controlled-times"
    )
    first, last = (s["evidence"]["server_time"] for s in controlled["steps"][1:3])
    assert (first % 45, last - first) == (0, 89)  # two steps apart, in the target's period
