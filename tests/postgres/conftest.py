"""A throwaway PostgreSQL server for the tests that prove the system runs on PostgreSQL too.

Uses ``POSTLOAN_TEST_POSTGRES_URL`` when given (``postgresql+psycopg://user@host:port/``, a role
allowed to create databases; ``tests/conftest.py`` sets it to its own cluster on the PostgreSQL
pass); otherwise starts a private cluster with Debian's server binaries (``tests/pgcluster.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from pgcluster import MISSING, PostgresCluster, server_binaries
from pgcluster import create_database as create_database


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A base URL without database name, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5/``."""
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
