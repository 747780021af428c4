"""``twofa interop``: a cell's verdict and the side it blames, on real processes.

A server whose URI omits ``period`` while it verifies 60 s codes (a driver in this
folder, around the example service) and an app that ignores ``period`` (a JSON-lines
program in this folder) each turn the right cells silently wrong, and the finding
blames the right side: the server in the first case, the app in the second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.drivers.faketime import libfaketime
from conformance.drivers.seam import Answer, TotpParameters, Verdict
from conformance.interop.judge import Probe, Stated, judge_codes, judge_refusal
from simulators.hotp import CodeGenerator
from simulators.otpauth import build_uri
from tests.processes import TWOFA, twofa

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
HONEST = ROOT / "examples" / "totp_service_driver.py"
OMITTING = HERE / "period_omitting_driver.py"
BLIND_APP = f"{sys.executable} {HERE / 'period_blind_app.py'}"
KEY = b"12345678901234567890"
T = 2_000_000_003

needs_faketime = pytest.mark.skipif(
    libfaketime() is None and not os.environ.get("CI"), reason="libfaketime: run 'make peers'"
)


def _code(parameters: TotpParameters, at: float) -> str:
    p = parameters
    return CodeGenerator(KEY, digits=p.digits, algorithm=p.algorithm, period=p.period).code_at(at)


def _probe(stated: Stated, real: TotpParameters, app_code: str, accepted: bool) -> Probe:
    answer = Answer(Verdict.ACCEPTED if accepted else Verdict.INVALID, "")
    return Probe(
        "same time", 0, 0, T, app_code, stated.generator().code_at(T), _code(real, T), answer
    )


def test_a_uri_without_period_for_60_s_codes_blames_the_server() -> None:
    real = TotpParameters("SHA1", 6, 60)
    stated = Stated.of(build_uri(KEY, "alice", "Example", include_defaults=False))
    assert stated.period == 30
    assert "period" in stated.omitted
    # The app follows the URI (30 s); the server verifies 60 s and refuses.
    probe = _probe(stated, real, _code(TotpParameters("SHA1", 6, 30), T), accepted=False)
    judgement = judge_codes([probe], stated, real, {"back": 1, "forward": 1})
    assert judgement.verdict == "silently_wrong"
    assert judgement.side == "server"
    assert judgement.finding == (
        "the server's URI omits `period` although it verifies 60 s codes: every app that "
        "follows the Key Uri Format computes 30 s codes"
    )
    assert judgement.requirements == ("URI-07",)


def test_an_app_ignoring_digits_is_blamed() -> None:
    real = TotpParameters("SHA1", 8, 30)
    stated = Stated.of(build_uri(KEY, "alice", "Example", digits=8))
    probe = _probe(stated, real, _code(TotpParameters("SHA1", 6, 30), T), accepted=False)
    judgement = judge_codes([probe], stated, real, {})
    assert judgement.verdict == "silently_wrong"
    assert judgement.side == "app"
    assert judgement.findings == ("the app ignores `digits=8` (its codes are 6-digit)",)


def test_a_refused_window_edge_blames_the_server() -> None:
    real = TotpParameters()
    stated = Stated.of(build_uri(KEY, "alice", "Example"))
    same = _probe(stated, real, _code(real, T), accepted=True)
    ahead = Probe(
        "device ahead",
        60,
        2,
        T,
        _code(real, T + 60),
        _code(real, T + 60),
        _code(real, T + 60),
        Answer(Verdict.INVALID, "wrong otp value"),
    )
    judgement = judge_codes([same, ahead], stated, real, {"back": 2, "forward": 2})
    assert (judgement.verdict, judgement.side) == ("silently_wrong", "server")
    assert "declares a window of 2 step(s) forward" in judgement.finding


def test_a_refusal_of_a_valid_uri_blames_the_app_of_a_broken_one_the_server() -> None:
    good = build_uri(KEY, "alice", "Example", algorithm="SHA512")
    assert judge_refusal("unsupported_algorithm", Stated.of(good), good).side == "app"
    broken = "otpauth://totp/Example:alice?secret=GEZDGNBV&algorithm=MD5"
    assert judge_refusal("invalid_uri", None, broken).side == "server"


def _interop(tmp_path: Path, *args: str) -> tuple[Any, list[dict[str, Any]]]:
    done = twofa("interop", *args, "--out", str(tmp_path), cwd=ROOT)
    log = tmp_path / "latest" / "results.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return done, [json.loads(line) for line in lines]


def _cells(records: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (c["variant"]["server"], c["variant"]["parameters"], c["variant"]["app"]): c
        for c in records
        if c["record"] == "check"
    }


@needs_faketime
def test_the_broken_server_and_the_broken_app_turn_the_right_cells_silently_wrong(
    tmp_path: Path,
) -> None:
    done, records = _interop(
        tmp_path,
        "--servers",
        f"{HONEST},{OMITTING}",
        "--apps",
        "profile:rfc-reference",
        "--jsonl",
        BLIND_APP,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    cells = _cells(records)
    honest, omitting = "totp-service", "totp-service-omitting-period"
    blind = next(a for _, _, a in cells if a.startswith("jsonl:"))
    verdict = {key: (c["variant"]["verdict"], c["variant"]["fault"]) for key, c in cells.items()}
    # At 30 s everything works, whoever omits what.
    for server in (honest, omitting):
        for app in ("profile:rfc-reference", blind):
            assert verdict[(server, "SHA1-6-30", app)] == ("works", None)
    # The honest server says period=60: the app that ignores it is at fault.
    assert verdict[(honest, "SHA1-6-60", "profile:rfc-reference")] == ("works", None)
    assert verdict[(honest, "SHA1-6-60", blind)] == ("silently_wrong", "app")
    # The server that omits period at 60 s is at fault for every app, the blind one too.
    assert verdict[(omitting, "SHA1-6-60", "profile:rfc-reference")] == ("silently_wrong", "server")
    assert verdict[(omitting, "SHA1-6-60", blind)] == ("silently_wrong", "server")
    # No other cell of the honest server with the reference app fails.
    assert {v for (s, _, a), v in verdict.items() if s == honest and a != blind} == {
        ("works", None)
    }
    findings = [r["text"] for r in records if r["record"] == "finding"]
    server_finding = next(f for f in findings if f.startswith(omitting))
    assert "omits `period` although it verifies 60 s codes" in server_finding
    assert "(the server is at fault" in server_finding
    app_finding = next(f for f in findings if f.startswith(blind))
    assert "ignores `period=60` (its codes are 30 s)" in app_finding
    assert "(the app is at fault" in app_finding
    # The summary lists every silently wrong pair; the report has the matrices.
    wrong = [k for k, v in verdict.items() if v[0] == "silently_wrong"]
    for server, parameters, app in wrong:
        assert f"{server} {parameters} x {app}" in done.stdout
    page = (tmp_path / "latest" / "index.html").read_text()
    assert "interop-matrix" in page
    # No secret of a URI reaches the log: the evidence's URIs are redacted.
    evidence = [s["evidence"] for c in cells.values() for s in c["steps"] if "uri" in s["evidence"]]
    assert evidence
    assert all("secret=<redacted>" in e["uri"] for e in evidence)


MISBEHAVING = ROOT / "tests" / "vendor" / "fixtures" / "misbehaving_vendor.py"


@needs_faketime
def test_an_app_whose_clock_stops_or_wraps_is_found_after_2106_and_named(
    tmp_path: Path,
) -> None:
    clamping = f"{sys.executable} {MISBEHAVING} uint32-clamp"
    wrapping = f"{sys.executable} {MISBEHAVING} int32-time"
    done, records = _interop(
        tmp_path,
        "--servers",
        str(HONEST),
        "--apps",
        "profile:rfc-reference",
        "--jsonl",
        clamping,
        "--jsonl",
        wrapping,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    cells = _cells(records)
    apps = sorted({a for _, _, a in cells if a.startswith("jsonl:")})
    clamp_app = next(a for a in apps if "uint32-clamp" in a)
    wrap_app = next(a for a in apps if "int32-time" in a)
    verdict = {key: (c["variant"]["verdict"], c["variant"]["fault"]) for key, c in cells.items()}
    # Until 2106 both apps are right: only the far-future probe of the default set tells.
    assert verdict[("totp-service", "SHA1-6-60", clamp_app)] == ("works", None)
    assert verdict[("totp-service", "SHA1-6-30", "profile:rfc-reference")] == ("works", None)
    for app, words in (
        (clamp_app, "a clock that stops at 2^32 - 1 (2106-02-07 06:28:15 UTC)"),
        (wrap_app, "the Unix time kept in a signed 32-bit integer"),
    ):
        cell = cells[("totp-service", "SHA1-6-30", app)]
        assert verdict[("totp-service", "SHA1-6-30", app)] == ("silently_wrong", "app")
        assert f"the app computes its codes with {words}" in cell["reason"], cell["reason"]
        assert "ALG-08" in cell["requirements"]
    # The reference app was asked after 2106 too, and the server accepted its code there.
    steps = [
        s["title"] for s in cells[("totp-service", "SHA1-6-30", "profile:rfc-reference")]["steps"]
    ]
    assert any("after 2^32 - 1 s" in title for title in steps), steps


def test_unknown_names_are_a_clear_error_listing_the_names(tmp_path: Path) -> None:
    done, _ = _interop(tmp_path, "--servers", "pam-foo")
    assert done.returncode == 2
    assert "unknown server 'pam-foo': give one of embedded, privacyidea" in done.stderr
    done, _ = _interop(tmp_path, "--servers", "embedded", "--apps", "nope")
    assert done.returncode == 2
    assert "unknown app 'nope': give one of oathtool" in done.stderr
    assert "profile:authy" in done.stderr


def test_a_server_restarts_per_variant_only_when_its_configuration_fixes_what_it_issues() -> None:
    from conformance.drivers import parse_target
    from conformance.interop.engine import Server, plan_jobs

    servers = [Server(n, parse_target(n)) for n in ("embedded", "privacyidea", "django-otp")]
    jobs = plan_jobs(servers, chunks=2)
    by_server: dict[str, list[Any]] = {}
    for job in jobs:
        by_server.setdefault(job.server.name, []).append(job)
    # The reference server's policy fixes its parameters: one start per variant.
    assert len(by_server["embedded"]) == 18
    assert all(job.variant is not None for job in by_server["embedded"])
    # privacyIDEA's tokens and django-otp's devices each take their own: two starts, every set.
    for name in ("privacyidea", "django-otp"):
        assert [job.variant for job in by_server[name]] == [None, None]
        assert sum(len(job.sets) for job in by_server[name]) == 18


def test_a_named_server_or_app_not_installed_is_one_line_and_exit_2(tmp_path: Path) -> None:
    absent = {**os.environ, "TZ": "UTC", "TWOFA_PEERS_HOME": str(tmp_path / "no-peers")}
    for names, line in (
        (["--servers", "django-otp"], "twofa: error: server 'django-otp': django-otp is not"),
        (["--servers", "embedded", "--apps", "profile:rfc-reference,pyotp"], "app 'pyotp'"),
    ):
        done = subprocess.run(
            [TWOFA, "interop", *names, "--out", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=60, env=absent, check=False,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert line in done.stderr
        assert "run 'make peers'" in done.stderr
        assert not (tmp_path / "out").exists()
