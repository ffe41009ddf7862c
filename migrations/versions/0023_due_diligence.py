"""due-diligence reviews of loans that turned non-performing: evidence, proposal, deliberation,
determination, appeal (issue 12)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = "('exempt', 'reduced', 'full_accountability')"


def upgrade() -> None:
    op.create_table(
        "due_diligence_review",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_manager", sa.String(length=100), nullable=False),
        sa.Column("branch", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("from_class", sa.String(length=20), nullable=True),
        sa.Column("to_class", sa.String(length=20), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("evidence_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("proposal", sa.JSON(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deliberated_by", sa.String(length=100), nullable=True),
        sa.Column("deliberated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deliberation_outcome", sa.String(length=20), nullable=True),
        sa.Column("deliberation_note", sa.Text(), nullable=False),
        sa.Column("fraud", sa.Boolean(), nullable=False),
        sa.Column("collusion", sa.Boolean(), nullable=False),
        sa.Column("serious_breach", sa.Boolean(), nullable=False),
        sa.Column("determined_outcome", sa.String(length=20), nullable=True),
        sa.Column("determined_by", sa.String(length=100), nullable=True),
        sa.Column("determined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("determination_note", sa.Text(), nullable=False),
        sa.Column("appeal_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appealed_by", sa.String(length=100), nullable=True),
        sa.Column("appealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appeal_grounds", sa.Text(), nullable=False),
        sa.Column("appeal_decision", sa.String(length=20), nullable=True),
        sa.Column("appeal_reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("appeal_reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appeal_review_note", sa.Text(), nullable=False),
        sa.Column("final_outcome", sa.String(length=20), nullable=True),
        sa.Column("final_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('investigating', 'deliberating', 'determining', 'appeal_window', "
            "'appeal_review', 'final')",
            name=op.f("ck_due_diligence_review_status_known"),
        ),
        sa.CheckConstraint(
            f"determined_outcome IS NULL OR determined_outcome IN {OUTCOMES}",
            name=op.f("ck_due_diligence_review_determined_outcome_known"),
        ),
        sa.CheckConstraint(
            f"final_outcome IS NULL OR final_outcome IN {OUTCOMES}",
            name=op.f("ck_due_diligence_review_final_outcome_known"),
        ),
        sa.CheckConstraint(
            "status != 'final' OR final_outcome IS NOT NULL",
            name=op.f("ck_due_diligence_review_final_has_outcome"),
        ),
        sa.CheckConstraint(
            "determined_outcome IS NULL OR (determined_by IS NOT NULL "
            "AND appeal_deadline IS NOT NULL)",
            name=op.f("ck_due_diligence_review_determined_has_who_and_deadline"),
        ),
        sa.CheckConstraint(
            "deliberated_by IS NULL OR determined_by IS NULL OR deliberated_by != determined_by",
            name=op.f("ck_due_diligence_review_four_eyes"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_due_diligence_review_customer_id_customer"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loan.id"], name=op.f("fk_due_diligence_review_loan_id_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due_diligence_review")),
    )
    with op.batch_alter_table("due_diligence_review", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_due_diligence_review_loan_id"), ["loan_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_due_diligence_review_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_due_diligence_review_account_manager"),
            ["account_manager"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_due_diligence_review_status"), ["status"], unique=False
        )
        # At most one open review per loan, whatever starts it (classification, REST).
        batch_op.create_index(
            "uq_due_diligence_review_open_loan",
            ["loan_id"],
            unique=True,
            sqlite_where=sa.text("status != 'final'"),
            postgresql_where=sa.text("status != 'final'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("due_diligence_review", schema=None) as batch_op:
        batch_op.drop_index("uq_due_diligence_review_open_loan")
        batch_op.drop_index(batch_op.f("ix_due_diligence_review_status"))
        batch_op.drop_index(batch_op.f("ix_due_diligence_review_account_manager"))
        batch_op.drop_index(batch_op.f("ix_due_diligence_review_customer_id"))
        batch_op.drop_index(batch_op.f("ix_due_diligence_review_loan_id"))
    op.drop_table("due_diligence_review")
