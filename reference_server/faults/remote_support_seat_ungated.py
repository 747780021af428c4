"""Asks no second factor of the Remote Support (non-v5) seat: only v5 is covered."""

from ..rules import Gating, Rules


class V5Only(Gating):
    def asks_second_factor(self, seat: str, required: bool) -> bool:
        return required and seat != "remote_support"


def apply(rules: Rules) -> None:
    rules.gating = V5Only()
