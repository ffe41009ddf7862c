# ruff: noqa: E501
"""covenants (issue 11)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('covenant',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('approval_condition_id', sa.Integer(), nullable=True),
    sa.Column('ratio', sa.String(length=40), nullable=False),
    sa.Column('operator', sa.String(length=2), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('frequency', sa.String(length=20), nullable=False),
    sa.Column('tested_from', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("operator IN ('<', '<=', '>', '>=')", name=op.f('ck_covenant_operator_known')),
    sa.ForeignKeyConstraint(['approval_condition_id'], ['approval_condition.id'], name=op.f('fk_covenant_approval_condition_id_approval_condition')),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], name=op.f('fk_covenant_loan_id_loan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_covenant'))
    )
    with op.batch_alter_table('covenant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_covenant_loan_id'), ['loan_id'], unique=False)

    op.create_table('covenant_test',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('covenant_id', sa.Integer(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('statement_period_end', sa.Date(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Numeric(precision=24, scale=6), nullable=True),
    sa.Column('operator', sa.String(length=2), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('margin', sa.Float(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('signal_id', sa.Integer(), nullable=True),
    sa.Column('missing_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tested_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['covenant_id'], ['covenant.id'], name=op.f('fk_covenant_test_covenant_id_covenant')),
    sa.ForeignKeyConstraint(['signal_id'], ['risk_signal.id'], name=op.f('fk_covenant_test_signal_id_risk_signal')),
    sa.ForeignKeyConstraint(['statement_id'], ['financial_statement.id'], name=op.f('fk_covenant_test_statement_id_financial_statement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_covenant_test')),
    sa.UniqueConstraint('covenant_id', 'period_end', name=op.f('uq_covenant_test_covenant_id'))
    )
    with op.batch_alter_table('covenant_test', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_covenant_test_covenant_id'), ['covenant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('covenant_test', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_covenant_test_covenant_id'))
    op.drop_table('covenant_test')
    with op.batch_alter_table('covenant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_covenant_loan_id'))
    op.drop_table('covenant')
