"""Fixtures of the reminder tests: fresh migrated SQLite copies (tests/sqlite_template.py)."""

from sqlite_template import sqlite_template

__all__ = ["sqlite_template"]
