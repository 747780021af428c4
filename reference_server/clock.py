"""The server's clock: real time, or a time the harness set that stands still.

Every time-dependent decision (TOTP steps, email-code expiry, locks, token
lifetimes) reads ``ServerClock.now()``; nothing reads ``time.time()`` directly,
so the harness can move the server through time steps without sleeping.

``ServerClock`` keeps the harness's time in memory (one process: the in-process
tests). ``DatabaseClock`` keeps it in a row of the database, so every worker
process of one server (and every server on one database) reads the same clock;
it reads the row at most once per request.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import Engine, delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from .models import HarnessClock

#: The one row of ``harness_clock``.
CLOCK_ROW: Final = 1
#: Its read, as plain SQL every database here runs (SQLite, PostgreSQL): about 10 µs.
_READ_ROW: Final = f"SELECT fixed_at FROM {HarnessClock.__tablename__} WHERE id = {CLOCK_ROW}"  # noqa: S608


def system_time() -> float:
    """The system's time, looked up on every call (so a frozen ``time.time`` is seen)."""
    return time.time()


class ServerClock:
    """Real time until set; once set (or advanced) it stands still until set again."""

    def __init__(self, source: Callable[[], float] = system_time) -> None:
        self._source = source
        self._fixed: float | None = None
        self._lock = threading.Lock()

    def now(self, via: SqlReader | None = None) -> float:
        """The current server time in Unix seconds.

        ``via``: the transaction the caller has open on the driver, where a clock kept
        in the database reads it (one statement more there, not a connection of its own).
        """
        fixed = self._fixed_time(via)
        return self._source() if fixed is None else fixed

    @property
    def frozen(self) -> bool:
        """True while the clock stands still at a time the harness set."""
        return self._fixed_time() is not None

    def set(self, unix_seconds: float) -> float:
        """Put the clock at an absolute time; it stays there."""
        with self._lock:
            self._fixed = float(unix_seconds)
            return self._fixed

    def advance(self, seconds: float) -> float:
        """Move the clock by ``seconds`` from where it is now; it stays there."""
        with self._lock:
            base = self._source() if self._fixed is None else self._fixed
            self._fixed = base + float(seconds)
            return self._fixed

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._fixed = None

    def _fixed_time(self, via: SqlReader | None = None) -> float | None:
        with self._lock:
            return self._fixed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fixed={self._fixed_time()!r})"


class SqlReader(Protocol):
    """An open transaction that runs a constant SQL text (``driver_sql.Statements``)."""

    def first_sql(self, sql: str) -> Sequence[Any] | None: ...


@dataclass(frozen=True)
class _Read:
    """What this request read from the clock row (``None``: real time)."""

    fixed: float | None


#: Cache states of a thread: outside a request, or in one that has not read the row yet.
_OUTSIDE: Final = "outside a request"
_UNREAD: Final = "not read yet"


class DatabaseClock(ServerClock):
    """The harness clock in the database (``harness_clock``): shared by every process.

    No row (or a null time) is real time. Inside a request the row is read once,
    at the first ``now()``, and that value serves the rest of the request
    (``request_started``/``request_finished`` bracket each request); outside a
    request every call reads the row. With ``read_through(sessions)``, a read made
    while this thread has a session of ``sessions`` open runs on that session's
    connection (one statement more in its transaction) instead of a connection of
    its own (on PostgreSQL a pool checkout with its ping, the SELECT and a rollback).
    """

    def __init__(self, engine: Engine, source: Callable[[], float] = system_time) -> None:
        super().__init__(source)
        self._engine = engine
        self._request = threading.local()
        self._open = threading.local()

    def read_through(self, sessions: sessionmaker[Session]) -> None:
        """Read the row through the session this thread has open, when it has one.

        The listeners hold the clock weakly: they live on the sessionmaker's Session
        class, which only the cyclic garbage collector frees, and the clock holds the
        engine (whose pool must go when the app does, not at some later collection).
        """
        clock = weakref.ref(self)

        def created(session: Session, transaction: SessionTransaction) -> None:
            found = clock()
            if found is not None:
                found._transaction_created(session, transaction)

        def ended(session: Session, transaction: SessionTransaction) -> None:
            found = clock()
            if found is not None:
                found._transaction_ended(session, transaction)

        event.listen(sessions, "after_transaction_create", created)
        event.listen(sessions, "after_transaction_end", ended)

    def _transaction_created(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            stack: list[Session] = self._open.__dict__.setdefault("sessions", [])
            stack.append(session)

    def _transaction_ended(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            stack: list[Session] = self._open.__dict__.get("sessions", [])
            if session in stack:
                stack.remove(session)

    def request_started(self) -> None:
        """A request begins on this thread: its first ``now()`` reads the row."""
        self._request.cache = _UNREAD

    def request_finished(self, _error: BaseException | None = None) -> None:
        """The request ended: forget what it read."""
        self._request.cache = _OUTSIDE

    def _fixed_time(self, via: SqlReader | None = None) -> float | None:
        cache: _Read | str = getattr(self._request, "cache", _OUTSIDE)
        if isinstance(cache, _Read):
            return cache.fixed
        fixed = self._read(via)
        if cache == _UNREAD:
            self._request.cache = _Read(fixed)
        return fixed

    def _read(self, via: SqlReader | None = None) -> float | None:
        """The row's time, straight through the driver: this runs on every request."""
        if via is not None:
            row = via.first_sql(_READ_ROW)
            return None if row is None or row[0] is None else float(row[0])
        stack: list[Session] = self._open.__dict__.get("sessions", [])
        if stack:
            row = stack[-1].connection().exec_driver_sql(_READ_ROW).first()
            return None if row is None or row[0] is None else float(row[0])
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(_READ_ROW)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool, which ends the read transaction
        return None if row is None or row[0] is None else float(row[0])

    def _remember(self, fixed: float | None) -> None:
        """A move made in this request is what the rest of the request reads."""
        if getattr(self._request, "cache", _OUTSIDE) != _OUTSIDE:
            self._request.cache = _Read(fixed)

    def set(self, unix_seconds: float) -> float:
        fixed = self._write(lambda _current: float(unix_seconds))
        self._remember(fixed)
        return fixed

    def advance(self, seconds: float) -> float:
        delta = float(seconds)
        fixed = self._write(
            lambda current: (self._source() if current is None else current) + delta
        )
        self._remember(fixed)
        return fixed

    def reset(self) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(HarnessClock))
        self._remember(None)

    def _write(self, new_time: Callable[[float | None], float]) -> float:
        """Write the row in one transaction (insert it the first time); the new time."""
        row = HarnessClock.id == CLOCK_ROW
        for _attempt in range(3):
            try:
                with self._engine.begin() as connection:
                    # Lock the row first (a no-op UPDATE), so two processes moving the
                    # clock at once apply one move after the other.
                    found = connection.execute(
                        update(HarnessClock).where(row).values(fixed_at=HarnessClock.fixed_at)
                    ).rowcount
                    fixed = new_time(connection.scalar(select(HarnessClock.fixed_at).where(row)))
                    if found:
                        connection.execute(update(HarnessClock).where(row).values(fixed_at=fixed))
                    else:
                        connection.execute(
                            insert(HarnessClock).values(id=CLOCK_ROW, fixed_at=fixed)
                        )
                    return fixed
            except IntegrityError:
                continue  # another process inserted the row first: update it now
        raise RuntimeError("the harness clock row could not be written")

    def __repr__(self) -> str:
        return f"DatabaseClock({self._engine.url.render_as_string(hide_password=True)})"
