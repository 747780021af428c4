"""Truncates the time step to 32 bits: wrong after 2106 (RFC 6238 §4.2 MUST support more)."""

from ..rules import CodeMatching, Rules


class Counter32(CodeMatching):
    def counter(self, step: int) -> int:
        return step & 0xFFFFFFFF


def apply(rules: Rules) -> None:
    rules.codes = Counter32()
