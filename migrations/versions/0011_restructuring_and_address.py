# ruff: noqa: E501
"""loan restructurings and the customer's registered address

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:30:00

``loan_restructuring``: each restructuring of a loan (date, new maturity, instalment and rate,
reason, the class before); the latest one's date is the loan's ``restructured_on``, which starts
the observation period of the five-category rules. ``customer.registered_address``: the address
text beside the coordinates (``latitude``/``longitude``, already there) that the vendor GPS check
compares visits with.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('loan_restructuring',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('loan_id', sa.String(length=64), nullable=False),
    sa.Column('restructured_on', sa.Date(), nullable=False),
    sa.Column('new_maturity_on', sa.Date(), nullable=True),
    sa.Column('new_instalment_amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('new_interest_rate', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('class_before', sa.String(length=20), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('new_instalment_amount IS NULL OR new_instalment_amount > 0', name=op.f('ck_loan_restructuring_instalment_positive')),
    sa.CheckConstraint('new_interest_rate IS NULL OR new_interest_rate >= 0', name=op.f('ck_loan_restructuring_rate_not_negative')),
    sa.ForeignKeyConstraint(['loan_id'], ['loan.id'], name=op.f('fk_loan_restructuring_loan_id_loan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_restructuring')),
    sa.UniqueConstraint('loan_id', 'restructured_on', name=op.f('uq_loan_restructuring_loan_id'))
    )
    with op.batch_alter_table('loan_restructuring', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_restructuring_loan_id'), ['loan_id'], unique=False)
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registered_address', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('registered_address')
    with op.batch_alter_table('loan_restructuring', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loan_restructuring_loan_id'))
    op.drop_table('loan_restructuring')
