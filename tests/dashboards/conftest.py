"""Fixtures of the dashboard tests: fresh migrated SQLite copies (tests/sqlite_template.py); the
queries' PostgreSQL pass uses the suite's ``postgres_server`` (tests/conftest.py)."""

from __future__ import annotations

from sqlite_template import sqlite_template

__all__ = ["sqlite_template"]
