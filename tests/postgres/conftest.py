"""The tests that prove the system runs on PostgreSQL too: ``postgres_server`` (tests/conftest.py,
a throwaway PostgreSQL server) and ``create_database`` on it.

The server is ``POSTLOAN_TEST_POSTGRES_URL`` when given (``postgresql+psycopg://user@host:port/``,
a role allowed to create databases; ``tests/conftest.py`` sets it to its own cluster on the
PostgreSQL pass); otherwise a private cluster with Debian's server binaries (tests/pgcluster.py).
"""

from __future__ import annotations

from pgcluster import create_database as create_database
