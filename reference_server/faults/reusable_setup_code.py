"""Leaves the setup code's step usable for the first login."""

from ..rules import ReplayGuard, Rules


class SetupStepUnused(ReplayGuard):
    def setup_step(self, step: int) -> int:
        return step - 1


def apply(rules: Rules) -> None:
    rules.replay = SetupStepUnused()
