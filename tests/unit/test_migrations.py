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


def test_the_migration_history_is_linear():
    """One head, and every revision has at most one parent and one child: no forks to merge."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from config.settings import ROOT

    scripts = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    assert len(scripts.get_heads()) == 1
    children: dict[str, list[str]] = {}
    for revision in scripts.walk_revisions():
        parents = revision.down_revision
        assert not isinstance(parents, (tuple, list)), f"{revision.revision} merges {parents}"
        if parents:
            children.setdefault(parents, []).append(revision.revision)
    forks = {parent: kids for parent, kids in children.items() if len(kids) > 1}
    assert forks == {}
