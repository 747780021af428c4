"""Builders for small result logs (docs/result-log.md), written to a temporary folder."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

T0 = 1_795_000_000.0
HOSTILE = "<script>alert(1)</script>"
RUN_ID = "20261118T110640Z-4f2a9c"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
POLICY = {"totp": {"algorithm": "SHA1", "digits": 6, "period": 30}, "window": {"back": 1}}
SEED = {
    "agents": [{"email": "v5@conformance.test", "password": "<redacted>", "role": "agent"}],
    "two_factor_required": True,
}


def run_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "record": "run",
        "format": 1,
        "run_id": RUN_ID,
        "tool": "twofa-harness",
        "tool_version": "0.1.0",
        "git_commit": COMMIT,
        "git_dirty": False,
        "command": "run",
        "started_at": T0,
        "target": {"kind": "embedded", "url": "http://127.0.0.1:43121", "harness": True},
        "policy": POLICY,
        "seed": SEED,
        "plans": ["algorithm", "window", "replay"],
        "variant": {"algorithm": "SHA1", "digits": 6, "period": 30},
        "expectations_file": "expected-failures.yaml",
    }
    record.update(overrides)
    return record


def step(n: int = 1, outcome: str = "passed", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "n": n,
        "title": f"Step {n}",
        "requirements": ["RPL-01"],
        "outcome": outcome,
        "message": f"step {n} {outcome}",
        "on_failure": "stop",
        "evidence": {},
    }
    record.update(overrides)
    return record


def check_record(check_id: str, plan: str, outcome: str, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "record": "check",
        "id": check_id,
        "title": f"Title of {check_id}",
        "plan": plan,
        "requirements": ["RPL-01"],
        "severity": "error",
        "outcome": outcome,
        "reason": "" if outcome == "passed" else f"reason for {check_id}",
        "expected": None,
        "started_at": T0 + 1,
        "duration_ms": 250.0,
        "steps": [step(1, _step_outcome(outcome))],
        "attachments": [],
        "charts": [],
    }
    record.update(overrides)
    return record


def _step_outcome(outcome: str) -> str:
    return "skipped" if outcome == "not_applicable" else outcome


def end_record(checks: list[dict[str, Any]], unexpected: list[str]) -> dict[str, Any]:
    counts = dict.fromkeys(("passed", "failed", "warning", "skipped", "not_applicable", "error"), 0)
    for c in checks:
        counts[c["outcome"]] += 1
    return {
        "record": "end",
        "finished_at": T0 + 42,
        "counts": counts,
        "unexpected": unexpected,
        "exit_status": 1 if unexpected else 0,
    }


def write_log(folder: Path, records: list[dict[str, Any]], name: str = "results.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def png_bytes(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, format="PNG")
    return buffer.getvalue()


WINDOW_CHART = {
    "kind": "window",
    "title": "Measured acceptance window",
    "data": {
        "offsets": [-2, -1, 0, 1, 2],
        "accepted": [False, True, True, True, True],
        "declared": {"back": 1, "forward": 1},
    },
}


def mixed_checks() -> list[dict[str, Any]]:
    """One check of every kind the renderers must tell apart."""
    hostile_http = {
        "method": "POST",
        "url": "/api/v1/auth/otp",
        "status": 200,
        "request": {"code": "287082"},
        "response": {"next": "done", "note": HOSTILE},
        "headers": {"X-Evil": HOSTILE},
    }
    return [
        check_record("alg-pass", "algorithm", "passed", requirements=["ALG-01", "ALG-02"]),
        check_record(
            "alg-warn", "algorithm", "warning", severity="warning", requirements=["WIN-08"]
        ),
        check_record("alg-na", "algorithm", "not_applicable", requirements=["ALG-09"]),
        check_record(
            "window-fail",
            "window",
            "failed",
            requirements=["WIN-02"],
            steps=[
                step(1, "passed", requirements=["WIN-02"]),
                step(2, "failed", requirements=["WIN-04"], message="step +2 accepted"),
            ],
            charts=[WINDOW_CHART],
        ),
        check_record("window-skip", "window", "skipped", requirements=["WIN-05"]),
        check_record(
            "replay-expected-fail",
            "replay",
            "failed",
            expected={"outcome": "failed", "comment": "known bug #42"},
            steps=[step(1, "failed", evidence={"code": "287082", "http": hostile_http})],
            attachments=[
                {"kind": "screenshot", "title": "QR code", "path": "evidence/qr.png"},
                {"kind": "screenshot", "title": "Gone", "path": "evidence/gone.png"},
            ],
        ),
        check_record(
            "replay-expected-fail-but-passed",
            "replay",
            "passed",
            expected={"outcome": "failed", "comment": "guard not shipped yet"},
        ),
        check_record("replay-error", "replay", "error", requirements=["RPL-03"]),
    ]


MIXED_UNEXPECTED = ["window-fail", "replay-expected-fail-but-passed", "replay-error"]


def mixed_log(folder: Path, complete: bool = True) -> Path:
    """A log with ``mixed_checks`` and a PNG attachment at evidence/qr.png."""
    (folder / "evidence").mkdir(exist_ok=True)
    (folder / "evidence" / "qr.png").write_bytes(png_bytes())
    checks = mixed_checks()
    records = [run_record(), *checks]
    if complete:
        records.append(end_record(checks, MIXED_UNEXPECTED))
    return write_log(folder, records)


# -- several targets (docs/result-log.md: target and measured records) -------------------

#: The reference server's declared policy, shortened (the shape of /__harness__/policy).
REFERENCE_DECLARED: dict[str, Any] = {
    "window": {"back": 1, "forward": 1},
    "replay": "monotonic_step",
    "throttle": {"max_failures": 5, "lock_seconds": 300},
    "drift": {"tracking": True, "max_steps": 2},
    "totp": {"algorithm": "SHA1", "digits": 6, "period": 30},
}
#: What a run measured of the reference server (copied from a real run).
REFERENCE_MEASURED: dict[str, Any] = {
    "real_time": False,
    "window": {
        "back": 1,
        "forward": 1,
        "phases": [0, 1, 15, 29],
        "accepted_by_phase": {"0": [-1, 0, 1], "1": [-1, 0, 1], "15": [-1, 0, 1], "29": [-1, 0, 1]},
        "contiguous": True,
        "period": 30,
    },
    "replay": {
        "same_code": "refused",
        "older_step_after_newer": "refused",
        "parallel_accepted": [1, 1, 1, 1, 1],
        "parallel_submissions": 10,
    },
    "throttle": {"locks_after": 5, "lock_seconds": 300, "budget": 100},
    "drift": {"tracking": True, "bounded_steps": 3, "direction": "ahead", "budget_steps": 21},
    "supported": {"algorithm": ["SHA1"], "digits": [6], "period": [30]},
    "probes": {"credentials": 102, "submissions": 369, "real_time_retries": 0},
}
#: privacyIDEA as a peer declares it (timeWindow=60: two steps each way) ...
PEER_DECLARED: dict[str, Any] = {
    "window": {"back": 2, "forward": 2},
    "replay": "monotonic_step",
    "throttle": {"max_failures": 10, "lock_seconds": "permanent", "kind": "lockout"},
    "drift": {"tracking": False, "max_steps": None},
    "totp": {"algorithm": "SHA1", "digits": 6, "period": 30},
}
#: ... and what was measured of it: a wider window late in a step, the same code twice accepted.
PEER_MEASURED: dict[str, Any] = {
    "real_time": False,
    "window": {
        "back": 3,
        "forward": 2,
        "phases": [0, 1, 15, 29],
        "accepted_by_phase": {
            "0": [-2, -1, 0, 1, 2],
            "1": [-2, -1, 0, 1, 2],
            "15": [-2, -1, 0, 1, 2],
            "29": [-3, -2, -1, 0, 1, 2],
        },
        "contiguous": True,
        "period": 30,
    },
    "replay": {
        "same_code": "accepted",
        "older_step_after_newer": "refused",
        "parallel_accepted": [3, 1, 2, 1, 1],
        "parallel_submissions": 10,
    },
    "throttle": {"locks_after": 10, "lock_seconds": "permanent", "budget": 100},
    "drift": {"tracking": False, "bounded_steps": 2, "direction": "ahead", "budget_steps": 22},
    "supported": {"algorithm": ["SHA1", "SHA256", "SHA512"], "digits": [6, 8], "period": [30, 60]},
    "probes": {"credentials": 80, "submissions": 300, "real_time_retries": 0},
}
PEER_SOURCES = {
    "window": "https://privacyidea.readthedocs.io/en/latest/tokens/tokentypes/totp.html: "
    "timeWindow seconds each way",
    "replay": "https://privacyidea.readthedocs.io/en/latest/glossary.html: the counter analogy",
    "throttle.max_failures": "[option] max_failcount",
}
#: A real-time target: one row of phases ("real time"), nothing that needs the clock.
REAL_TIME_MEASURED: dict[str, Any] = {
    "real_time": True,
    "window": {
        "back": 1,
        "forward": 0,
        "phases": "real time",
        "accepted_by_phase": {"real time": [-1, 0]},
        "contiguous": True,
        "period": 30,
    },
    "replay": {"same_code": "refused", "older_step_after_newer": "refused"},
    "throttle": {"locks_after": None, "lock_seconds": None, "budget": 20},
    "probes": {"credentials": 9, "submissions": 40, "real_time_retries": 1},
}
REAL_TIME_DECLARED: dict[str, Any] = {
    "window": {"back": 1, "forward": 1},
    "replay": "same_code",
    "throttle": {"max_failures": None, "lock_seconds": None, "kind": "none"},
    "drift": {"tracking": True, "max_steps": None},
    "totp": {"algorithm": "SHA1", "digits": 6, "period": 30},
}


def embedded_description() -> dict[str, Any]:
    return {
        "kind": "embedded",
        "url": "http://127.0.0.1:43121",
        "harness": True,
        "name": "embedded",
        "title": "twofa-harness reference server (v1 contract)",
        "capabilities": ["clock", "declared_policy", "flow", "verifier"],
        "options": {},
        "clock": "/__harness__/clock",
    }


def peer_description() -> dict[str, Any]:
    return {
        "name": "privacyidea",
        "title": "privacyIDEA 3.14 (TOTP tokens: /token/init, /validate/check)",
        "kind": "peer",
        "url": "http://127.0.0.1:5001",
        "capabilities": ["clock", "declared_policy", "verifier"],
        "options": {"timeWindow": 60},
        "clock": "moved by the harness",
    }


def real_time_description() -> dict[str, Any]:
    return {
        "name": "pam-oath+http://203.0.113.7:8080",
        "title": "pam_oath (Debian libpam-oath, OATH Toolkit 2.6.7)",
        "kind": "remote",
        "url": "http://203.0.113.7:8080",
        "capabilities": ["declared_policy", "verifier"],
        "options": {"window": 1},
        "clock": "real time",
    }


def target_record(description: dict[str, Any]) -> dict[str, Any]:
    return {"record": "target", **description}


def failed_target_record(name: str, error: str) -> dict[str, Any]:
    return {"record": "target", "name": name, "started": False, "error": error}


def measured_record(
    target: str,
    measured: dict[str, Any] | None,
    declared: dict[str, Any] | None,
    sources: dict[str, str] | None = None,
    real_time: bool = False,
) -> dict[str, Any]:
    return {
        "record": "measured",
        "target": target,
        "real_time": real_time,
        "declared": declared,
        "sources": sources if sources is not None else {"*": "GET /__harness__/policy"},
        "measured": measured,
    }


def multi_run_record(names: list[str], **overrides: Any) -> dict[str, Any]:
    """A run record of several targets: ``target`` is the first one's description."""
    return run_record(
        target=embedded_description(),
        targets=[{"name": n} for n in names],
        policy=REFERENCE_DECLARED,
        plans=["window", "replay"],
        **overrides,
    )


