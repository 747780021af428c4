"""Lets a partial token host a support session."""

from sqlalchemy.orm import Session

from ..accounts import Caller, require_second_factor
from ..rules import Rules, Sessions


class PartialHosts(Sessions):
    def check_host(self, db: Session, caller: Caller) -> None:
        if caller.full:
            require_second_factor(db, caller)


def apply(rules: Rules) -> None:
    rules.sessions = PartialHosts()
