"""Accepts one step more each way than GET /__harness__/policy declares."""

from ..policy import Policy
from ..rules import Rules, Window


class Wide(Window):
    def accepted(self, policy: Policy) -> tuple[int, int]:
        back, forward = super().accepted(policy)
        return back + 1, forward + 1


def apply(rules: Rules) -> None:
    rules.window = Wide()
