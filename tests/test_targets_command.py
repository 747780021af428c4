"""``twofa targets`` and what ``twofa run`` says of a target it cannot use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.drivers import SHIPPED

ROOT = Path(__file__).parents[1]
TWOFA = str(Path(sys.executable).with_name("twofa"))


def twofa(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TWOFA, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TZ": "UTC", **env},
    )


def test_targets_lists_every_driver_with_its_capabilities_and_options() -> None:
    done = twofa("targets", "--json")
    assert done.returncode == 0, done.stderr
    listed = {entry["name"]: entry for entry in json.loads(done.stdout)}
    assert list(listed) == list(SHIPPED)
    assert listed["embedded"]["capabilities"] == ["clock", "declared_policy", "flow", "verifier"]
    assert listed["pam-oath"]["capabilities"] == ["clock", "declared_policy", "verifier"]
    assert listed["privacyidea"]["real_time"] is True
    assert listed["pam-oath"]["real_time"] is False
    names = {o["name"] for o in listed["pam-google-authenticator"]["options"]}
    assert {"window_size", "disallow_reuse", "rate_limit", "step_size"} <= names
    assert {o["name"] for o in listed["privacyidea"]["options"]} >= {"timeWindow", "timeStep"}
    assert {o["name"] for o in listed["django-otp"]["options"]} >= {"tolerance"}
    assert "SECURITY_TWO_FACTOR_AUTHENTICATOR_VALIDITY" in {
        o["name"] for o in listed["flask-security"]["options"]
    }


def test_a_peer_that_is_not_installed_says_so_and_names_the_remedy(tmp_path: Path) -> None:
    absent = str(tmp_path / "no-peers-here")
    listing = twofa("targets", TWOFA_PEERS_HOME=absent)
    assert listing.returncode == 0
    assert "django-otp" in listing.stdout
    assert "NOT INSTALLED" in listing.stdout
    assert "make peers" in listing.stdout
    done = twofa(
        "run", "--target", "django-otp", "--out", str(tmp_path / "out"), TWOFA_PEERS_HOME=absent
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "target 'django-otp'" in done.stderr
    assert "make peers" in done.stderr
    assert not (tmp_path / "out").exists()


def test_list_shows_what_each_check_needs() -> None:
    done = twofa("run", "--list")
    assert done.returncode == 0
    lines = {line.split()[1]: line for line in done.stdout.splitlines()}
    assert "verifier" in lines["replay-same-code-twice"]
    assert "flow" not in lines["replay-same-code-twice"]
    assert "flow" in lines["sessions-partial-token-cannot-host"]
    assert "clock" in lines["throttling-lock-released-after-lock-time"]
