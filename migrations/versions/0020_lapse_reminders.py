# ruff: noqa: E501
"""lapse reminders (issue 11): the dates that can lapse (customer rating validity and annual
review, credit line expiry, collateral revaluation and insurance) and what was done on a reminder

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating_valid_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("annual_review_due_on", sa.Date(), nullable=True))
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_line_expires_on", sa.Date(), nullable=True))
    with op.batch_alter_table("collateral", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_valuation_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("insurance_expires_on", sa.Date(), nullable=True))
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action_taken", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("action_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("new_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("done_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_column("done_at")
        batch_op.drop_column("done_by")
        batch_op.drop_column("new_due_on")
        batch_op.drop_column("action_note")
        batch_op.drop_column("action_taken")
    with op.batch_alter_table("collateral", schema=None) as batch_op:
        batch_op.drop_column("insurance_expires_on")
        batch_op.drop_column("next_valuation_due_on")
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_column("credit_line_expires_on")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("annual_review_due_on")
        batch_op.drop_column("rating_valid_until")
