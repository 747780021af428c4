"""Shows the manual key without its last group."""

from ..rules import Provisioner, Rules


class Truncated(Provisioner):
    def manual_key(self, grouped_key: str) -> str:
        return grouped_key.rsplit(" ", 1)[0]


def apply(rules: Rules) -> None:
    rules.provisioner = Truncated()
