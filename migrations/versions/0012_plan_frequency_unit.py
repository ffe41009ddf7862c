# ruff: noqa: E501
"""inspection_plan.frequency and frequency_unit: a frequency in days, weeks or months

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 13:25:00

The ``inspection_plan`` decision now answers ``frequency`` with ``frequency_unit`` (days, weeks
or months), so a loan in trouble can be watched weekly. Existing plans were in months: they keep
their value with the unit ``months``. ``frequency_months`` stays (the API shows it for
compatibility) and is null for a plan not in whole months.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inspection_plan') as batch:
        batch.add_column(sa.Column('frequency', sa.Integer(), server_default='3', nullable=False))
        batch.add_column(sa.Column('frequency_unit', sa.String(length=10), server_default='months', nullable=False))
        batch.alter_column('frequency_months', existing_type=sa.Integer(), nullable=True)
    op.execute("UPDATE inspection_plan SET frequency = frequency_months, frequency_unit = 'months' WHERE frequency_months IS NOT NULL")


def downgrade() -> None:
    op.execute("UPDATE inspection_plan SET frequency_months = CASE frequency_unit WHEN 'months' THEN frequency ELSE 1 END")
    with op.batch_alter_table('inspection_plan') as batch:
        batch.alter_column('frequency_months', existing_type=sa.Integer(), nullable=False)
        batch.drop_column('frequency_unit')
        batch.drop_column('frequency')
