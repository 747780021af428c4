"""Refuses the future steps its declared window promises."""

from ..policy import Policy
from ..rules import Rules, Window


class Narrow(Window):
    def accepted(self, policy: Policy) -> tuple[int, int]:
        back, _ = super().accepted(policy)
        return back, 0


def apply(rules: Rules) -> None:
    rules.window = Narrow()
