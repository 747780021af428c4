"""Follows a drifting clock without limit: the window walks away with it."""

from ..policy import Policy
from ..rules import Rules, Window


class Unbounded(Window):
    def recorded_drift(self, offset: int, policy: Policy) -> int:
        return offset


def apply(rules: Rules) -> None:
    rules.window = Unbounded()
