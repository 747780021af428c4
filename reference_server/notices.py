"""Security notices to an agent's address, through an outbox.

A notice (a device bound, sign-in locked, enrollment locked) is written as a
``Notice`` row in the same transaction as the event it reports, so it exists
exactly when the event does: a binding whose mail fails to go out is still a
binding, and a binding rolled back mails nothing. It is handed to SMTP after
the response has been sent (``outbox.deliver_after_response``):

- the request never holds a database write lock while the embedded SMTP server
  (same process, harness mode) stores the captured mail, the reason
  ``flow.enrollment._mail_code`` mails *before* writing;
- a sign-in that locks a known address answers as fast as one that locks an
  unknown address (no SMTP round trip inside the answer's time);
- a refused send is logged (without the body) and retried by the next request
  that delivers notices, up to ``outbox.MAX_ATTEMPTS``.

A notice carries no code, no secret and no part of the key; it says what
happened, when (server time, UTC), and what to do if it was not the agent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy.orm import Session

from .models import Notice

_IF_NOT_YOU: Final = (
    "If this was not you, someone knows your password: change it now and tell your "
    "account admin, who can see the devices on your account and unlock it."
)


def _when(unix: float) -> str:
    """Server time as a person reads it: ``2033-05-18 03:33 UTC`` (no six-digit run)."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M UTC")


def device_bound(now: float, *, replaced: bool) -> tuple[str, str]:
    """(subject, body) of the mail sent when a device is bound (enrollment or a new device)."""
    if replaced:
        subject = "A new mobile device was set up for Two-Factor Authentication"
        what = (
            f"On {_when(now)} a new mobile device was set up for Two-Factor Authentication "
            "on your Remote Support account. It replaces the previously established "
            "Two-Factor Authentication tied to your account: codes from the old device "
            "no longer work."
        )
    else:
        subject = "Two-Factor Authentication enrollment complete"
        what = (
            f"On {_when(now)} you completed the Two-Factor Authentication enrollment for "
            "your Remote Support account. From now on you will enter a new code from your "
            "authenticator app to log in and host support sessions."
        )
    return subject, f"Hello,\n\n{what}\n\n{_IF_NOT_YOU}\n"


def sign_in_locked(now: float, failures: int, until: float) -> tuple[str, str]:
    """(subject, body) of the mail sent to the owner when wrong passwords lock sign-in."""
    body = (
        "Hello,\n\n"
        f"The password for your Remote Support account was entered wrongly {failures} "
        f"times in a row, so sign-in is locked until {_when(until)} (it was locked on "
        f"{_when(now)}).\n\n"
        "If this was you, wait and try again. If it was not, someone may be trying to "
        "guess your password: choose a new one and tell your account admin.\n"
    )
    return "Sign-in locked", body


def email_budget_spent(now: float, budget: int, until: float) -> tuple[str, str]:
    """(subject, body) of the mail sent when the account's wrong email codes reach the budget."""
    body = (
        "Hello,\n\n"
        f"{budget} wrong email verification codes were entered for your Remote Support "
        f"account by {_when(now)}, so Two-Factor Authentication enrollment and setting up "
        f"a new mobile device are locked until {_when(until)}. Signing in with your "
        "current device still works.\n\n"
        f"{_IF_NOT_YOU}\n"
    )
    return "Two-Factor Authentication enrollment locked", body


def queue(db: Session, to: str, subject: str, body: str, now: float) -> None:
    """Queue a notice in the caller's transaction: it exists exactly when the event does."""
    db.add(Notice(to=to, subject=subject, body=body, queued_at=now, status="pending", attempts=0))
