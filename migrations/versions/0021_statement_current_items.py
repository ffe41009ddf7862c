"""financial statements carry optional current assets and current liabilities (issue 11): the
current ratio covenant

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("financial_statement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("current_assets", sa.Numeric(precision=18, scale=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column("current_liabilities", sa.Numeric(precision=18, scale=2), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("financial_statement", schema=None) as batch_op:
        batch_op.drop_column("current_liabilities")
        batch_op.drop_column("current_assets")
