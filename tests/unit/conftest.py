"""Unit-test fixtures: a fresh migrated SQLite file per test is a copy of the session's template."""

from __future__ import annotations

from sqlite_template import sqlite_template

__all__ = ["sqlite_template"]
