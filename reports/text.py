"""Text helpers: making server text safe for UTF-8, XML and HTML; times, durations, exchanges.

Evidence is whatever a server answered. JSON can carry lone surrogates
(``"\\ud800"``) that no UTF-8 file can hold, and control characters that XML 1.0
forbids; both are replaced by visible escapes instead of crashing a report.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# Characters XML 1.0 does not allow at all (tab, newline and carriage return are allowed).
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def utf8_safe(text: str) -> str:
    """Replace lone surrogates by a visible ``\\udxxx`` escape."""
    return _SURROGATE.sub(_escape, text)


def xml_safe(text: str) -> str:
    """Replace characters XML 1.0 cannot hold by a visible ``\\uxxxx`` escape."""
    return _NOT_XML.sub(_escape, text)


def json_safe(value: Any) -> Any:
    """A JSON-like value every JSON reader accepts and UTF-8 can hold.

    Strings (keys too) go through ``utf8_safe``; NaN and infinities, which
    Python reads but JSON does not allow, become the strings "NaN", "Infinity".
    """
    if isinstance(value, str):
        return utf8_safe(value)
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)
    if isinstance(value, dict):
        return {utf8_safe(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def when(ts: float | None) -> str:
    """A Unix time as ``2033-05-18 03:33:30 UTC`` (or why it cannot be shown)."""
    if ts is None:
        return "unknown"
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{ts} (not a representable time)"


def duration_text(seconds: float) -> str:
    """A duration as people read it: ``<1 ms``, ``250 ms``, ``3.21 s``, ``2 min 5 s``."""
    if not math.isfinite(seconds):
        return f"{seconds} s"
    if 0 < seconds < 0.0005:
        return "<1 ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {secs} s" if hours else f"{minutes} min {secs} s"


def json_text(value: Any) -> str:
    """A value as text: strings as they are, short JSON on one line, long JSON indented."""
    if isinstance(value, str):
        return value
    compact = json.dumps(value, ensure_ascii=False, default=str)
    if len(compact) <= 72:
        return compact
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def exchange_lines(exchange: dict[str, Any]) -> list[str]:
    """An HTTP exchange of the evidence as plain lines: request, blank line, answer."""
    lines = [f"\u2192 {exchange.get('method', '?')} {exchange.get('url', '')}".rstrip()]
    if exchange.get("request") is not None:
        lines.append(json_text(exchange["request"]))
    lines += ["", f"\u2190 {exchange.get('status', 'no status')}"]
    # The format does not say whose headers these are; the ones checks record
    # (Cache-Control, Retry-After) are the response's, so they go under the status.
    headers = exchange.get("headers")
    if isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values()):
        lines += [f"{k}: {v}" for k, v in headers.items()]
    elif headers is not None:
        lines.append(f"headers: {json_text(headers)}")
    if exchange.get("response") is not None:
        lines.append(json_text(exchange["response"]))
    known = {"method", "url", "status", "request", "response", "headers"}
    extra = {k: v for k, v in exchange.items() if k not in known}
    if extra:
        lines += ["", json_text(extra)]
    return lines


def parts_text(shard: dict[str, Any] | None, merged_from: Sequence[dict[str, Any]]) -> str | None:
    """Where a run's checks came from when it is a part or a merge of parts; else None."""
    if shard is not None:
        selection = shard.get("selection") or []
        return f"part {shard.get('index')} of {shard.get('count')} of {len(selection)} checks"
    if not merged_from:
        return None
    parts = []
    for part in merged_from:
        words = f"{part.get('run_id') or part.get('path')} ({part.get('command')}"
        piece = part.get("shard")
        if isinstance(piece, dict):
            words += f", part {piece.get('index')} of {piece.get('count')}"
        targets = part.get("targets") or []
        words += f", {part.get('checks')} checks on {', '.join(map(str, targets)) or '?'})"
        parts.append(words)
    return f"merged from {len(parts)} logs: " + "; ".join(parts)
