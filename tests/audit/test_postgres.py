"""The same guarantees on PostgreSQL: triggers, one chain under concurrency, tampering found."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from postloan import audit
from postloan.db import get_engine, get_session_factory, unit_of_work

from .conftest import completed_inspection, create_database, migrated
from .test_chain import append, concurrent_appenders, entries, verified

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(postgres_server, request):
    name = "audit_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    url = migrated(create_database(postgres_server, name))
    yield url
    get_engine(url).dispose()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
        "TRUNCATE audit_event",
        "UPDATE audit_chain_head SET seq = 0",
        "DELETE FROM audit_chain_head",
        "TRUNCATE audit_chain_head",
    ],
)
def test_the_triggers_refuse_changes(pg_url, sql):
    append(pg_url, 2)
    with pytest.raises(Exception, match="append-only|only moves forward"):
        with unit_of_work(pg_url) as session:
            session.execute(text(sql))
    assert [(e.seq, e.actor) for e in entries(pg_url)] == [(1, "tests"), (2, "tests")]
    assert verified(pg_url).intact


def test_concurrent_appenders_on_postgresql_give_one_chain(pg_url):
    threads, transactions, per = 8, 15, 3
    errors = concurrent_appenders(pg_url, threads, transactions, per, business=True)
    assert errors == []
    rows = entries(pg_url)
    assert [e.seq for e in rows] == list(range(1, threads * transactions * per + 1))
    result = verified(pg_url)
    assert result.intact, result.findings[:5]
    assert result.entries == len(rows)


def test_tampering_on_postgresql_is_found(pg_url):
    inspection_id = completed_inspection(pg_url)
    append(pg_url, 20 - len(entries(pg_url)))
    result = verified(pg_url)
    assert result.intact and (result.entries, result.reports) == (20, 1)
    with get_engine(pg_url).begin() as connection:  # the insider DBA
        connection.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
        connection.execute(text("UPDATE audit_event SET actor = 'someone else' WHERE seq = 4"))
        connection.execute(text("DELETE FROM audit_event WHERE seq = 12"))
        connection.execute(
            text(
                "UPDATE inspection SET report = (report::jsonb || "
                '\'{"rework_count": 0, "forged": true}\')::json '
                "WHERE id = :id"
            ),
            {"id": inspection_id},
        )
    session = get_session_factory(pg_url)()
    try:
        from postloan import audit

        found = {(f.kind, f.seq) for f in audit.verify(session).findings}
    finally:
        session.close()
    assert ("altered", 4) in found and ("missing", 13) in found and ("broken_link", 13) in found
    assert any(kind == "report_altered" for kind, _ in found)


def test_migrations_match_the_models_and_downgrade_cleanly(pg_url):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from config.settings import ROOT
    from postloan.models import Base

    with get_engine(pg_url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    append(pg_url, 3)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = pg_url
    config.attributes["configure_logger"] = False
    command.downgrade(config, "0008")
    assert "audit_chain_head" not in inspect(get_engine(pg_url)).get_table_names()
    with get_engine(pg_url).begin() as connection:  # plain table again: no trigger left
        connection.execute(text("UPDATE audit_event SET actor = 'x'"))
    command.upgrade(config, "head")  # and the chain is rebuilt over the same rows
    assert verified(pg_url).intact and len(entries(pg_url)) == 3


def test_a_transaction_with_audit_entries_takes_the_head_only_when_it_commits(pg_url):
    """The head is the last lock: one transaction records an entry and then waits (as a worker
    locking a signal row would); another records and commits meanwhile without waiting for it.
    Before, the first flush took the head and held it to the end, and the two deadlocked when
    the second then wanted a row the first held."""
    with unit_of_work(pg_url) as first:
        audit.record(first, actor="worker", action="test.first", object_type="test", object_id="1")
        first.flush()  # a flush mid-transaction (autoflush of a query) does not claim the head
        first.execute(text("SELECT 1"))
        with unit_of_work(pg_url) as second:
            second.execute(text("SET LOCAL lock_timeout = '3s'"))
            audit.record(
                second, actor="api", action="test.second", object_type="test", object_id="2"
            )
        # the second committed while the first was open: it is first in the chain
    assert [(e.seq, e.action) for e in entries(pg_url)] == [(1, "test.second"), (2, "test.first")]
    assert verified(pg_url).intact
