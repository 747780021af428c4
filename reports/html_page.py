"""The HTML report: one self-contained page a person can read, mail or attach to a ticket.

Everything is inline (CSS, SVG charts, screenshots as data URIs); the page
loads nothing and needs no script. The markup is in ``reports/templates/``
(``report.html`` and the templates it includes), rendered by the one
autoescaping environment of ``reports.templating``: evidence is whatever the
server under test answered. This module keeps what is not markup: anchors,
ordering and grouping, reading attachments, numbers to text.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from reports.charts import ChartView, chart_view, measured_window_view
from reports.interop import InteropGrid, interop_grids
from reports.log import (
    MATRIX_SEVERITY,
    MATRIX_VERDICTS,
    OUTCOMES,
    Attachment,
    Check,
    Finding,
    MatrixCell,
    RunLog,
    Target,
    TargetRun,
)
from reports.policy import REAL_TIME_NOTE, PolicyRow, compare
from reports.summary import Summary, is_unexpected, last_activity, summarize, variant_text
from reports.templating import ENVIRONMENT, pretty_json
from reports.text import duration_text, json_text, parts_text, when

#: Outcome → (glyph, label) so that colour is never the only signal.
OUTCOME_LABELS: Final = {
    "passed": ("\u2713", "passed"),
    "failed": ("\u2717", "failed"),
    "warning": ("!", "warning"),
    "skipped": ("\u2013", "skipped"),
    "not_applicable": ("\u2205", "not applicable"),
    "error": ("\u26a0", "error"),
}
VERDICT_TEXT: Final = {
    "failed": "FAILED",
    "interrupted": "INTERRUPTED",
    "passed_with_warnings": "PASSED WITH WARNINGS",
    "passed": "PASSED",
}
MATRIX_LABELS: Final = {
    "compatible": "\u2713 compatible",
    "silently_wrong": "\u2717 silently wrong",
    "refused": "\u2298 refused",
    "failed": "\u2717 failed",
}
#: An unexpected-results list longer than this is folded (findings and matrix come next).
MAX_OPEN_UNEXPECTED: Final = 20
#: A matrix cell with more checks than this shows a count per verdict instead of one link each.
MAX_CELL_LINKS: Final = 3
FINDING_LABELS: Final = {"error": "\u2717 problem", "warning": "! limit", "info": "\u2139 note"}
#: How a measured value compares with the declared one: glyph and word (reports.policy statuses).
POLICY_LABELS: Final = {
    "same": ("\u2713", "same"),
    "differs": ("\u2260", "differs"),
    "not_measured": ("\u2013", "not measured"),
    "not_declared": ("\u2013", "not declared"),
}
#: Attachments larger than this are listed, not embedded, so one huge file cannot swamp the page.
MAX_EMBED_BYTES: Final = 8 * 1024 * 1024
_IMAGE_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _anchor(check_id: str, used: set[str]) -> str:
    base = "check-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", check_id).strip("-") or "x")
    anchor, n = base, 2
    while anchor in used:
        anchor, n = f"{base}-{n}", n + 1
    used.add(anchor)
    return anchor


def expected_words(outcome: str) -> str:
    """An expectation as the page says it: "expected failure", "expected not applicable"."""
    return "expected failure" if outcome == "failed" else f"expected {outcome.replace('_', ' ')}"


def settings_text(settings: Mapping[str, Any]) -> str:
    """Options or a variant on one line: ``algorithm=SHA1, digits=6``."""
    return ", ".join(f"{k}={json_text(v)}" for k, v in settings.items())


def tally(counts: Mapping[str, int]) -> str:
    """Counts by outcome in words (``2 passed, 1 failed``), the empty ones left out."""
    return ", ".join(f"{n} {OUTCOME_LABELS[o][1]}" for o, n in counts.items() if n)


# -- evidence and attachments ---------------------------------------------------------------


def _number(value: float) -> str:
    # Unix times must read as times, not 1.795e+09.
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _seconds_text(value: Any, signed: bool = False) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if signed:
            return f"{'+' if value > 0 else ''}{_number(value)} s"
        return f"{_number(value)} ({when(float(value))})"
    return str(value)


@dataclass(frozen=True)
class EvidenceRow:
    label: str
    text: Any
    code: bool = False


@dataclass(frozen=True)
class EvidenceView:
    """A step's evidence: the known fields as rows, the HTTP exchanges, the rest as JSON."""

    rows: list[EvidenceRow]
    exchanges: list[Any]
    rest: dict[str, Any]


_KNOWN_EVIDENCE: Final = {"code", "step", "skew_seconds", "server_time", "device_time", "http"}


