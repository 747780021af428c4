"""Mails a new code on resend but never stores it: the old one keeps working."""

from ..models import Agent, Enrollment
from ..policy import Policy
from ..rules import EmailCodes, Rules


class KeepsOld(EmailCodes):
    def store_resent(
        self, enrollment: Enrollment, agent: Agent, digest: str, now: float, policy: Policy
    ) -> None:
        agent.last_email_sent_at = now


def apply(rules: Rules) -> None:
    rules.email = KeepsOld()
