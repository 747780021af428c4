"""The one redaction of the result log, applied to every record as it is written.

Reports are shared (CI artifacts, support tickets) and targets may be real, so no
password, TOTP secret, one-time code or bearer token reaches a result log or a report.
The rules, by a field's name (any depth, case-insensitive) and by what a value looks like:

- ``...password``, ``...secret``, ``manual_key``, ``typed_key``: the marker ``<redacted>``;
- ``...token``: its first 6 characters and ``…<redacted>`` (enough to tell two apart),
  or, holding digits only, as a one-time code (django-otp's ``otp_token``);
- ``code``, ``pass``, ``otp``, ``...code``, ``...codes`` holding 4 to 10 digits (a string
  or a number, or a list of them): ``<6-digit code>``; other values (an error code such
  as ``otp_invalid``, an HTTP status) are kept;
- ``qr_png_base64``: ``<PNG, N Base64 characters>``;
- any string with an ``otpauth://`` URI in it: every ``secret=`` value in it (a URI may
  repeat the parameter, or have a raw space in its label);
- and every value removed by those rules is removed, as a whole word, from every other
  text of the same record too (a step's message that quotes the code its evidence held).

A mapping whose ``PUBLIC_TEST_DATA`` field is true is kept whole: it holds only public
test data (the RFC 4226/6238 seeds and the Key Uri Format examples ``check-authenticator``
feeds an app), whose codes are the point of its evidence. Redacting twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

#: What stands where a value was removed.
MARKER: Final = "<redacted>"
#: A mapping with this field true holds public test data only and is kept as it is.
PUBLIC_TEST_DATA: Final = "public_test_data"
#: How much of a bearer token is kept.
TOKEN_PREFIX: Final = 6

_SECRET_ENDINGS: Final = ("password", "secret")
_SECRET_NAMES: Final = frozenset({"manual_key", "typed_key"})
_CODE_NAMES: Final = frozenset({"code", "codes", "pass", "otp"})
_CODE_ENDINGS: Final = ("_code", "_codes")
_DIGITS: Final = re.compile(r"\d{4,10}")
#: Removed values shorter than this are not looked for in text (codes are matched whole).
_MIN_SCRUBBED: Final = 4
#: A ``secret=`` parameter. Not anchored at ``otpauth://``: a URI that repeats it would keep
#: its second value, and one with a raw space in its label (invalid, but what some servers
#: send and what the dialect cases hand apps) would keep its only one.
_URI_SECRET: Final = re.compile(r"(?i)([?&]secret=)(?!<redacted>)[^&#\s\"'<>]*")


def redact_uri(text: str) -> str:
    """``text``, when it holds an otpauth URI, with every ``secret=`` value in it replaced."""
    if "otpauth:" not in text.lower():
        return text
    return _URI_SECRET.sub(lambda m: m.group(1) + MARKER, text)


def _is_code_name(name: str) -> bool:
    return name in _CODE_NAMES or name.endswith(_CODE_ENDINGS)


class _Redaction:
    """One pass over a value; remembers what it removed, to remove it from text too."""

    def __init__(self) -> None:
        self.removed: set[str] = set()

    def code(self, value: Any) -> Any:
        """A one-time code's stand-in; anything that is not digits is redacted as usual."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and _DIGITS.fullmatch(str(value)):  # not a 3-digit status
            self.removed.add(str(value))
            return f"<{len(str(value))}-digit code>"
        if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            self.removed.add(value.strip())
            return f"<{len(value.strip())}-digit code>"
        if isinstance(value, list | tuple):
            return [self.code(v) for v in value]
        return self.value(value)

    def field(self, name: str, value: Any) -> Any:
        key = name.lower()
        if key.endswith(_SECRET_ENDINGS) or key in _SECRET_NAMES:
            if value is None or value == MARKER:
                return value
            if isinstance(value, str) and len(value) >= _MIN_SCRUBBED:
                self.removed.add(value)
            return MARKER
        if key.endswith("token") and isinstance(value, str):
            if _DIGITS.fullmatch(value.strip()):
                return self.code(value)  # a one-time code (django-otp's ``otp_token``)
            if value.endswith(MARKER) or not value:
                return value
            self.removed.add(value)
            return f"{value[:TOKEN_PREFIX]}…{MARKER}"
        if key == "qr_png_base64" and isinstance(value, str) and not value.startswith("<PNG"):
            return f"<PNG, {len(value)} Base64 characters>"
        if _is_code_name(key):
            return self.code(value)
        return self.value(value)

    def value(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            if value.get(PUBLIC_TEST_DATA) is True:
                return dict(value)
            return {k: self.field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return redact_uri(value)
        return value

    def scrub(self, value: Any) -> Any:
        """``value`` with every removed value taken out of its texts as well (a message
        that quotes a code its evidence held), as a whole word only."""
        if isinstance(value, Mapping):
            if value.get(PUBLIC_TEST_DATA) is True:
                return value
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, str) and value:
            for removed in self.removed:
                if removed in value:
                    value = re.sub(rf"(?<![\w]){re.escape(removed)}(?![\w])", MARKER, value)
            return value
        return value


def redact(value: Any) -> Any:
    """A copy of ``value`` (JSON-like: mappings, lists, scalars) with the rules applied."""
    redaction = _Redaction()
    done = redaction.value(value)
    return redaction.scrub(done) if redaction.removed else done