def evidence_view(evidence: dict[str, Any]) -> EvidenceView:
    """What ``macros.html``'s evidence shows of a step's evidence, in its order."""
    rows = []
    if "code" in evidence:
        rows.append(EvidenceRow("code", evidence["code"], code=True))
    if "step" in evidence:
        rows.append(EvidenceRow("time step", evidence["step"]))
    if "skew_seconds" in evidence:
        rows.append(EvidenceRow("skew", _seconds_text(evidence["skew_seconds"], signed=True)))
    if "server_time" in evidence:
        rows.append(EvidenceRow("server time", _seconds_text(evidence["server_time"])))
    if "device_time" in evidence:
        rows.append(EvidenceRow("device time", _seconds_text(evidence["device_time"])))
    # One exchange, or (as checks record them) a list of exchanges in order.
    http = evidence.get("http")
    exchanges = [] if "http" not in evidence else http if isinstance(http, list) else [http]
    rest = {k: v for k, v in evidence.items() if k not in _KNOWN_EVIDENCE}
    return EvidenceView(rows, exchanges, rest)


@dataclass(frozen=True)
class AttachmentView:
    """An attachment as the page shows it: embedded, as text, or why it is not."""

    attachment: Attachment
    #: Why the file is not shown: "outside" the log's folder, "too_big", "missing".
    problem: str | None = None
    #: The file's size in bytes, when that is what the page says of it (too big, binary).
    size: int | None = None
    image_uri: str | None = None
    text: str | None = None


def _image_mime(data: bytes, path: str) -> str | None:
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if path.lower().endswith(".svg") and b"<svg" in data[:1024]:
        return "image/svg+xml"  # inside <img> an SVG runs no script
    return None


def attachment_view(folder: Path, attachment: Attachment) -> AttachmentView:
    """Read an attachment relative to the log's folder, never outside it."""
    root = folder.resolve()
    target = (folder / attachment.path).resolve()
    if not target.is_relative_to(root):
        return AttachmentView(attachment, problem="outside")
    try:
        size = target.stat().st_size
        if size > MAX_EMBED_BYTES:
            return AttachmentView(attachment, problem="too_big", size=size)
        data = target.read_bytes()
    except OSError:
        return AttachmentView(attachment, problem="missing")
    mime = _image_mime(data, attachment.path)
    if mime is not None:
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        return AttachmentView(attachment, image_uri=uri)
    try:
        return AttachmentView(attachment, text=data.decode("utf-8"))
    except UnicodeDecodeError:
        return AttachmentView(attachment, size=len(data))


# -- provenance, verdict and the page's tables ----------------------------------------------


def detail_parts(target: Target) -> list[str]:
    """Which of title, capabilities, options, real time or clock a target record adds."""
    parts = [
        name
        for name, present in (
            ("title", target.title),
            ("capabilities", target.capabilities),
            ("options", target.options),
        )
        if present
    ]
    if target.real_time:
        parts.append("real_time")
    elif target.clock:
        parts.append("clock")
    return parts


@dataclass(frozen=True)
class Provenance:
    """The provenance's texts that take more than a field of the run record."""

    finished: str
    duration: str
    parts: str | None
    #: One target: its ``target`` record when it adds to the run record's target.
    described: Target | None


def _provenance(log: RunLog, summary: Summary) -> Provenance:
    run = log.run
    if log.end is not None:
        finished = when(log.end.finished_at)
        duration = duration_text(summary.duration_seconds or 0.0)
    else:
        last = last_activity(log)
        finished = "not recorded: the run was interrupted"
        duration = (
            f"at least {duration_text(max(0.0, last - run.started_at))} (interrupted)"
            if last is not None
            else "unknown (interrupted)"
        )
    described = log.targets[0].description if log.targets else None
    if described is run.target or log.several_targets:
        described = None
    return Provenance(finished, duration, parts_text(run.shard, run.merged_from), described)


def _verdict_detail(summary: Summary) -> str:
    if summary.unexpected:
        detail = f"{len(summary.unexpected)} unexpected result(s)"
    elif summary.verdict == "interrupted":
        detail = "no unexpected result among the recorded checks, but the run did not finish"
    else:
        detail = "no unexpected results"
    if not summary.complete and summary.verdict != "interrupted":
        detail += "; the run was interrupted"
    expected = len(summary.expected_failures)
    if expected:
        detail += f"; {expected} expected failure(s) not counted"
    return detail


@dataclass(frozen=True)
class Unexpected:
    check: Check
    anchor: str
    why: str


def _unexpected(log: RunLog, anchors: dict[int, str]) -> list[Unexpected]:
    items = []
    for i, check in enumerate(log.checks):
        if is_unexpected(check):
            why = check.reason or check.outcome
            if check.expected is not None:
                why = (
                    f"{expected_words(check.expected.outcome)} but {check.outcome}"
                    f" ({check.expected.comment})"
                )
            items.append(Unexpected(check, anchors[i], why))
    return items


