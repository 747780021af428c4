"""The sign-in code's statements on the database driver (``reference_server.driver_sql``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, event, insert, select, update

from reference_server.app import make_engine
from reference_server.driver_sql import Prepared, Statements, transaction
from reference_server.models import Agent, Base, Device

from .conftest import RS, Api


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    Base.metadata.create_all(made)
    with made.begin() as connection:
        connection.execute(
            insert(Agent),
            [
                {
                    "id": 1,
                    "email": "a@example.com",
                    "password_hash": "x",
                    "seat": "remote_support",
                    "role": "agent",
                    "created_at": 0.0,
                    "otp_failures": 0,
                    "otp_disabled": False,
                }
            ],
        )
    yield made
    made.dispose()


_FAILURES = select(Agent.otp_failures, Agent.otp_disabled).where(Agent.id == bindparam("agent_id"))
_COUNT = (
    update(Agent)
    .where(Agent.id == bindparam("agent_id"))
    .values(otp_failures=Agent.otp_failures + 1)
)


def _failures(engine: Engine) -> int:
    with transaction(engine) as db:
        row = db.first(_FAILURES, agent_id=1)
    assert row is not None
    return int(row[0])


def test_a_transaction_commits_at_its_end_and_gives_its_connection_back(engine: Engine) -> None:
    with transaction(engine) as db:
        assert db.run(_COUNT, agent_id=1) == 1
        assert db.run(_COUNT, agent_id=2) == 0  # no such agent: no row changed
    assert _failures(engine) == 1
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_an_error_rolls_the_transaction_back(engine: Engine) -> None:
    def refused() -> None:
        with transaction(engine) as db:
            db.run(_COUNT, agent_id=1)
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        refused()
    assert _failures(engine) == 0
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_connection_that_cannot_roll_back_is_not_given_back(engine: Engine) -> None:
    def lost() -> None:
        with transaction(engine) as db:
            db._connection.close()  # the server went away mid-transaction, say
            raise RuntimeError("lost")

    with pytest.raises(RuntimeError, match="lost"):  # the request's own error, not rollback's
        lost()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert _failures(engine) == 0  # the next transaction gets a working connection


def test_a_boolean_column_reads_as_a_bool_on_both_databases(engine: Engine) -> None:
    with transaction(engine) as db:
        row = db.first(_FAILURES, agent_id=1)
    assert row is not None
    assert Statements.flag(row[1]) is False


def test_the_statement_keeps_its_own_values_and_asks_for_the_others(engine: Engine) -> None:
    active = select(Device.id).where(
        Device.agent_id == bindparam("agent_id"), Device.status == "active"
    )
    found = Prepared.compile(active, engine.dialect)
    assert "active" in found.fixed.values()  # bound by the statement itself
    assert "agent_id" not in found.fixed
    with pytest.raises(KeyError):
        found.parameters({})  # a required parameter is never filled in silently
    with transaction(engine) as db:
        assert db.rows(active, agent_id=1) == []


def test_the_sign_in_code_runs_no_statement_through_sqlalchemy(api: Api) -> None:
    """The whole of ``POST /auth/otp`` is on the driver: not one Core or ORM execution."""
    enrolled = api.enroll(RS)
    token = api.token(RS, expect="verify_otp")
    executed: list[str] = []

    def seen(*args: Any) -> None:
        executed.append(str(args[2]))

    engine = api.services.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        wrong = api.otp(token, api.wrong(enrolled.generator))
        right = api.otp(token, api.code(enrolled.generator))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert executed == []
