"""inspection.rework_count: how often the inspection work was returned for rework

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-28 17:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inspection') as batch:
        batch.add_column(sa.Column('rework_count', sa.Integer(), server_default='0',
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('inspection') as batch:
        batch.drop_column('rework_count')