@dataclass(frozen=True)
class Link:
    """A link to a check's details: its anchor, the text, and a count for a folded cell."""

    anchor: str
    text: str
    count: int | None = None


@dataclass(frozen=True)
class MatrixValue:
    value: str
    worst: str
    links: list[Link]


@dataclass(frozen=True)
class MatrixRow:
    parameter: str
    values: list[MatrixValue]
    padding: int


@dataclass(frozen=True)
class Matrix:
    """The compatibility matrix of the cells without a group, and its failing cases."""

    width: int
    rows: list[MatrixRow]
    failing: list[tuple[MatrixCell, str, Check]]


def _matrix(log: RunLog, anchors: dict[int, str]) -> Matrix | None:
    cells: dict[str, dict[str, list[tuple[str, int]]]] = {}
    failing = []
    for i, check in enumerate(log.checks):
        for m in check.matrix:
            if m.group is not None:
                continue  # in a matrix of its own (grouped_cells)
            cells.setdefault(m.parameter, {}).setdefault(m.value, []).append((m.verdict, i))
            if m.verdict != "compatible":
                failing.append((m, anchors[i], check))
    if not cells:
        return None
    width = max(len(values) for values in cells.values())
    rows = []
    for parameter, values in cells.items():
        shown = []
        for value, verdicts in values.items():
            worst = max((v for v, _ in verdicts), key=MATRIX_VERDICTS.index)
            if len(verdicts) <= MAX_CELL_LINKS:
                links = [Link(anchors[i], MATRIX_LABELS[v]) for v, i in verdicts]
            else:
                # Many checks try this value: a count per verdict, linked to its first check.
                first: dict[str, tuple[int, int]] = {}
                for v, i in verdicts:
                    n, at = first.get(v, (0, i))
                    first[v] = (n + 1, at)
                links = [
                    Link(anchors[at], MATRIX_LABELS[v], n)
                    for v, (n, at) in sorted(
                        first.items(), key=lambda x: MATRIX_VERDICTS.index(x[0])
                    )
                ]
            shown.append(MatrixValue(value, worst, links))
        rows.append(MatrixRow(parameter, shown, width - len(values)))
    return Matrix(width, rows, failing)


def grouped_cells(log: RunLog) -> dict[str, list[tuple[MatrixCell, int, Check]]]:
    """Matrix cells with a ``group``, per group, most dangerous verdict first (then log order)."""
    groups: dict[str, list[tuple[MatrixCell, int, Check]]] = {}
    for i, check in enumerate(log.checks):
        for m in check.matrix:
            if m.group is not None:
                groups.setdefault(m.group, []).append((m, i, check))
    for rows in groups.values():
        rows.sort(key=lambda r: MATRIX_SEVERITY.index(r[0].verdict))
    return groups


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    label: str
    #: The checks it names, each with its anchor (None: no such check in this log).
    checks: list[tuple[str, str | None]]
    more: int


def _findings(log: RunLog, anchor_of: dict[str, str]) -> list[FindingView]:
    return [
        FindingView(
            f,
            FINDING_LABELS.get(f.severity, f.severity),
            [(c, anchor_of.get(c)) for c in f.checks],
            f.count - len(f.checks),
        )
        for f in log.findings
    ]


@dataclass(frozen=True)
class PlanRow:
    """One plan in the plan-by-check matrix and the plans' tables: its checks in run order."""

    plan: str
    tally: str
    checks: list[tuple[Check, str]]


def _plans(log: RunLog, summary: Summary, anchors: dict[int, str]) -> list[PlanRow]:
    return [
        PlanRow(
            plan,
            tally(counts),
            [(c, anchors[i]) for i, c in enumerate(log.checks) if c.plan == plan],
        )
        for plan, counts in summary.by_plan.items()
    ]


@dataclass(frozen=True)
class TargetMatrixRow:
    plan: str
    check_name: str
    #: Per target, in run order: its check and anchor, or None when it has no such check.
    cells: list[tuple[str, tuple[Check, str] | None]]


