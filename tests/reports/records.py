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
    "agents": [{"email": "v5@conformance.test", "password": "[redacted]", "role": "agent"}],
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
