"""an inspection's finding remembers the signal it raised; a signal records when it was resolved

``inspection_finding.signal_id`` makes ``inspection.raise-signals`` count an inspection's
occurrence of a signal once, also when the engine hands the step out again under a new external
task id (an engine that lost its last moments to a crash runs the step again).
``risk_signal.resolved_at`` tells a finding older than the signal's resolution (cleared since by
newer facts, e.g. a payment) from one that is new.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("risk_signal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("inspection_finding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signal_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_inspection_finding_signal_id_risk_signal"),
            "risk_signal",
            ["signal_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("inspection_finding", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_inspection_finding_signal_id_risk_signal"), type_="foreignkey"
        )
        batch_op.drop_column("signal_id")
    with op.batch_alter_table("risk_signal", schema=None) as batch_op:
        batch_op.drop_column("resolved_at")
