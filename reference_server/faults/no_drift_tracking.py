"""Declares drift tracking but never moves the window."""

from ..policy import Policy
from ..rules import Rules, Window


class Untracked(Window):
    def tracks_drift(self, policy: Policy) -> bool:
        return False


def apply(rules: Rules) -> None:
    rules.window = Untracked()
