"""A fresh migrated SQLite database per test, in milliseconds (importable: tests/ is on the path).

Running the migrations takes the better part of a second; copying a database file takes a few
milliseconds. So the session migrates one template database (``sqlite_template``, the real
``postloan migrate``) and each test that wants a fresh database of its own gets a copy of it
(``copy_of``): the same schema, triggers and ``alembic_version`` a migration gives. Tests of the
migrations themselves still run them.

A conftest makes the fixture visible with ``from sqlite_template import sqlite_template``.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest


def migrated_template(folder: Path) -> Path:
    """A database in ``folder`` migrated to head by ``postloan migrate``; its engine disposed."""
    from config.settings import Settings
    from postloan.db import get_engine
    from postloanctl.__main__ import migrate

    path = folder / "template.db"
    url = f"sqlite:///{path}"
    migrate(Settings(database_url=url))
    get_engine(url).dispose()
    return path


def copy_of(template: Path, path: Path) -> str:
    """A copy of the template at ``path`` (SQLite's online backup, so the copy is consistent
    whatever the template's journal holds); its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's migrated template database (never written to: tests get ``copy_of`` it)."""
    return migrated_template(tmp_path_factory.mktemp("sqlite-template"))
