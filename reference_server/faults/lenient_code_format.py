"""Accepts numbers, spaces, non-ASCII digits and a missing zero padding as a code."""

import unicodedata
from collections.abc import Mapping
from typing import Any

from ..rules import CodeParser, Rules


def lenient_code(value: Any, digits: int) -> Any:
    """What a careless server makes of a code: numbers, spaces, any digits, zero-padded."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    try:
        digits_only = "".join(str(unicodedata.digit(c)) for c in value if not c.isspace())
    except ValueError:
        return value
    return digits_only.zfill(digits)


class Lenient(CodeParser):
    def submitted(self, raw: Mapping[str, Any], digits: int) -> Mapping[str, Any]:
        return {**raw, "code": lenient_code(raw.get("code"), digits)}


def apply(rules: Rules) -> None:
    rules.parser = Lenient()
