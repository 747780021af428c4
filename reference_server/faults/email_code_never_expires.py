"""Ignores the email code's lifetime."""

from ..rules import EmailCodes, Rules


class Eternal(EmailCodes):
    def expired(self, expires_at: float | None, now: float) -> bool:
        return expires_at is None


def apply(rules: Rules) -> None:
    rules.email = Eternal()
