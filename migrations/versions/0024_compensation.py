# ruff: noqa: E501
"""risk compensation: imported pay bases and the deferred pay ledger with releases and clawbacks (issue 12)

The ledger (``compensation_entry``) is append-only: triggers refuse UPDATE and DELETE of its rows
(as migration 0009 does for the audit trail); balances are sums of rows.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER compensation_entry_no_update BEFORE UPDATE ON compensation_entry BEGIN "
    "SELECT RAISE(ABORT, 'compensation_entry is append-only: UPDATE refused'); END",
    "CREATE TRIGGER compensation_entry_no_delete BEFORE DELETE ON compensation_entry BEGIN "
    "SELECT RAISE(ABORT, 'compensation_entry is append-only: DELETE refused'); END",
)
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION compensation_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'compensation_entry is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    "CREATE TRIGGER compensation_entry_append_only BEFORE UPDATE OR DELETE ON compensation_entry "
    "FOR EACH ROW EXECUTE FUNCTION compensation_entry_refuse_change()",
)


def upgrade() -> None:
    op.create_table(
        "pay_base",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("performance_pay", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("deferred_share", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("deferral_years", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "performance_pay > 0", name=op.f("ck_pay_base_performance_pay_positive")
        ),
        sa.CheckConstraint("period_start <= period_end", name=op.f("ck_pay_base_period_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_base")),
        sa.UniqueConstraint("person", "period", name="uq_pay_base_person_period"),
    )
    op.create_index(op.f("ix_pay_base_person"), "pay_base", ["person"], unique=False)
    op.create_table(
        "compensation_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pay_base_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("tranche", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("review_id", sa.String(length=64), nullable=True),
        sa.Column("loan_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "(kind = 'paid_now') = (tranche IS NULL)",
            name=op.f("ck_compensation_entry_tranche_set"),
        ),
        sa.CheckConstraint(
            "(kind IN ('hold', 'hold_lifted', 'clawback')) = (review_id IS NOT NULL)",
            name=op.f("ck_compensation_entry_review_rows_name_it"),
        ),
        sa.CheckConstraint(
            "kind IN ('paid_now', 'deferred', 'release', 'hold', 'hold_lifted', 'clawback')",
            name=op.f("ck_compensation_entry_kind_known"),
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_compensation_entry_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_compensation_entry_loan_id_loan")
        ),
        sa.ForeignKeyConstraint(
            ["pay_base_id"],
            ["pay_base.id"],
            name=op.f("fk_compensation_entry_pay_base_id_pay_base"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_entry")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_compensation_entry_dedupe_key")),
    )
    op.create_index(
        op.f("ix_compensation_entry_effective_on"),
        "compensation_entry",
        ["effective_on"],
        unique=False,
    )
    op.create_index(
        op.f("ix_compensation_entry_kind"), "compensation_entry", ["kind"], unique=False
    )
    op.create_index(
        op.f("ix_compensation_entry_pay_base_id"),
        "compensation_entry",
        ["pay_base_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_compensation_entry_period"), "compensation_entry", ["period"], unique=False
    )
    op.create_index(
        op.f("ix_compensation_entry_person"), "compensation_entry", ["person"], unique=False
    )
    op.create_index(
        op.f("ix_compensation_entry_review_id"), "compensation_entry", ["review_id"], unique=False
    )
    op.create_table(
        "compensation_review",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("review_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=14), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("reaches_from", sa.Date(), nullable=True),
        sa.Column("reaches_until", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('exempt', 'reduced', 'full_accountability')",
            name=op.f("ck_compensation_review_outcome_known"),
        ),
        sa.CheckConstraint(
            "step IN ('determination', 'final')", name=op.f("ck_compensation_review_step_known")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_compensation_review_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_review")),
        sa.UniqueConstraint("review_id", "step", name="uq_compensation_review_step"),
    )
    op.create_index(
        op.f("ix_compensation_review_loan_id"), "compensation_review", ["loan_id"], unique=False
    )
    op.create_index(
        op.f("ix_compensation_review_person"), "compensation_review", ["person"], unique=False
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS compensation_entry_append_only ON compensation_entry")
        op.execute("DROP FUNCTION IF EXISTS compensation_entry_refuse_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS compensation_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS compensation_entry_no_delete")

    op.drop_index(op.f("ix_compensation_review_person"), table_name="compensation_review")
    op.drop_index(op.f("ix_compensation_review_loan_id"), table_name="compensation_review")
    op.drop_table("compensation_review")
    op.drop_index(op.f("ix_compensation_entry_review_id"), table_name="compensation_entry")
    op.drop_index(op.f("ix_compensation_entry_person"), table_name="compensation_entry")
    op.drop_index(op.f("ix_compensation_entry_period"), table_name="compensation_entry")
    op.drop_index(op.f("ix_compensation_entry_pay_base_id"), table_name="compensation_entry")
    op.drop_index(op.f("ix_compensation_entry_kind"), table_name="compensation_entry")
    op.drop_index(op.f("ix_compensation_entry_effective_on"), table_name="compensation_entry")
    op.drop_table("compensation_entry")
    op.drop_index(op.f("ix_pay_base_person"), table_name="pay_base")
    op.drop_table("pay_base")
