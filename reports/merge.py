"""``twofa report merge``: the result logs of shards and of different targets as one log.

CI spreads a run over machines (``twofa run --shard I/N``, one job per target or
part); each job writes a result log, and this joins them into one, from which every
report is rendered as for a single run: the target x check matrix, each target's
measured-vs-declared table, the counts and the verdict. The parts' records are kept
as they were written (they were redacted then); what is new is the run record, which
says where every part came from (``merged_from``), the measured records of a target
that several parts ran (their measurements joined) and the end record, whose counts
and unexpected results are counted again from the checks.

A merge is refused, with one line naming the logs, when the parts were written by
different harness versions (their checks may differ), when a part is not a complete
log (an interrupted run), or when two parts ran the same check on the same target.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from records import Outcome, model
from reports.log import ResultLogError, RunLog, load_log
from reports.summary import is_unexpected


class MergeError(ValueError):
    """Logs that cannot be merged: one line saying which and why."""


@dataclass
class _Part:
    path: Path
    log: RunLog
    records: list[dict[str, Any]]

    @property
    def run(self) -> dict[str, Any]:
        return self.records[0]

    def harness(self) -> str:
        run = self.log.run
        commit = run.git_commit or "no git commit"
        dirty = " with uncommitted changes" if run.git_dirty else ""
        return f"{run.tool} {run.tool_version} ({commit}{dirty})"


@dataclass
class _TargetParts:
    """Everything the parts logged about one target, in the order the parts were given."""

    described: dict[str, Any] | None = None
    listed: dict[str, Any] | None = None
    checks: list[tuple[dict[str, Any], Path]] = field(default_factory=list)
    measured: list[dict[str, Any]] = field(default_factory=list)


def _read(path: Path) -> _Part:
    try:
        log = load_log(path)
    except ResultLogError as exc:
        raise MergeError(f"cannot merge {exc}") from None
    if log.end is None:
        raise MergeError(
            f"cannot merge {path}: the run did not finish (no end record); run that part again"
        )
    records = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return _Part(path, log, records)


def _same_harness(parts: Sequence[_Part]) -> None:
    first = parts[0]
    for part in parts[1:]:
        a, b = first.log.run, part.log.run
        if (a.tool, a.tool_version, a.git_commit, a.git_dirty) != (
            b.tool,
            b.tool_version,
            b.git_commit,
            b.git_dirty,
        ):
            raise MergeError(
                f"cannot merge logs of different harness versions: {first.path} was written by "
                f"{first.harness()}, {part.path} by {part.harness()}; run every part with one "
                "harness version"
            )


def _target_of(part: _Part, record: dict[str, Any]) -> str:
    name = record.get("target")
    if isinstance(name, str) and name:
        return name
    return part.log.targets[0].name  # a log of one target whose checks do not name it


def _selection_order(parts: Sequence[_Part]) -> dict[str, int]:
    """Check id → its place in the run order the shards' run records list (if any)."""
    order: dict[str, int] = {}
    for part in parts:
        shard = part.run.get("shard")
        if isinstance(shard, dict):
            for check_id in shard.get("selection") or []:
                order.setdefault(str(check_id), len(order))
    return order


#: Measured fields that count the work of measuring: a merge adds them up.
SUMMED: Final = frozenset({"probes"})


def _join(into: dict[str, Any], more: dict[str, Any], *, summed: bool = False) -> None:
    """``more``'s measurements into ``into``: what one part measured and another did not
    (a missing or null value) is filled in, counts of probes are added, nested tables
    are joined field by field; where two parts measured a value both, the first stays."""
    for key, value in more.items():
        have = into.get(key)
        if isinstance(have, dict) and isinstance(value, dict):
            _join(have, value, summed=summed or key in SUMMED)
        elif have is None:
            into[key] = copy.deepcopy(value)
        elif summed and isinstance(have, int | float) and isinstance(value, int | float):
            into[key] = have + value


