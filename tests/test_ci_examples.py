"""The CI examples (``examples/ci/``) run as written: their shard and merge commands, with the
matrix filled in, against the embedded server, and the merged report says what one unsharded
run says (issue 15: 3 shards merged = one run, apart from provenance and times)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from reports import load_log, summarize
from tests.conftest import WHOLE_EMBEDDED_RUN
from tests.processes import TWOFA, run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "ci"


def _commands(node: Any) -> list[str]:
    """Every ``twofa ...`` command line of a CI file, in file order."""
    found: list[str] = []
    if isinstance(node, dict):
        for value in node.values():
            found += _commands(value)
    elif isinstance(node, list):
        for value in node:
            found += _commands(value)
    elif isinstance(node, str):
        found += [line.strip() for line in node.splitlines() if line.strip().startswith("twofa ")]
    return found


def github() -> tuple[list[str], list[str], list[str]]:
    """The workflow's targets, shards and ``twofa`` commands, in ``$TARGET``/``$SHARD`` terms."""
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    matrix = workflow["jobs"]["conformance"]["strategy"]["matrix"]
    commands = [
        c.replace("${{ matrix.target }}", "$TARGET").replace("${{ matrix.shard }}", "$SHARD")
        for c in _commands(workflow["jobs"])
    ]
    return [str(t) for t in matrix["target"]], [str(s) for s in matrix["shard"]], commands


def gitlab() -> tuple[list[str], list[str], list[str]]:
    pipeline = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8"))
    (matrix,) = pipeline["conformance"]["parallel"]["matrix"]
    return (
        [str(t) for t in matrix["TARGET"]],
        [str(s) for s in matrix["SHARD"]],
        _commands(pipeline),
    )


def test_both_ci_files_run_the_same_matrix_and_commands() -> None:
    assert github() == gitlab()
    _, shards, (run, merge) = github()
    assert shards == ["1", "2", "3"]
    assert re.search(rf"--shard \"\$SHARD/{len(shards)}\"", run), run
    assert merge.startswith("twofa report merge ")


def _twofa(command: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    for name, value in variables.items():
        command = command.replace(f"${name}", value)
    argv = shlex.split(command)
    assert argv[0] == "twofa"
    parts = [TWOFA, *argv[1:]]
    if any("*" in a for a in parts):  # the shell's glob, as the CI job's shell expands it
        parts = [p for a in parts for p in (sorted(map(str, cwd.glob(a))) if "*" in a else [a])]
    return run(parts, cwd=cwd, timeout=280)


def content(log_path: Path) -> dict[str, Any]:
    """What a report says, without provenance, times and per-run values (tokens, clock)."""
    log = load_log(log_path)
    summary = summarize(log)
    return {
        "targets": [t.name for t in log.targets],
        "plans": log.run.plans,
        "checks": [
            (
                log.target_of(c),
                c.id,
                c.plan,
                c.title,
                c.outcome,
                c.severity,
                c.requirements,
                c.reason,
                [(s.title, s.outcome, s.requirements) for s in c.steps],
            )
            for c in log.checks
        ],
        "counts": summary.counts,
        "verdict": summary.verdict,
        "by_plan": summary.by_plan,
        "by_requirement": summary.by_requirement,
        "unexpected": summary.unexpected,
        # What each target measured; "probes" counts the work of measuring, per part.
        "measured": {
            t.name: {k: v for k, v in (t.measured.measured or {}).items() if k != "probes"}
            for t in log.targets
            if t.measured is not None
        },
    }


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.xdist_group("whole-embedded-run")
def test_the_examples_shards_merged_say_what_one_unsharded_run_says(
    tmp_path: Path, whole_embedded_run: Path
) -> None:
    targets, shards, (run, merge) = github()
    parts = tmp_path / "report-job" / "parts"
    for target in targets:
        for shard in shards:
            job = tmp_path / f"job-{target}-{shard}"
            job.mkdir()
            done = _twofa(run, job, TARGET=target, SHARD=shard)
            assert done.returncode == 0, done.stdout + done.stderr
            # The artifact: the run's folder, as `cp -rL out/reports/latest/. part/` keeps it.
            shutil.copytree((job / "out/reports/latest").resolve(), parts / f"{target}-{shard}")
    merged = _twofa(merge, parts.parent)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert re.search(r"^PASSED: \d+ checks from 3 logs \(0 unexpected\)$", merged.stdout, re.M)
    folder = parts.parent / "merged"
    for name in ("results.jsonl", "report.json", "junit.xml", "summary.md", "index.html"):
        assert (folder / name).is_file(), name
    assert '"message": "' in (folder / "badge.json").read_text(encoding="utf-8")

    # The unsharded run of the same target: the one whole run the tests share.
    assert (
        " ".join(("twofa", *WHOLE_EMBEDDED_RUN))
        == f"twofa run --target {targets[0]} --out out/reports"
    )
    expected = content(whole_embedded_run / "results.jsonl")
    assert content(folder / "results.jsonl") == expected
    assert len(expected["checks"]) >= 40
    # Provenance: the merged run names its parts.
    run_record = load_log(folder / "results.jsonl").run
    assert [p["shard"]["index"] for p in run_record.merged_from] == [1, 2, 3]
    assert "merged from 3 logs" in (folder / "index.html").read_text(encoding="utf-8")
