# ruff: noqa: E501
"""opportunities (issue 11)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('opportunity',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('source_ref', sa.String(length=100), nullable=False),
    sa.Column('captured_by', sa.String(length=100), nullable=False),
    sa.Column('captured_on', sa.Date(), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('outcome_note', sa.Text(), nullable=False),
    sa.Column('outcome_by', sa.String(length=100), nullable=True),
    sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(outcome = 'open') = (outcome_at IS NULL)", name=op.f('ck_opportunity_outcome_settled_has_time')),
    sa.CheckConstraint("outcome IN ('open', 'won', 'lost', 'not_pursued')", name=op.f('ck_opportunity_outcome_known')),
    sa.CheckConstraint("source IN ('inspection', 'vendor_visit')", name=op.f('ck_opportunity_source_known')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_opportunity_customer_id_customer')),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], name=op.f('fk_opportunity_loan_id_loan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity')),
    sa.UniqueConstraint('source', 'source_ref', 'kind', name='uq_opportunity_source_ref_kind')
    )
    with op.batch_alter_table('opportunity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunity_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunity_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunity_outcome'), ['outcome'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('opportunity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_outcome'))
        batch_op.drop_index(batch_op.f('ix_opportunity_owner'))
        batch_op.drop_index(batch_op.f('ix_opportunity_kind'))
        batch_op.drop_index(batch_op.f('ix_opportunity_customer_id'))
    op.drop_table('opportunity')