def _joined_measurements(target: str, measured: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``measured`` record for a target several parts ran: their measurements joined."""
    joined: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    for record in measured:
        _join(joined, record.get("measured") or {})
        sources.update(record.get("sources") or {})
    first = measured[0]
    return model.MeasuredRecord(
        target=target,
        real_time=any(bool(r.get("real_time")) for r in measured),
        declared=first.get("declared"),
        sources=sources,
        measured=joined or None,
    ).dump()


def merge_logs(paths: Sequence[Path | str], out: Path | str, *, run_id: str | None = None) -> Path:
    """Merge the result logs ``paths`` into ``out/results.jsonl``; the path written."""
    if not paths:
        raise MergeError("give the result logs to merge (results.jsonl of each part)")
    resolved = [Path(p) for p in paths]
    if len({p.resolve() for p in resolved}) != len(resolved):
        raise MergeError("a result log is given twice")
    parts = [_read(p) for p in resolved]
    _same_harness(parts)

    targets: dict[str, _TargetParts] = {}
    findings: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], Path] = {}
    for part in parts:
        listed = part.run.get("targets") or [{"name": t.name} for t in part.log.targets]
        for entry in listed:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                targets.setdefault(entry["name"], _TargetParts()).listed = entry
        for record in part.records[1:]:
            kind = record.get("record")
            if kind == "target":
                found = targets.setdefault(str(record.get("name")), _TargetParts())
                if found.described is None:
                    found.described = record
            elif kind == "check":
                name = _target_of(part, record)
                key = (name, str(record.get("id")))
                if key in seen:
                    raise MergeError(
                        f"cannot merge: check {key[1]} on target {name} is in {seen[key]} and "
                        f"in {part.path} (overlapping shards, or one part given twice?)"
                    )
                seen[key] = part.path
                targets.setdefault(name, _TargetParts()).checks.append(
                    ({**record, "target": name}, part.path)
                )
            elif kind == "measured":
                targets.setdefault(str(record.get("target")), _TargetParts()).measured.append(
                    record
                )
            elif kind == "finding":
                findings.append(record)

    order = _selection_order(parts)
    first_run = parts[0].run
    commands = {p.log.run.command for p in parts}
    run_record = {
        **{k: v for k, v in first_run.items() if k != "shard"},
        "run_id": run_id or f"merged-{first_run.get('run_id') or int(time.time())}",
        "command": commands.pop() if len(commands) == 1 else "merge",
        "started_at": min(p.log.run.started_at for p in parts),
        "plans": [],  # below: in the run order of the merged checks
        "targets": [t.listed or {"name": name} for name, t in targets.items()],
        "merged_from": [
            {
                "path": str(part.path),
                "run_id": part.log.run.run_id,
                "command": part.log.run.command,
                "started_at": part.log.run.started_at,
                "shard": part.run.get("shard"),
                "targets": [t.name for t in part.log.targets],
                "checks": len(part.log.checks),
            }
            for part in parts
        ],
    }
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "results.jsonl"
    lines = [run_record]
    for name, target in targets.items():
        if target.described is not None:
            lines.append(target.described)
        checks = [record for record, _ in target.checks]
        if order:
            checks.sort(key=lambda r: order.get(str(r.get("id")), len(order)))
        lines += checks
        if target.measured:
            lines.append(_joined_measurements(name, target.measured))
    lines += findings
    run_record["plans"] = list(
        dict.fromkeys(str(r.get("plan")) for r in lines if r.get("record") == "check")
    )
    tmp = log_path.with_name(".results.jsonl.merging")
    tmp.write_text("".join(json.dumps(r, default=str) + "\n" for r in lines), encoding="utf-8")
    # Counts and unexpected results from the merged checks, as the run's writer counts them.
    merged = load_log(tmp)
    counts = {o.value: 0 for o in Outcome}
    unexpected = []
    for check in merged.checks:
        counts[check.outcome] = counts.get(check.outcome, 0) + 1
        if is_unexpected(check):
            unexpected.append(merged.key(check))
    end = model.EndRecord(
        finished_at=max(p.log.end.finished_at for p in parts if p.log.end is not None),
        counts=counts,
        unexpected=tuple(unexpected),
        exit_status=1 if unexpected else 0,
    )
    with tmp.open("a", encoding="utf-8") as file:
        file.write(json.dumps(end.dump()) + "\n")
    tmp.replace(log_path)
    _copy_attachments(parts, out_dir)
    return log_path


def _copy_attachments(parts: Sequence[_Part], out_dir: Path) -> None:
    """The files the parts' checks attached (paths relative to each log's folder)."""
    for part in parts:
        for check in part.log.checks:
            for attachment in check.attachments:
                relative = Path(attachment.path)
                if relative.is_absolute() or ".." in relative.parts:
                    continue  # only files beside the log are the log's
                source = part.log.folder / attachment.path
                target = out_dir / attachment.path
                if source.is_file() and not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(source.read_bytes())
