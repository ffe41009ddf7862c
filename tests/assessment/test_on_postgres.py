"""The same hand-computed quarter on PostgreSQL: the queries, the timestamps with time zones and
the stored scorecards behave as on SQLite (migrated with the real migrations)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from pgcluster import MISSING, PostgresCluster, create_database, server_binaries

from config.settings import Settings
from postloan.assessment import service
from postloan.assessment.results import LEVELS
from postloan.db import get_engine, unit_of_work
from postloanctl.__main__ import migrate
from tests.assessment import portfolio
from tests.assessment.test_indicators import EXPECTED, _measured

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    if url := os.environ.get("POSTLOAN_TEST_POSTGRES_URL"):
        server, cluster = url.rstrip("/") + "/", None
    else:
        if server_binaries() is None:
            pytest.fail(MISSING)
        cluster = PostgresCluster().start()
        server = cluster.url
    try:
        db = create_database(server, f"assess_{uuid.uuid4().hex[:8]}")
        migrate(Settings(database_url=db))
        with unit_of_work(db) as session:
            portfolio.seed(session)
        yield db
        get_engine(db).dispose()
    finally:
        if cluster is not None:
            cluster.destroy()


def test_indicators_at_every_level_and_the_stored_copy(pg_url):
    with unit_of_work(pg_url) as session:
        for level in LEVELS:
            cards = service.scorecards(
                session, period=portfolio.PERIOD, level=level, today=portfolio.TODAY
            )
            assert _measured(cards) == EXPECTED[level], level
    with unit_of_work(pg_url) as session:
        computed = service.store_period(
            session, period=portfolio.PERIOD, actor="tests", today=portfolio.TODAY
        )
    with unit_of_work(pg_url) as session:
        for level in LEVELS:
            stored = service.scorecards(session, period=portfolio.PERIOD, level=level)
            assert stored == computed[level]
