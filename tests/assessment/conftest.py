"""Fixtures of the assessment tests: a fresh migrated SQLite copy with a small portfolio seeded
by hand (``portfolio.seed``), no engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlite_template import copy_of, sqlite_template

from postloan.db import get_engine, unit_of_work
from tests.assessment import portfolio

__all__ = ["sqlite_template"]


@pytest.fixture
def db(tmp_path, sqlite_template) -> Iterator[str]:
    url = copy_of(sqlite_template, tmp_path / "assessment.db")
    with unit_of_work(url) as session:
        portfolio.seed(session)
    yield url
    get_engine(url).dispose()
