"""Core statements run straight on the database driver: the sign-in code's path.

Profiled (``make bench``'s notes in docs/reference-server.md), a wrong sign-in code
spent about 0.6 of its 1 ms in SQLAlchemy: the ORM session and its entities, and about
50 µs of Core per statement, against 10 µs for the same statement on the driver's cursor.
So the statements of ``POST /auth/otp`` are declared in Core like every other (one
declaration, both databases), compiled once per dialect to the driver's own SQL, and
run on the DBAPI connection: of a transaction of its own (``transaction``) or of an ORM
session's (``Statements.of_session``, which flushes the session first).

Only what Core would do for these statements is kept: the statement's literal binds
(``compiled.params``), positional or named parameters as the driver takes them, and
``bool`` for SQLite's 0/1 (``Statements.flag``). Nothing here passes the driver a
value Core would process (no dates, no JSON): the columns read and written are numbers,
booleans, text and bytes, which both drivers take as Python gives them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

Row = Sequence[Any]


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for one dialect: its SQL and how its parameters go in."""

    sql: str
    #: The parameters' order for a positional driver (SQLite's ``?``); None: by name.
    order: tuple[str, ...] | None
    #: Values the statement binds itself (``status == "active"``).
    fixed: Mapping[str, Any]
    #: The parameters every run must give (its ``bindparam()``s without a value).
    required: frozenset[str]

    @classmethod
    def compile(cls, statement: Executable, dialect: Dialect) -> Prepared:
        compiled: Any = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        # A bindparam() without a value must be given at every run (as Core demands).
        fixed = {
            name: value
            for name, value in compiled.params.items()
            if not compiled.binds[name].required
        }
        order = None if compiled.positiontup is None else tuple(compiled.positiontup)
        return cls(str(compiled), order, fixed, frozenset(compiled.params) - fixed.keys())

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        """The values as the driver takes them: in order, or by name."""
        missing = self.required - values.keys()
        if missing:
            raise KeyError(f"no value for {', '.join(sorted(missing))} in: {self.sql}")
        merged = {**self.fixed, **values}
        if self.order is None:
            return merged
        return tuple(merged[name] for name in self.order)


#: Compiled statements, by dialect (name, driver, paramstyle) and statement object: the
#: statements are module constants (and one claim per replay guard and policy).
_PREPARED: Final[dict[tuple[str, str, str, int], tuple[Executable, Prepared]]] = {}
_PREPARED_LOCK: Final = threading.Lock()


def prepared(statement: Executable, dialect: Dialect) -> Prepared:
    """``statement`` compiled for ``dialect``, once per process."""
    key = (dialect.name, dialect.driver, dialect.paramstyle, id(statement))
    found = _PREPARED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    made = Prepared.compile(statement, dialect)
    with _PREPARED_LOCK:
        # The statement is kept with its SQL, so its id cannot be reused by another.
        _PREPARED[key] = (statement, made)
    return made


class Statements:
    """Core statements on one DBAPI connection, in the transaction it has open."""

    def __init__(self, dbapi_connection: Any, dialect: Dialect) -> None:
        self._connection = dbapi_connection
        self.dialect = dialect

    @classmethod
    def of_session(cls, db: Session) -> Statements:
        """The statements of ``db``'s transaction (what it changed so far is flushed first)."""
        db.flush()
        connection = db.connection()
        return cls(connection.connection.dbapi_connection, connection.dialect)

    def _cursor(self, statement: Executable, values: Mapping[str, Any]) -> Any:
        found = prepared(statement, self.dialect)
        cursor = self._connection.cursor()
        try:
            cursor.execute(found.sql, found.parameters(values))
        except BaseException:
            cursor.close()
            raise
        return cursor

    def rows(self, statement: Executable, **values: Any) -> list[Row]:
        """Every row the statement returns (an UPDATE ... RETURNING runs to its end)."""
        cursor = self._cursor(statement, values)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def first(self, statement: Executable, **values: Any) -> Row | None:
        """The statement's first row, or None."""
        found = self.rows(statement, **values)
        return found[0] if found else None

    def run(self, statement: Executable, **values: Any) -> int:
        """Run an INSERT, UPDATE or DELETE; the rows it changed."""
        cursor = self._cursor(statement, values)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def first_sql(self, sql: str) -> Row | None:
        """A constant SQL text's first row (one every database here runs as it is)."""
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetchone()  # type: ignore[no-any-return]
        finally:
            cursor.close()

    @staticmethod
    def flag(value: Any) -> bool:
        """A boolean column as read (SQLite gives 0 or 1)."""
        return bool(value)


@contextmanager
def transaction(engine: Engine) -> Iterator[Statements]:
    """A pooled connection in one transaction: committed at the end, rolled back on error."""
    raw = engine.raw_connection()
    try:
        statements = Statements(raw.dbapi_connection, engine.dialect)
        try:
            yield statements
        except BaseException:
            try:
                raw.rollback()
            except Exception:
                raw.invalidate()  # a connection that cannot roll back (gone) is not reused
            raise
        raw.commit()
    finally:
        raw.close()  # back to the pool
