"""Accepts a code made with any HMAC hash, not only the device's."""

from ..rules import CodeMatching, Rules
from ..totp import HASHES


class AnyHash(CodeMatching):
    def hashes(self, algorithm: str) -> tuple[str, ...]:
        return tuple(HASHES)


def apply(rules: Rules) -> None:
    rules.codes = AnyHash()
