"""The HTML report: one self-contained page a person can read, mail or attach to a ticket.

Everything is inline (CSS, SVG charts, screenshots as data URIs); the page
loads nothing and needs no script. Every string from the log goes through
``html.escape``: evidence is whatever the server under test answered.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from pathlib import Path
from typing import Any, Final

from reports.charts import chart_html, measured_window_html
from reports.log import (
    MATRIX_SEVERITY,
    MATRIX_VERDICTS,
    OUTCOMES,
    Attachment,
    Check,
    MatrixCell,
    RunLog,
    Step,
    Target,
    TargetRun,
)
from reports.policy import REAL_TIME_NOTE, compare
from reports.summary import Summary, is_unexpected, last_activity, summarize, variant_text
from reports.text import duration_text as _duration
from reports.text import exchange_lines, parts_text, utf8_safe
from reports.text import json_text as _json_text
from reports.text import when as _when

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

CSS: Final = """
:root{--fg:#1b1b1b;--muted:#5a5a5a;--line:#d0d0d0;--bg:#fff;--band:#f5f6f8}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
 background:var(--bg);margin:0 auto;max-width:1200px;padding:1.2rem 1.5rem 4rem}
h1{font-size:1.6rem;margin:.2rem 0 .8rem}h2{font-size:1.3rem;margin:2.2rem 0 .6rem;
 border-bottom:2px solid var(--line);padding-bottom:.2rem}h3{font-size:1.1rem;margin:1.4rem 0 .4rem}
h4{font-size:1rem;margin:1rem 0 .3rem}
a{color:#0b57d0}code,pre,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;
 font-size:.86rem}
pre{background:var(--band);border:1px solid var(--line);border-radius:4px;padding:.5rem .7rem;
 overflow-x:auto;white-space:pre-wrap;word-break:break-word;margin:.3rem 0}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{background:var(--band);font-weight:600}
