"""Fixtures of the dashboard tests: fresh migrated SQLite copies (tests/sqlite_template.py), and
a throwaway PostgreSQL server for the queries' PostgreSQL pass (as tests/postgres/ has)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pgcluster import MISSING, PostgresCluster, server_binaries
from sqlite_template import sqlite_template

__all__ = ["postgres_server", "sqlite_template"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A base URL without database name (``POSTLOAN_TEST_POSTGRES_URL`` or a private cluster)."""
    if url := os.environ.get("POSTLOAN_TEST_POSTGRES_URL"):
        yield url.rstrip("/") + "/"
        return
    if server_binaries() is None:
        pytest.fail(MISSING)
    cluster = PostgresCluster().start()
    try:
        yield cluster.url
    finally:
        cluster.destroy()
