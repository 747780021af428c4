"""Counts wrong passwords only for existing accounts (before issue 14).

An unknown email answers 401 for ever while a known one locks (423) after ten
wrong passwords: eleven tries tell whether an account exists.
"""

from ..models import Agent
from ..rules import Rules, SignInThrottle


class KnownOnly(SignInThrottle):
    def counted_identifier(self, email: str, agent: Agent | None) -> str | None:
        return email if agent is not None else None


def apply(rules: Rules) -> None:
    rules.sign_in = KnownOnly()
