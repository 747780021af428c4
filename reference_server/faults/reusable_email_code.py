"""A used email code verifies again within its lifetime (also in a later enrollment)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Enrollment
from ..rules import EmailCodes, Rules
from ..security import SecretBox


class Reusable(EmailCodes):
    def forget_used(self, enrollment: Enrollment) -> None:
        return None

    def matches_an_earlier_code(
        self, db: Session, enrollment: Enrollment, code: str, now: float, box: SecretBox
    ) -> bool:
        earlier = db.scalars(
            select(Enrollment.email_code_hash).where(
                Enrollment.agent_id == enrollment.agent_id,
                Enrollment.id != enrollment.id,
                Enrollment.email_code_hash.is_not(None),
                Enrollment.email_code_expires_at > now,
            )
        )
        return any(box.code_matches(digest, code) for digest in earlier)


def apply(rules: Rules) -> None:
    rules.email = Reusable()