.provenance{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0}
.provenance dt{color:var(--muted)}.provenance dd{margin:0}
.notice{border-left:5px solid #b26a00;background:#fff4e0;padding:.6rem .9rem;margin:.8rem 0}
.notice.bad{border-color:#b71c1c;background:#fdecea}
.verdict{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem 1rem;padding:.8rem 1rem;
 border-radius:6px;margin:1rem 0;border:2px solid}
.verdict .word{font-size:1.35rem;font-weight:700;letter-spacing:.03em}
.v-failed{background:#fdecea;border-color:#b71c1c}.v-interrupted{background:#fff4e0;border-color:#b26a00}
.v-passed{background:#e7f4e8;border-color:#2e7d32}.v-passed_with_warnings{background:#fff8e1;
 border-color:#b26a00}
.counts{display:flex;flex-wrap:wrap;gap:.4rem;margin:0;padding:0;list-style:none}
.badge{display:inline-block;border-radius:3px;padding:0 .45rem;font-size:.82rem;font-weight:600;
 border:1px solid;white-space:nowrap;line-height:1.5}
.o-passed{background:#e7f4e8;color:#1b5e20;border-color:#2e7d32}
.o-failed{background:#fdecea;color:#8e1111;border-color:#b71c1c}
.o-warning{background:#fff4e0;color:#7a4700;border-color:#b26a00}
.o-skipped{background:#f0f0f0;color:#444;border-color:#9e9e9e}
.o-not_applicable{background:#f7f7f7;color:#555;border-color:#bdbdbd}
.o-error{background:#f3e5f5;color:#5b1670;border-color:#7b1fa2}
.tag{font-size:.75rem;border-radius:3px;padding:0 .3rem;margin-left:.3rem;border:1px dashed}
.tag.unexpected{color:#8e1111;border:1px solid #b71c1c;font-weight:700}
.tag.expected{color:var(--muted)}
.req{display:inline-block;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.75rem;
 background:#eef2fb;color:#1a3a7a;border:1px solid #c5d0ea;border-radius:3px;padding:0 .3rem;
 margin:0 .2rem .1rem 0;white-space:nowrap}
.muted{color:var(--muted)}.reason{margin:.3rem 0}
.check{border:1px solid var(--line);border-radius:6px;padding:.2rem 1rem .8rem;margin:1rem 0}
.check>h3{display:flex;flex-wrap:wrap;gap:.5rem;align-items:baseline}
.check.is-unexpected{border-left:6px solid #b71c1c}
.meta{display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;margin:.2rem 0;color:var(--muted);
 font-size:.9rem}
.steps>li{margin:.5rem 0;padding:.3rem 0 .3rem .2rem;border-top:1px dotted var(--line)}
.evidence{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.3rem 0}
.evidence dt{color:var(--muted)}.evidence dd{margin:0}
figure{margin:.6rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
figure img{max-width:100%;border:1px solid var(--line)}
.window-chart .lbl,.window-chart .tick{font-size:12px;fill:#333}
.window-chart .axis{font-size:12px;fill:#555}.window-chart .glyph{font-size:15px;font-weight:700}
.window-chart .declared-lbl{font-size:12px;fill:#1a237e;font-weight:600}
.legend{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.3rem 1rem;
 font-size:.85rem}
.swatch{display:inline-block;min-width:1.8rem;text-align:center;border:1px solid;font-weight:700}
.declared-swatch{border:2.5px dashed #1a237e;height:1rem;vertical-align:middle}
.chart-text{font-size:.9rem;color:var(--muted);margin:.2rem 0}
.chart-error,.missing{color:#8e1111;font-weight:600}
.m-compatible{background:#e7f4e8}.m-silently_wrong{background:#fdecea}.m-refused{background:#fff4e0}
.m-failed{background:#fdecea}
.findings li{margin:.35rem 0}.f-error strong{color:#b71c1c}.f-warning strong{color:#b26a00}
table.checks{table-layout:fixed}table.checks td,table.checks th{overflow-wrap:anywhere}
td.num,th.num{text-align:right;white-space:nowrap}
th[scope=row]{font-weight:400}
.tag{white-space:nowrap}
.overview td{line-height:2}
.cell{display:inline-block;min-width:1.7rem;text-align:center;margin:0 .15rem .15rem 0;
 border:1px solid;border-radius:3px;font-weight:700;text-decoration:none}
.cell.unexpected{outline:2px solid #b71c1c;outline-offset:1px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.target-matrix td{white-space:nowrap}.target-matrix a.badge{text-decoration:none}
.target{border:1px solid var(--line);border-radius:6px;padding:.2rem 1rem .8rem;margin:1rem 0}
.policy tr.differs{background:#fdecea}.policy tr.differs td.cmp{color:#8e1111;font-weight:700}
.policy td.cmp{white-space:nowrap}.policy tr.same td.cmp{color:#1b5e20}
.sources dt{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.86rem}
.sources dd{margin:0 0 .4rem 1.2rem;overflow-wrap:anywhere}
.targets-list>li{margin:.2rem 0}
@media print{.check{break-inside:avoid}}
"""


def _e(value: object) -> str:
    return escape(utf8_safe(str(value)), quote=True)


def _anchor(check_id: str, used: set[str]) -> str:
    base = "check-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", check_id).strip("-") or "x")
    anchor, n = base, 2
    while anchor in used:
        anchor, n = f"{base}-{n}", n + 1
    used.add(anchor)
    return anchor


def badge(outcome: str) -> str:
    """An outcome badge: colour, glyph and word."""
    glyph, label = OUTCOME_LABELS.get(outcome, ("?", outcome))
    return f'<span class="badge o-{_e(outcome)}">{glyph} {_e(label)}</span>'


def _check_badges(check: Check) -> str:
    html = badge(check.outcome)
    if is_unexpected(check):
        html += '<span class="tag unexpected">unexpected</span>'
    elif check.expected is not None:
        html += f'<span class="tag expected">{_e(_expected_words(check.expected.outcome))}</span>'
    return html


def _expected_words(outcome: str) -> str:
    return "expected failure" if outcome == "failed" else f"expected {outcome.replace('_', ' ')}"


def _reqs(reqs: tuple[str, ...]) -> str:
    if not reqs:
        return '<span class="muted">none</span>'
    return "".join(f'<span class="req">{_e(r)}</span>' for r in reqs)


def _http(exchange: Any) -> str:
    if not isinstance(exchange, dict):
        return f"<pre>{_e(_json_text(exchange))}</pre>"
    text = "\n".join(exchange_lines(exchange))
    return f'<pre class="http" aria-label="HTTP exchange">{_e(text)}</pre>'


def _number(value: float) -> str:
    # Unix times must read as times, not 1.795e+09.
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _seconds_text(value: Any, signed: bool = False) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if signed:
            return f"{'+' if value > 0 else ''}{_number(value)} s"
        return f"{_number(value)} ({_when(float(value))})"
    return str(value)


def _evidence(evidence: dict[str, Any]) -> str:
    if not evidence:
        return ""
    rows = []
    if "code" in evidence:
        rows.append(("code", f"<code>{_e(evidence['code'])}</code>"))
    if "step" in evidence:
        rows.append(("time step", _e(evidence["step"])))
    if "skew_seconds" in evidence:
        rows.append(("skew", _e(_seconds_text(evidence["skew_seconds"], signed=True))))
    if "server_time" in evidence:
        rows.append(("server time", _e(_seconds_text(evidence["server_time"]))))
    if "device_time" in evidence:
        rows.append(("device time", _e(_seconds_text(evidence["device_time"]))))
    html = ""
    if rows:
        html += '<dl class="evidence">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
        html += "</dl>"
    if "http" in evidence:
        # One exchange, or (as checks record them) a list of exchanges in order.
        http = evidence["http"]
        html += "".join(_http(x) for x in http) if isinstance(http, list) else _http(http)
    known = {"code", "step", "skew_seconds", "server_time", "device_time", "http"}
    rest = {k: v for k, v in evidence.items() if k not in known}
    if rest:
        html += f"<pre>{_e(_json_text(rest))}</pre>"
    return html


def _step(step: Step) -> str:
    message = f'<div class="reason">{_e(step.message)}</div>' if step.message else ""
    stops = (
        "stops the check on failure" if step.on_failure == "stop" else "check continues on failure"
    )
    return (
        f'<li value="{step.n}">{badge(step.outcome)} <strong>{_e(step.title)}</strong> '
        f'<span class="muted">({stops})</span><br>'
        f"{_reqs(step.requirements)}{message}{_evidence(step.evidence)}</li>"
    )


def _image_mime(data: bytes, path: str) -> str | None:
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if path.lower().endswith(".svg") and b"<svg" in data[:1024]:
        return "image/svg+xml"  # inside <img> an SVG runs no script
    return None


def _attachment(folder: Path, attachment: Attachment) -> str:
    title = f"<figcaption>{_e(attachment.title)} <span class='muted'>({_e(attachment.kind)}, "
    title += f"{_e(attachment.path)})</span></figcaption>"
    root = folder.resolve()
    target = (folder / attachment.path).resolve()
    if not target.is_relative_to(root):
        return (
            f'<figure>{title}<p class="missing">not embedded, outside the log\'s folder: '
            f"{_e(attachment.path)}</p></figure>"
        )
    try:
        size = target.stat().st_size
        if size > MAX_EMBED_BYTES:
            return (
                f'<figure>{title}<p class="missing">not embedded ({size} bytes): '
                f"{_e(attachment.path)}</p></figure>"
            )
        data = target.read_bytes()
    except OSError:
        return f'<figure>{title}<p class="missing">missing: {_e(attachment.path)}</p></figure>'
    mime = _image_mime(data, attachment.path)
    if mime is not None:
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        return f'<figure>{title}<img src="{uri}" alt="{_e(attachment.title)}"></figure>'
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f'<figure>{title}<p class="muted">binary, {len(data)} bytes, not shown</p></figure>'
    return f"<figure>{title}<pre>{_e(text)}</pre></figure>"


def _check_detail(log: RunLog, check: Check, anchor: str) -> str:
    parts = [
        f'<section class="check{" is-unexpected" if is_unexpected(check) else ""}" '
        f'id="{anchor}" aria-labelledby="{anchor}-h">',
        f'<h3 id="{anchor}-h"><code>{_e(log.key(check))}</code> {_e(check.title)} '
        f"{_check_badges(check)}</h3>",
        '<div class="meta">',
        f"<span>target <strong>{_e(log.target_of(check))}</strong></span>"
        if log.several_targets
        else "",
        f"<span>plan <strong>{_e(check.plan)}</strong></span>",
        f"<span>variant <code>{_e(variant_text(check.variant))}</code></span>"
        if check.variant
        else "",
        f"<span>severity {_e(check.severity)}</span>",
        f"<span>started {_when(check.started_at)}</span>" if check.started_at else "",
        f"<span>took {_duration(check.duration_ms / 1000)}</span>"
        if check.duration_ms is not None
        else "",
        f"<span>log line {check.line}</span></div>",
        f"<div>Requirements: {_reqs(check.all_requirements)}</div>",
    ]
    if check.reason:
        parts.append(f'<p class="reason"><strong>Reason:</strong> {_e(check.reason)}</p>')
    if check.expected is not None:
        said = "it happened" if not is_unexpected(check) else f"but it {check.outcome}"
        parts.append(
            f'<p class="reason"><strong>{_e(_expected_words(check.expected.outcome))}</strong> '
            f"({_e(said)}): {_e(check.expected.comment)}</p>"
        )
    if check.steps:
        parts.append("<h4>Steps</h4><ol class='steps'>")
        parts += [_step(s) for s in check.steps]
        parts.append("</ol>")
    if check.charts:
        parts.append("<h4>Charts</h4>")
        parts += [chart_html(c.kind, c.title, c.data) for c in check.charts]
    if check.attachments:
        parts.append("<h4>Attachments</h4>")
        parts += [_attachment(log.folder, a) for a in check.attachments]
    if check.matrix:
        parts.append("<h4>Matrix</h4><ul>")
        parts += [
            f'<li>{_e(m.parameter)} = <code>{_e(m.value)}</code>: <span class="badge '
            f'm-{_e(m.verdict)}">{_e(MATRIX_LABELS[m.verdict])}</span></li>'
            for m in check.matrix
        ]
        parts.append("</ul>")
    parts.append("</section>")
    return "".join(parts)


def _json_details(value: dict[str, Any] | None, absent: str, note: str = "") -> str:
    if not value:
        return _e(absent)
    keys = ", ".join(_e(k) for k in value)
    label = f"{keys}" + (f" <span class='muted'>({_e(note)})</span>" if note else "")
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return f"<details><summary>{label}</summary><pre>{_e(text)}</pre></details>"


def _target_html(target: Target) -> str:
    """Kind, URL, harness mode and policy file of a target."""
    html = _e(target.kind)
    if target.url:
        html += f" <code>{_e(target.url)}</code>"
    if target.harness is not None:
        html += " (harness mode)" if target.harness else " (no harness mode)"
    if target.policy_file:
        html += f", policy file <code>{_e(target.policy_file)}</code>"
    return html


def _target_details(target: Target) -> str:
    """Title, capabilities, options and clock of a target (what its ``target`` record adds)."""
    parts = []
    if target.title:
        parts.append(f"<strong>{_e(target.title)}</strong>")
    if target.capabilities:
        parts.append(
            "capabilities " + ", ".join(f"<code>{_e(c)}</code>" for c in target.capabilities)
        )
    if target.options:
        options = ", ".join(f"{k}={_json_text(v)}" for k, v in target.options.items())
        parts.append(f"options <code>{_e(options)}</code>")
    if target.real_time:
        parts.append(
            "<strong>ran in real time</strong>: checks that move the clock are not applicable"
        )
    elif target.clock:
        parts.append(f"clock {_e(target.clock)}")
    return "; ".join(parts)


def _target_item(target: TargetRun) -> str:
    """One target in the provenance: its description, or why there is none."""
    name = f"<code>{_e(target.name)}</code>"
    d = target.description
    if d is None:
        return f"{name}: not reached (the run stopped before it started)"
    if not d.started:
        return (
            f"{name}: <strong>could not be started</strong>: {_e(d.error or 'no reason recorded')}"
        )
    details = _target_details(d)
    return f"{name}: {_target_html(d)}" + (f"<br>{details}" if details else "")


def _provenance(log: RunLog, summary: Summary) -> str:
    run = log.run
    if log.several_targets:
        items = "".join(f"<li>{_target_item(t)}</li>" for t in log.targets)
        target_row = ("Targets", f"<ol class='targets-list'>{items}</ol>")
        policy_label = f"Declared policy of <code>{_e(log.targets[0].name)}</code> (first target)"
    else:
        target = _target_html(run.target)
        described = log.targets[0].description if log.targets else None
        if described is not None and described is not run.target:
            details = _target_details(described)
            target += f"<br>{details}" if details else ""
        target_row = ("Target", target)
        policy_label = "Declared policy"
    harness = f"{_e(run.tool)} {_e(run.tool_version)}"
    if run.git_commit:
        harness += f", commit <code>{_e(run.git_commit)}</code>"
        if run.git_dirty:
            harness += " with uncommitted changes"
    elif run.run_id is not None:
        harness += ", git commit unknown (not a git checkout)"
    variant = ", ".join(f"{k}={_json_text(v)}" for k, v in run.variant.items()) or "none"
    if log.end is not None:
        finished = _when(log.end.finished_at)
        duration = _duration(summary.duration_seconds or 0.0)
        status = "complete"
    else:
        last = last_activity(log)
        finished = "not recorded: the run was interrupted"
        duration = (
            f"at least {_duration(max(0.0, last - run.started_at))} (interrupted)"
            if last is not None
            else "unknown (interrupted)"
        )
        status = "<strong>interrupted</strong> (no end record)"
    rows = [
        ("Harness", harness),
        ("Run id", f"<code>{_e(run.run_id)}</code>" if run.run_id else "not recorded"),
        ("Command", f"<code>{_e(run.command)}</code>"),
        target_row,
        (policy_label, _json_details(run.policy, "none (the target declares no policy)")),
        ("Seed", _json_details(run.seed, "not recorded", "passwords redacted")),
        ("Plans", ", ".join(_e(p) for p in run.plans) or "none"),
        ("Variant", f"<code>{_e(variant)}</code>"),
        ("Expectations", _e(run.expectations_file or "none")),
        ("Started", _when(run.started_at)),
        ("Finished", _e(finished)),
        ("Duration", _e(duration)),
        ("Log", f"<code>{_e(log.path.name)}</code>, {status}"),
    ]
    parts = parts_text(run.shard, run.merged_from)
    if parts is not None:
        rows.insert(3, ("Parts", _e(parts)))
    return (
        '<dl class="provenance">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"
    )


def _notices(log: RunLog, summary: Summary) -> str:
    notes = []
    if not log.complete:
        notes.append(
            '<div class="notice bad" role="alert"><strong>Interrupted run.</strong> '
            f"{_e(log.path.name)} has no end record: the run stopped before it finished. "
            f"This report shows the {summary.total} checks that were recorded; the others "
            "never ran or never ended.</div>"
        )
    if log.truncated_tail:
        notes.append(
            '<div class="notice">The last line of the log was cut off mid-write and is '
            "left out.</div>"
        )
    for target in log.targets:
        if target.started is False:
            error = target.description.error if target.description is not None else None
            notes.append(
                '<div class="notice bad"><strong>Target '
                f"<code>{_e(target.name)}</code> could not be started:</strong> "
                f"{_e(error or 'no reason recorded')}. Its checks are errors.</div>"
            )
    if summary.end_agrees is False and log.end is not None:
        notes.append(
            '<div class="notice">The end record disagrees with the check records '
            f"(it says counts {_e(log.end.counts)}, unexpected "
            f"{_e(', '.join(log.end.unexpected) or 'none')}); this report counts the check "
            "records.</div>"
        )
    return "".join(notes)


def _verdict(summary: Summary, anchors: dict[int, str], log: RunLog) -> str:
    counts = "".join(
        f"<li>{badge(o)} <strong>{summary.counts[o]}</strong></li>"
        for o in OUTCOMES
        if summary.counts[o] or o in ("passed", "failed")
    )
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
    html = (
        f'<section class="verdict v-{summary.verdict}" aria-label="Overall verdict">'
        f'<span class="word">{VERDICT_TEXT[summary.verdict]}</span>'
        f"<span>{summary.total} checks: {_e(detail)}</span>"
        f'<ul class="counts" aria-label="Counts by outcome">{counts}</ul></section>'
    )
    if summary.unexpected:
        items = []
        for i, check in enumerate(log.checks):
            if is_unexpected(check):
                why = check.reason or check.outcome
                if check.expected is not None:
                    why = (
                        f"{_expected_words(check.expected.outcome)} but {check.outcome}"
                        f" ({check.expected.comment})"
                    )
                items.append(
                    f'<li><a href="#{anchors[i]}"><code>{_e(log.key(check))}</code></a> '
                    f"{badge(check.outcome)} {_e(why)}</li>"
                )
        listed = f"<ul>{''.join(items)}</ul>"
        if len(items) > MAX_OPEN_UNEXPECTED:
            # A long list would push the findings and the matrix off the first screens.
            summary_line = f"<summary>All {len(items)} unexpected results</summary>"
            listed = f"<details>{summary_line}{listed}</details>"
        html += f"<h2 id='unexpected'>Unexpected results</h2>{listed}"
    return html


def _overview(log: RunLog, summary: Summary, anchors: dict[int, str]) -> str:
    """The plan-by-check matrix: one row per plan, one linked cell per check, at a glance."""
    rows = []
    for plan in summary.by_plan:
        cells = []
        for i, check in enumerate(log.checks):
            if check.plan != plan:
                continue
            glyph, label = OUTCOME_LABELS.get(check.outcome, ("?", check.outcome))
            flag = " unexpected" if is_unexpected(check) else ""
            cells.append(
                f"<a class='cell o-{_e(check.outcome)}{flag}' href='#{anchors[i]}' "
                f"title='{_e(check.id)}: {_e(label)}{flag}'>{glyph}"
                f"<span class='sr'>{_e(check.id)}: {_e(label)}{flag}</span></a>"
            )
        rows.append(
            f"<tr><th scope='row'><code>{_e(plan)}</code></th>"
            f"<td>{''.join(cells) or '<span class=muted>no checks recorded</span>'}</td></tr>"
        )
    if not rows:
        return ""
    return (
        "<h2 id='overview'>Plan \u00d7 check matrix</h2>"
        "<table class='overview'><thead><tr><th scope='col'>Plan</th>"
        "<th scope='col'>Checks, in run order (each links to its details)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _plans_table(log: RunLog, summary: Summary, anchors: dict[int, str]) -> str:
    parts = ["<h2 id='plans'>Plans and checks</h2>"]
    for plan, counts in summary.by_plan.items():
        indexed = [(i, c) for i, c in enumerate(log.checks) if c.plan == plan]
        tally = ", ".join(f"{n} {OUTCOME_LABELS[o][1]}" for o, n in counts.items() if n)
        parts.append(
            f"<h3>Plan <code>{_e(plan)}</code> "
            f"<span class='muted'>({_e(tally or 'no checks recorded')})</span></h3>"
        )
        if not indexed:
            continue
        parts.append(
            "<table class='checks'><colgroup><col style='width:28%'><col style='width:15%'>"
            "<col style='width:17%'><col style='width:8%'><col></colgroup>"
            "<thead><tr><th scope='col'>Check</th><th scope='col'>Outcome</th>"
            "<th scope='col'>Requirements</th><th scope='col' class='num'>Time</th>"
            "<th scope='col'>Reason</th></tr></thead><tbody>"
        )
        for i, check in indexed:
            took = _duration(check.duration_ms / 1000) if check.duration_ms is not None else ""
            parts.append(
                f"<tr><th scope='row'><a href='#{anchors[i]}'><code>{_e(log.key(check))}</code>"
                f"</a><br><span class='muted'>{_e(check.title)}</span></th>"
                f"<td>{_check_badges(check)}</td><td>{_reqs(check.all_requirements)}</td>"
                f"<td class='num'>{took}</td><td>{_e(check.reason)}</td></tr>"
            )
        parts.append("</tbody></table>")
    return "".join(parts)


def _requirements_table(summary: Summary, anchor_of: dict[str, str]) -> str:
    if not summary.by_requirement:
        return ""
    rows = []
    for req, r in summary.by_requirement.items():
        outcomes = " ".join(f"{badge(o)}\u00d7{n}" for o, n in r.counts.items() if n)
        checks = ", ".join(f"<a href='#{anchor_of[c]}'><code>{_e(c)}</code></a>" for c in r.checks)
        rows.append(
            f"<tr><th scope='row'><span class='req'>{_e(req)}</span></th>"
            f"<td>{outcomes}</td><td>{checks}</td></tr>"
        )
    return (
        "<h2 id='requirements'>Requirements</h2><table><thead><tr><th scope='col'>Requirement"
        "</th><th scope='col'>Outcomes</th><th scope='col'>Checks</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _matrix(log: RunLog, anchors: dict[int, str]) -> str:
    cells: dict[str, dict[str, list[tuple[str, int]]]] = {}
    failing = []
    for i, check in enumerate(log.checks):
        for m in check.matrix:
            if m.group is not None:
                continue  # in a matrix of its own (_grouped_matrices)
            cells.setdefault(m.parameter, {}).setdefault(m.value, []).append((m.verdict, i))
            if m.verdict != "compatible":
                failing.append((m, i, check))
    if not cells:
        return ""
    width = max(len(values) for values in cells.values())
    rows = []
    for parameter, values in cells.items():
        tds = []
        for value, verdicts in values.items():
            worst = max((v for v, _ in verdicts), key=MATRIX_VERDICTS.index)
            if len(verdicts) <= MAX_CELL_LINKS:
                labels = "<br>".join(
                    f"<a href='#{anchors[i]}'>{_e(MATRIX_LABELS[v])}</a>" for v, i in verdicts
                )
            else:
                # Many checks try this value: a count per verdict, linked to its first check.
                first: dict[str, tuple[int, int]] = {}
                for v, i in verdicts:
                    n, at = first.get(v, (0, i))
                    first[v] = (n + 1, at)
                labels = "<br>".join(
                    f"<a href='#{anchors[at]}'>{_e(MATRIX_LABELS[v])}</a> \u00d7{n}"
                    for v, (n, at) in sorted(
                        first.items(), key=lambda x: MATRIX_VERDICTS.index(x[0])
                    )
                )
            tds.append(f"<td class='m-{worst}'><code>{_e(value)}</code><br>{labels}</td>")
        tds += ["<td></td>"] * (width - len(values))
        rows.append(f"<tr><th scope='row'>{_e(parameter)}</th>{''.join(tds)}</tr>")
    html = (
        "<h2 id='matrix'>Compatibility matrix</h2><table class='matrix'><thead><tr>"
        "<th scope='col'>Parameter</th>"
        f"<th scope='colgroup' colspan='{width}'>Values tried and verdicts</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    if failing:
        items = "".join(
            f"<li><strong>{_e(m.parameter)} = {_e(m.value)}</strong>: "
            f"{_e(MATRIX_LABELS[m.verdict])}"
            f" (<a href='#{anchors[i]}'><code>{_e(c.id)}</code></a>)"
            f"{': ' + _e(c.reason) if c.reason else ''}</li>"
            for m, i, c in failing
        )
        listed = f"<ul>{items}</ul>"
        if len(failing) > MAX_OPEN_UNEXPECTED:
            summary_line = f"<summary>All {len(failing)} failing cells</summary>"
            listed = f"<details>{summary_line}{listed}</details>"
        html += f"<h3>Failing cases</h3>{listed}"
    else:
        html += "<p>Every value tried was compatible.</p>"
    return html


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


def _grouped_matrices(log: RunLog, anchors: dict[int, str]) -> str:
    """A table per matrix group: one row per cell, worst verdict first, with its outcome."""
    html = []
    for n, (group, rows) in enumerate(grouped_cells(log).items(), 1):
        trs = "".join(
            f"<tr><th scope='row'><a href='#{anchors[i]}'>{_e(m.parameter)}</a></th>"
            f"<td>{_e(m.value)}</td>"
            f"<td class='m-{_e(m.verdict)}'>{_e(MATRIX_LABELS[m.verdict])}</td>"
            f"<td>{_e(check.outcome.replace('_', ' '))}</td>"
            f"<td>{_e(check.reason)}</td></tr>"
            for m, i, check in rows
        )
        html.append(
            f"<h2 id='matrix-group-{n}'>{_e(group)}</h2>"
            "<p class='muted'>Most dangerous first: silently wrong, failed, refused, compatible."
            "</p><table class='matrix-group'><thead><tr><th scope='col'>Row</th>"
            "<th scope='col'>What it tests</th><th scope='col'>Verdict</th>"
            "<th scope='col'>Outcome</th><th scope='col'>Why</th></tr></thead>"
            f"<tbody>{trs}</tbody></table>"
        )
    return "".join(html)


def _findings(log: RunLog, anchor_of: dict[str, str]) -> str:
    """The run's plain-language findings (``finding`` records), worst first as written."""
    if not log.findings:
        return ""
    items = []
    for finding in log.findings:
        links = ", ".join(
            f"<a href='#{anchor_of[c]}'><code>{_e(c)}</code></a>" if c in anchor_of else _e(c)
            for c in finding.checks
        )
        more = finding.count - len(finding.checks)
        cases = ""
        if finding.checks:
            cases = f"<br><span class='muted'>{finding.count} case(s): {links}"
            cases += f" and {more} more</span>" if more > 0 else "</span>"
        label = FINDING_LABELS.get(finding.severity, finding.severity)
        items.append(
            f"<li class='finding f-{_e(finding.severity)}'><strong>{_e(label)}</strong> "
            f"{_e(finding.text)}{cases}</li>"
        )
    return f"<h2 id='findings'>Findings</h2><ul class='findings'>{''.join(items)}</ul>"


def _target_matrix(log: RunLog, anchors: dict[int, str]) -> str:
    """Rows: the checks by plan; columns: the targets; each cell links to that target's check."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for i, check in enumerate(log.checks):
        variant = f" [{variant_text(check.variant)}]" if check.variant else ""
        row = rows.setdefault((check.plan, check.id + variant), {})
        row.setdefault(log.target_of(check), i)
    order = {plan: n for n, plan in enumerate(log.run.plans)}
    names = [t.name for t in log.targets]
    head = "".join(f"<th scope='col'><code>{_e(n)}</code></th>" for n in names)
    trs = []
    for plan, check_name in sorted(rows, key=lambda r: order.get(r[0], len(order))):
        cells = []
        for name in names:
            at = rows[(plan, check_name)].get(name)
            if at is None:
                cells.append("<td class='muted'>not run</td>")
                continue
            check = log.checks[at]
            glyph, label = OUTCOME_LABELS.get(check.outcome, ("?", check.outcome))
            flag = " unexpected" if is_unexpected(check) else ""
            cells.append(
                f"<td><a class='badge o-{_e(check.outcome)}' href='#{anchors[at]}' "
                f"title='{_e(name)}: {_e(check_name)}: {_e(label)}{flag}'>{glyph} {_e(label)}"
                f"<span class='sr'> {_e(check_name)} on {_e(name)}</span></a>"
                + ("<span class='tag unexpected'>unexpected</span>" if flag else "")
                + "</td>"
            )
        trs.append(
            f"<tr><td><code>{_e(plan)}</code></td><th scope='row'><code>{_e(check_name)}</code>"
            f"</th>{''.join(cells)}</tr>"
        )
    if not trs:
        return ""
    return (
        "<h2 id='target-matrix'>Target \u00d7 check matrix</h2>"
        "<p class='muted'>Each cell links to the check's details for that target.</p>"
        "<table class='target-matrix'><thead><tr><th scope='col'>Plan</th>"
        f"<th scope='col'>Check</th>{head}</tr></thead><tbody>{''.join(trs)}</tbody></table>"
    )


def _policy_table(target: TargetRun) -> str:
    """Measured beside declared, every difference marked, with the declaration's sources."""
    measurement = target.measured
    if measurement is None:
        return ""
    rows = compare(measurement)
    differences = sum(r.status == "differs" for r in rows)
    trs = []
    for r in rows:
        glyph, word = POLICY_LABELS[r.status]
        source = f"<code>{_e(r.source)}</code>" if r.source else "<span class='muted'>none</span>"
        trs.append(
            f"<tr class='{_e(r.status)}'><th scope='row'>{_e(r.aspect)}</th>"
            f"<td>{_e(r.declared)}</td><td>{_e(r.measured)}</td>"
            f"<td class='cmp'>{glyph} {_e(word)}</td><td>{source}</td></tr>"
        )
    verdict = (
        f"<p><strong>{differences} difference(s)</strong> between what was measured and what is "
        "declared (marked \u2260).</p>"
        if differences
        else "<p>No difference between what was measured and what is declared.</p>"
    )
    if measurement.declared is None:
        verdict += "<p class='muted'>The target declares no policy.</p>"
    html = (
        f"{verdict}<table class='policy'><thead><tr><th scope='col'>What</th>"
        "<th scope='col'>Declared</th><th scope='col'>Measured</th>"
        "<th scope='col'>Comparison</th><th scope='col'>Declared in</th></tr></thead>"
        f"<tbody>{''.join(trs)}</tbody></table>"
    )
    if measurement.sources:
        # URLs are shown as text: the page links to nothing outside itself.
        items = "".join(
            f"<dt>{_e(key)}</dt><dd>{_e(text)}</dd>" for key, text in measurement.sources.items()
        )
        html += f"<h4>Sources of the declaration</h4><dl class='sources'>{items}</dl>"
    return html


def _target_section(target: TargetRun, counts: dict[str, int], n: int) -> str:
    d = target.description
    title = f" <span class='muted'>{_e(d.title)}</span>" if d is not None and d.title else ""
    parts = [
        f"<section class='target' id='target-{n}' aria-labelledby='target-{n}-h'>",
        f"<h3 id='target-{n}-h'>Target <code>{_e(target.name)}</code>{title}</h3>",
    ]
    tally = ", ".join(f"{c} {OUTCOME_LABELS[o][1]}" for o, c in counts.items() if c)
    parts.append(f"<p>{_target_item(target)}</p><p class='muted'>Checks: {_e(tally or 'none')}</p>")
    if target.real_time:
        parts.append(
            f"<div class='notice'><strong>{_e(REAL_TIME_NOTE.capitalize())}.</strong></div>"
        )
    measurement = target.measured
    if measurement is None:
        if target.started is True:
            parts.append(
                "<p>Nothing measured: the log has no measured record for this target (the run "
                "stopped before its checks ended).</p>"
            )
        parts.append("</section>")
        return "".join(parts)
    parts.append("<h4>Measured and declared policy</h4>")
    parts.append(_policy_table(target))
    window = (measurement.measured or {}).get("window")
    if window is not None:
        declared = (measurement.declared or {}).get("window")
        parts.append(
            measured_window_html(f"Measured acceptance window of {target.name}", window, declared)
        )
    if measurement.measured:
        parts.append(
            "<details><summary>Everything measured, as logged</summary><pre>"
            f"{_e(json.dumps(measurement.measured, indent=2, ensure_ascii=False, default=str))}"
            "</pre></details>"
        )
    parts.append("</section>")
    return "".join(parts)


def _targets(log: RunLog, summary: Summary) -> str:
    """A section per target: description, measured beside declared, the window chart."""
    logged = log.several_targets or any(
        t.measured is not None or t.description is not log.run.target for t in log.targets
    )
    if not logged:
        return ""  # a log from before target records: the provenance says all there is
    sections = "".join(
        _target_section(t, summary.by_target.get(t.name, {}), n)
        for n, t in enumerate(log.targets, 1)
    )
    return f"<h2 id='targets'>Targets: measured and declared</h2>{sections}"


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
    title = f"{log.run.tool} {log.run.command}: {VERDICT_TEXT[summary.verdict]}"
    details = "".join(_check_detail(log, c, anchors[i]) for i, c in enumerate(log.checks))
    body = [
        "<header>",
        f"<h1>{_e(log.run.tool)} report: <code>{_e(log.run.command)}</code></h1>",
        _provenance(log, summary),
        "</header><main>",
        _notices(log, summary),
        _verdict(summary, anchors, log),
        _findings(log, anchor_of),
        _matrix(log, anchors),
        _grouped_matrices(log, anchors),
        _target_matrix(log, anchors) if log.several_targets else _overview(log, summary, anchors),
        _targets(log, summary),
        _plans_table(log, summary, anchors),
        "<h2 id='details'>Check details</h2>",
        details or "<p>No check was recorded.</p>",
        _requirements_table(summary, anchor_of),
        "</main>",
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
