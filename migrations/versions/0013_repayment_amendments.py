# ruff: noqa: E501
"""one instalment per loan, due date and kind; corrections as amendments

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 13:40:00

``repayment``: unique per (loan_id, due_on, kind) instead of (loan_id, due_on), so a principal and
an interest instalment may fall on the same day while the same instalment posted twice is refused.
``repayment_amendment``: every correction of a recorded instalment (the values before and after,
the reason, who and when), so the original stays on record.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('repayment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_repayment_loan_id', type_='unique')
        batch_op.create_unique_constraint('uq_repayment_loan_id', ['loan_id', 'due_on', 'kind'])
    op.create_table('repayment_amendment',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('repayment_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('amended_by', sa.String(length=100), nullable=False),
    sa.Column('amended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], name=op.f('fk_repayment_amendment_loan_id_loan')),
    sa.ForeignKeyConstraint(['repayment_id'], ['repayment.id'], name=op.f('fk_repayment_amendment_repayment_id_repayment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repayment_amendment'))
    )
    with op.batch_alter_table('repayment_amendment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repayment_amendment_repayment_id'), ['repayment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repayment_amendment_loan_id'), ['loan_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('repayment_amendment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repayment_amendment_loan_id'))
        batch_op.drop_index(batch_op.f('ix_repayment_amendment_repayment_id'))
    op.drop_table('repayment_amendment')
    with op.batch_alter_table('repayment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_repayment_loan_id', type_='unique')
        batch_op.create_unique_constraint('uq_repayment_loan_id', ['loan_id', 'due_on'])
