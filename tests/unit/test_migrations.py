"""Migrations build exactly the schema the models describe (no forgotten migration)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from config.settings import Settings
from postloan.db import get_engine
from postloan.models import Base
from postloanctl.__main__ import migrate


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(Settings(database_url=url))
    with get_engine(url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