def target_checks(target: str, outcomes: dict[str, str]) -> list[dict[str, Any]]:
    """One check record per id, against ``target`` (plan: the id's first word)."""
    return [
        check_record(check_id, check_id.split("-")[0], outcome, target=target)
        for check_id, outcome in outcomes.items()
    ]


#: Outcomes per target in ``multi_target_log``: the peer fails two checks.
EMBEDDED_OUTCOMES = {
    "window-measured-matches-declared": "passed",
    "replay-same-code-twice": "passed",
}
PEER_OUTCOMES = {"window-measured-matches-declared": "failed", "replay-same-code-twice": "failed"}
FAILED_TO_START = "pam-oath"
START_ERROR = "harness error: the target could not be started: pamtester is not installed"
MULTI_UNEXPECTED = [
    "privacyidea::window-measured-matches-declared",
    "privacyidea::replay-same-code-twice",
    "pam-oath::window-measured-matches-declared",
    "pam-oath::replay-same-code-twice",
]


def multi_target_records(complete: bool = True) -> list[dict[str, Any]]:
    """embedded (all pass), privacyidea (two failures, a measured record that differs from
    its declaration) and a pam-oath that could not be started (its checks are errors)."""
    names = ["embedded", "privacyidea", FAILED_TO_START]
    embedded = target_checks("embedded", EMBEDDED_OUTCOMES)
    peer = target_checks("privacyidea", PEER_OUTCOMES)
    peer[0]["charts"] = [WINDOW_CHART]
    broken = [
        check_record(c, c.split("-")[0], "error", target=FAILED_TO_START, reason=START_ERROR)
        for c in EMBEDDED_OUTCOMES
    ]
    records = [
        multi_run_record(names),
        target_record(embedded_description()),
        *embedded,
        measured_record("embedded", REFERENCE_MEASURED, REFERENCE_DECLARED),
        target_record(peer_description()),
        *peer,
        measured_record("privacyidea", PEER_MEASURED, PEER_DECLARED, PEER_SOURCES),
        failed_target_record(FAILED_TO_START, START_ERROR),
        *broken,
    ]
    if complete:
        records.append(end_record([*embedded, *peer, *broken], MULTI_UNEXPECTED))
    return records


def multi_target_log(folder: Path, complete: bool = True) -> Path:
    return write_log(folder, multi_target_records(complete))
