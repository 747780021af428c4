"""Making text from servers under test safe to write into UTF-8, XML and HTML.

Evidence is whatever a server answered. JSON can carry lone surrogates
(``"\\ud800"``) that no UTF-8 file can hold, and control characters that XML 1.0
forbids; both are replaced by visible escapes instead of crashing a report.
"""

from __future__ import annotations

import json
import math
import re
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
