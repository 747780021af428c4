"""Delivering the queued security notices (``notices``) once a response is sent.

A view that may queue a notice is marked ``@delivers_notices``; its
blueprint's ``after_request`` hook (``deliver_after_response``) then hands the
pending notices to SMTP when the server closes the response, that is after
the client has it. Each notice is claimed with a conditional UPDATE (one
process sends it), sent outside any transaction, then marked sent; a refused
send goes back to pending and is retried by the next delivery.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

from flask import Response, g
from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select, update

from .mail import MailError
from .models import Notice
from .services import Services, services

log = logging.getLogger(__name__)

#: Refused sends before a notice is given up (and logged as an error).
MAX_ATTEMPTS: Final = 20
#: A notice claimed longer ago than this (server time) was lost with its process: retry it.
CLAIM_SECONDS: Final = 300.0
#: Notices handed to SMTP by one delivery at most.
BATCH: Final = 20


def _claim(svc: Services, notice_id: int, now: float) -> Notice | None:
    """Take one notice for this process (conditional UPDATE: no two workers send it)."""
    with svc.sessions.begin() as db:
        claimed = db.execute(
            update(Notice)
            .where(
                Notice.id == notice_id,
                or_(
                    Notice.status == "pending",
                    (Notice.status == "sending") & (Notice.claimed_at < now - CLAIM_SECONDS),
                ),
            )
            .values(status="sending", claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        if not getattr(claimed, "rowcount", 0):
            return None
        return db.get(Notice, notice_id)


def _settle(svc: Services, notice: Notice, *, sent: bool, now: float) -> None:
    with svc.sessions.begin() as db:
        row = db.get(Notice, notice.id)
        if row is None:  # a harness reset emptied the outbox meanwhile
            return
        if sent:
            row.status, row.sent_at = "sent", now
            return
        row.attempts += 1
        row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
        row.claimed_at = None
        if row.status == "failed":
            log.error("security notice %d given up after %d refused sends", row.id, row.attempts)


def deliver_pending(svc: Services) -> int:
    """Hand the pending notices to SMTP, oldest first; how many went out.

    Never raises: it runs after the response, where nobody could answer an error.
    """
    sent = 0
    try:
        now = svc.clock.now()
        with svc.sessions.begin() as db:
            ids = list(
                db.scalars(
                    select(Notice.id)
                    .where(
                        or_(
                            Notice.status == "pending",
                            (Notice.status == "sending")
                            & (Notice.claimed_at < now - CLAIM_SECONDS),
                        )
                    )
                    .order_by(Notice.id)
                    .limit(BATCH)
                )
            )
        for notice_id in ids:
            notice = _claim(svc, notice_id, now)
            if notice is None:
                continue
            if svc.mailer is None:
                log.warning("security notice %d not sent: no SMTP server configured", notice.id)
                _settle(svc, notice, sent=False, now=now)
                continue
            try:
                svc.mailer.send(notice.to, notice.subject, notice.body)
            except MailError:
                log.warning("security notice %d refused by SMTP; it will be retried", notice.id)
                _settle(svc, notice, sent=False, now=now)
                continue
            _settle(svc, notice, sent=True, now=now)
            sent += 1
    except Exception:  # after the response: log, never raise
        log.exception("delivering security notices failed")
    return sent


P = ParamSpec("P")
R = TypeVar("R", bound=ResponseReturnValue)


def delivers_notices(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view whose flow may queue notices: they are sent once its response is."""

    @functools.wraps(view)
    def marked(*args: P.args, **kwargs: P.kwargs) -> R:
        g.twofa_delivers_notices = True
        return view(*args, **kwargs)

    return marked


def deliver_after_response(response: Response) -> Response:
    """``after_request`` hook: after a marked view's response is sent, deliver the notices.

    Runs for the marked view's errors too (a sign-in that locks answers 423).
    """
    if g.pop("twofa_delivers_notices", False):
        svc = services()
        response.call_on_close(functools.partial(deliver_pending, svc))
    return response