def _target_matrix(log: RunLog, anchors: dict[int, str]) -> list[TargetMatrixRow]:
    """Rows: the checks by plan; columns: the targets; each cell links to that target's check."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for i, check in enumerate(log.checks):
        variant = f" [{variant_text(check.variant)}]" if check.variant else ""
        row = rows.setdefault((check.plan, check.id + variant), {})
        row.setdefault(log.target_of(check), i)
    order = {plan: n for n, plan in enumerate(log.run.plans)}
    names = [t.name for t in log.targets]
    matrix = []
    for plan, check_name in sorted(rows, key=lambda r: order.get(r[0], len(order))):
        found = rows[(plan, check_name)]
        cells: list[tuple[str, tuple[Check, str] | None]] = []
        for name in names:
            at = found.get(name)
            cells.append((name, None if at is None else (log.checks[at], anchors[at])))
        matrix.append(TargetMatrixRow(plan, check_name, cells))
    return matrix


@dataclass(frozen=True)
class TargetSection:
    """One target's section: its counts and, from its measured record, the comparison."""

    target: TargetRun
    n: int
    tally: str
    policy: list[PolicyRow] = field(default_factory=list)
    differences: int = 0
    window: ChartView | None = None
    measured_json: str | None = None


def _target_sections(log: RunLog, summary: Summary) -> list[TargetSection]:
    logged = log.several_targets or any(
        t.measured is not None or t.description is not log.run.target for t in log.targets
    )
    if not logged:
        return []  # a log from before target records: the provenance says all there is
    sections = []
    for n, target in enumerate(log.targets, 1):
        counts = tally(summary.by_target.get(target.name, {}))
        measurement = target.measured
        if measurement is None:
            sections.append(TargetSection(target, n, counts))
            continue
        rows = compare(measurement)
        window = (measurement.measured or {}).get("window")
        chart = None
        if window is not None:
            declared = (measurement.declared or {}).get("window")
            title = f"Measured acceptance window of {target.name}"
            chart = measured_window_view(title, window, declared)
        measured = pretty_json(measurement.measured) if measurement.measured else None
        differences = sum(r.status == "differs" for r in rows)
        sections.append(TargetSection(target, n, counts, rows, differences, chart, measured))
    return sections


@dataclass(frozen=True)
class Page:
    """Everything ``report.html`` shows that is worked out rather than read off the log."""

    title: str
    anchors: dict[int, str]
    anchor_of: dict[str, str]
    provenance: Provenance
    verdict_detail: str
    shown_outcomes: list[str]
    unexpected: list[Unexpected]
    findings: list[FindingView]
    matrix: Matrix | None
    groups: dict[str, list[tuple[MatrixCell, int, Check]]]
    plans: list[PlanRow]
    target_matrix: list[TargetMatrixRow]
    targets: list[TargetSection]
    #: ``twofa interop``: a server x app matrix per parameter set.
    interop: list[InteropGrid] = field(default_factory=list)


#: The names every template of the page can use besides ``log``, ``summary`` and ``page``.
HELPERS: Final[dict[str, Any]] = {
    "outcome_labels": OUTCOME_LABELS,
    "verdict_text": VERDICT_TEXT,
    "matrix_labels": MATRIX_LABELS,
    "policy_labels": POLICY_LABELS,
    "max_open": MAX_OPEN_UNEXPECTED,
    "real_time_note": REAL_TIME_NOTE,
    "is_unexpected": is_unexpected,
    "expected_words": expected_words,
    "variant_text": variant_text,
    "settings_text": settings_text,
    "detail_parts": detail_parts,
    "evidence_view": evidence_view,
    "attachment_view": attachment_view,
    "chart_view": chart_view,
}


def render_html(log: RunLog) -> str:
    """The HTML report as one self-contained page."""
    summary = summarize(log)
    used: set[str] = set()
    anchors = {i: _anchor(log.key(c), used) for i, c in enumerate(log.checks)}
    anchor_of: dict[str, str] = {}
    for i, check in enumerate(log.checks):
        anchor_of.setdefault(log.key(check), anchors[i])
    for i, check in enumerate(log.checks):
        anchor_of.setdefault(check.id, anchors[i])  # findings name plain check ids
    page = Page(
        title=f"{log.run.tool} {log.run.command}: {VERDICT_TEXT[summary.verdict]}",
        anchors=anchors,
        anchor_of=anchor_of,
        provenance=_provenance(log, summary),
        verdict_detail=_verdict_detail(summary),
        shown_outcomes=[o for o in OUTCOMES if summary.counts[o] or o in ("passed", "failed")],
        unexpected=_unexpected(log, anchors) if summary.unexpected else [],
        findings=_findings(log, anchor_of),
        matrix=_matrix(log, anchors),
        groups=grouped_cells(log),
        plans=_plans(log, summary, anchors),
        target_matrix=_target_matrix(log, anchors) if log.several_targets else [],
        targets=_target_sections(log, summary),
        interop=interop_grids(log, anchors),
    )
    template = ENVIRONMENT.get_template("report.html")
    return template.render(log=log, summary=summary, page=page, **HELPERS) + "\n"
