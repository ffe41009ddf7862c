# ruff: noqa: E501
"""reminders: the reminder table (issue 11, reminders that prevent lapses)

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02 20:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reminder',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=True),
    sa.Column('customer_id', sa.String(length=64), nullable=True),
    sa.Column('collateral_id', sa.String(length=64), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('addressee_role', sa.String(length=40), nullable=False),
    sa.Column('addressee_user', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_reminder_customer_id_customer')),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], name=op.f('fk_reminder_loan_id_loan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_reminder_dedupe_key'))
    )
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_due_on'), ['due_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_due_on'))
        batch_op.drop_index(batch_op.f('ix_reminder_customer_id'))
        batch_op.drop_index(batch_op.f('ix_reminder_loan_id'))
    op.drop_table('reminder')
