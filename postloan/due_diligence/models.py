"""Tables of due diligence: one review per loan that turned non-performing (issue 12)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped


class ReviewStatus(StrEnum):
    """Where a review stands; every status but ``final`` is open."""

    #: requested, the evidence not assembled yet
    INVESTIGATING = "investigating"
    #: the evidence and the rules' proposal are stored: a credit manager deliberates
    DELIBERATING = "deliberating"
    #: deliberated: a second credit manager determines
    DETERMINING = "determining"
    #: determined: the account manager may appeal until ``appeal_deadline``
    APPEAL_WINDOW = "appeal_window"
    #: appealed: a credit manager who took no part reviews the appeal
    APPEAL_REVIEW = "appeal_review"
    FINAL = "final"


class Outcome(StrEnum):
    """In order of severity (the most severe rule that applies decides the proposal)."""

    EXEMPT = "exempt"
    REDUCED = "reduced"
    FULL_ACCOUNTABILITY = "full_accountability"


OUTCOME_SQL = "('exempt', 'reduced', 'full_accountability')"
#: The partial index's condition: at most one open review per loan (migration 0023).
OPEN_CONDITION = "status != 'final'"
OPEN_INDEX = "uq_due_diligence_review_open_loan"


class DueDiligenceReview(Timestamped, Base):
    """The due-diligence review of one loan: the evidence of every prescribed action, the
    ``exemption_rules`` proposal with every reason, the deliberation and the determination by
    two different credit managers (neither the loan's account manager), the account manager's
    appeal and its review, and the final outcome.

    Its ``due_diligence_review`` process has the id as business key. Invariants: a determined
    review has its outcome, determiner and appeal deadline; a final review has its final outcome;
    the deliberator is never the determiner (the engine enforces it, the table refuses it too).
    """

    __tablename__ = "due_diligence_review"
    __table_args__ = (
        CheckConstraint(
            "status IN ('investigating', 'deliberating', 'determining', 'appeal_window', "
            "'appeal_review', 'final')",
            name="status_known",
        ),
        CheckConstraint(
            f"determined_outcome IS NULL OR determined_outcome IN {OUTCOME_SQL}",
            name="determined_outcome_known",
        ),
        CheckConstraint(
            f"final_outcome IS NULL OR final_outcome IN {OUTCOME_SQL}", name="final_outcome_known"
        ),
        CheckConstraint("status != 'final' OR final_outcome IS NOT NULL", name="final_has_outcome"),
        CheckConstraint(
            "determined_outcome IS NULL OR (determined_by IS NOT NULL "
            "AND appeal_deadline IS NOT NULL)",
            name="determined_has_who_and_deadline",
        ),
        CheckConstraint(
            "deliberated_by IS NULL OR determined_by IS NULL OR deliberated_by != determined_by",
            name="four_eyes",
        ),
        Index(
            OPEN_INDEX,
            "loan_id",
            unique=True,
            sqlite_where=text(OPEN_CONDITION),
            postgresql_where=text(OPEN_CONDITION),
        ),
    )

    #: ``DDR-`` and 12 hex digits: also the process's business key, unlike any other's
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    #: the loan's account manager when the review started: the person under review
    account_manager: Mapped[str] = mapped_column(String(100), index=True)
    branch: Mapped[str] = mapped_column(String(40))
    #: ``classification`` (the loan turned non-performing) or ``request`` (over REST)
    trigger: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    from_class: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_class: Mapped[str | None] = mapped_column(String(20), nullable=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=ReviewStatus.INVESTIGATING, index=True)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    evidence_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: outcome, reasons[], inputs{} of ``exemption_rules`` (re-evaluated after deliberation)
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    proposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deliberated_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    deliberated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deliberation_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    deliberation_note: Mapped[str] = mapped_column(Text, default="")
    fraud: Mapped[bool] = mapped_column(Boolean, default=False)
    collusion: Mapped[bool] = mapped_column(Boolean, default=False)
    serious_breach: Mapped[bool] = mapped_column(Boolean, default=False)
    determined_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    determined_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    determined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    determination_note: Mapped[str] = mapped_column(Text, default="")
    appeal_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    appealed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    appealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    appeal_grounds: Mapped[str] = mapped_column(Text, default="")
    #: ``upheld`` or ``changed``
    appeal_decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    appeal_reviewed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    appeal_reviewed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    appeal_review_note: Mapped[str] = mapped_column(Text, default="")
    final_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    final_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
