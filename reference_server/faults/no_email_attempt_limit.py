"""Checks email codes without limit: anyone may guess all 10^6."""

from sqlalchemy import ColumnElement, true

from ..policy import Policy
from ..rules import EmailCodes, Rules


class Unlimited(EmailCodes):
    def attempts_left(self, policy: Policy) -> ColumnElement[bool]:
        return true()


def apply(rules: Rules) -> None:
    rules.email = Unlimited()
