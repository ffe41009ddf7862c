# ruff: noqa: E501
"""signal handling (issue 11)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OPEN = "status = 'open'"
SIGNAL_COLUMNS = (
    ('handling_state', sa.String(length=30)),
    ('response_kind', sa.String(length=20)),
    ('response_text', sa.Text()),
    ('responded_by', sa.String(length=100)),
    ('responded_at', sa.DateTime(timezone=True)),
    ('confirmed_by', sa.String(length=100)),
    ('confirmed_at', sa.DateTime(timezone=True)),
    ('confirmation_comment', sa.Text()),
    ('rectification_id', sa.String(length=64)),
)


def upgrade() -> None:
    op.create_table('signal_handling',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('process_instance_id', sa.String(length=64), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_signal_handling_status_known')),
    sa.CheckConstraint('escalation_level >= 0', name=op.f('ck_signal_handling_escalation_level_positive')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_signal_handling_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_handling'))
    )
    with op.batch_alter_table('signal_handling', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signal_handling_customer_id'), ['customer_id'], unique=False)
    op.create_index('uq_signal_handling_open_customer', 'signal_handling', ['customer_id'],
                    unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    with op.batch_alter_table('risk_signal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handling_id', sa.Integer(), nullable=True))
        for name, kind in SIGNAL_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_index(batch_op.f('ix_risk_signal_handling_id'), ['handling_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_risk_signal_handling_id_signal_handling'),
                                    'signal_handling', ['handling_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('risk_signal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_risk_signal_handling_id_signal_handling'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_risk_signal_handling_id'))
        for name, _kind in reversed(SIGNAL_COLUMNS):
            batch_op.drop_column(name)
        batch_op.drop_column('handling_id')
    op.drop_index('uq_signal_handling_open_customer', table_name='signal_handling',
                  sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    with op.batch_alter_table('signal_handling', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signal_handling_customer_id'))
    op.drop_table('signal_handling')
