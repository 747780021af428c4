"""Ignores device-group and client versions."""

from ..rules import Gating, Rules
from ..versions import Version


class Ungated(Gating):
    def below_minimum(self, version: Version, minimum: Version) -> bool:
        return False


def apply(rules: Rules) -> None:
    rules.gating = Ungated()
