"""Wrong passwords, counted and locked by the email address submitted.

Sign-in must not tell whether an account exists, so the count is kept per
normalised address (``SignInFailures``), known or not: an unknown address
locks after the same number of wrong passwords, with the same answer and the
same ``Retry-After``, and both paths run the same statements (a SELECT of the
agent, the upsert of the address's row, the password hash against the agent's
hash or a dummy, an UPDATE).

An attempt is *reserved* before the password is hashed, with one atomic
upsert that refuses while the address is locked or its count is full: of
parallel wrong passwords, never more than ``max_failures`` are checked before
the lock (RFC 4226 §7.3 asks the same of codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import SignInFailures
from .policy import Policy


@dataclass(frozen=True)
class Reservation:
    """A reserved attempt (``failures`` counting it), or a refusal while locked."""

    failures: int | None
    retry_after: float | None = None

    @property
    def locked(self) -> bool:
        return self.failures is None


def _upsert_count(db: Session, identifier: str, now: float, policy: Policy) -> int | None:
    """``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING`` (SQLite, PostgreSQL)."""
    row = SignInFailures
    forgotten = row.last_failure_at < now - policy.password_forget_after_seconds
    set_ = {"failures": case((forgotten, 1), else_=row.failures + 1), "last_failure_at": now}
    open_ = (row.locked_until.is_(None) | (row.locked_until <= now)) & (
        (row.failures < policy.password_max_failures) | forgotten
    )
    values = {"identifier": identifier, "failures": 1, "last_failure_at": now}
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(row).values(**values)
        statement: Any = pg.on_conflict_do_update(
            index_elements=[row.identifier], set_=set_, where=open_
        )
    elif dialect == "sqlite":
        lite = sqlite.insert(row).values(**values)
        statement = lite.on_conflict_do_update(
            index_elements=[row.identifier], set_=set_, where=open_
        )
    else:  # pragma: no cover - the server runs on SQLite and PostgreSQL
        raise RuntimeError(f"no upsert for the {dialect} dialect")
    failures = db.execute(statement.returning(row.failures)).scalar_one_or_none()
    return None if failures is None else int(failures)


def reserve(db: Session, identifier: str, now: float, policy: Policy) -> Reservation:
    """Count this attempt as a failure up front, unless the address is locked.

    One atomic upsert: a new address starts at 1; a known one counts up unless
    it is locked or full. Failures older than ``forget_after_seconds`` start
    again from 1.
    """
    failures = _upsert_count(db, identifier, now, policy)
    if failures is not None:
        return Reservation(failures)
    row = db.get(SignInFailures, identifier)
    until = row.locked_until if row is not None else None
    # Full but not yet locked: a parallel attempt is being checked and will lock it.
    wait = (until - now) if until is not None and until > now else policy.password_lock_seconds
    return Reservation(None, retry_after=wait)


def settle_failure(db: Session, identifier: str, failures: int, now: float, policy: Policy) -> bool:
    """Keep the reserved failure; at ``max_failures`` lock the address. Whether a lock began.

    The count starts again after a lock (the next lock needs ``max_failures``
    more), and rows of long-quiet addresses are forgotten, so the table stays
    as small as the addresses tried in the last day.
    """
    db.execute(
        delete(SignInFailures).where(
            SignInFailures.last_failure_at < now - policy.password_forget_after_seconds,
            SignInFailures.locked_until.is_(None) | (SignInFailures.locked_until <= now),
        )
    )
    if failures < policy.password_max_failures:
        return False
    db.execute(
        update(SignInFailures)
        .where(SignInFailures.identifier == identifier)
        .values(failures=0, locked_until=now + policy.password_lock_seconds)
        .execution_options(synchronize_session=False)
    )
    return True


def claim_notice(db: Session, identifier: str, now: float) -> bool:
    """Whether this lock is mailed: at most one lock mail a day per address.

    Recorded for every address, known or not (the same statement either way).
    """
    day = 24 * 3600
    claimed = db.execute(
        update(SignInFailures)
        .where(
            SignInFailures.identifier == identifier,
            SignInFailures.notified_at.is_(None) | (SignInFailures.notified_at <= now - day),
        )
        .values(notified_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0))


def settle_success(db: Session, identifier: str) -> None:
    """The right password: the address's count starts again."""
    db.execute(
        update(SignInFailures)
        .where(SignInFailures.identifier == identifier)
        .values(failures=0)
        .execution_options(synchronize_session=False)
    )


def clear(db: Session, identifier: str) -> None:
    """An admin unlock: the address's count and lock are gone."""
    db.execute(delete(SignInFailures).where(SignInFailures.identifier == identifier))
