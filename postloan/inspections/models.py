from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped


class InspectionKind(StrEnum):
    FIRST = "first"
    ROUTINE = "routine"
    SPECIAL = "special"


class InspectionStatus(StrEnum):
    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class InspectionStage(StrEnum):
    """Where an inspection stands, in one vocabulary for the list, the detail and the documents.

    Derived from the engine's truth (the activity its process instance waits in, see
    :data:`ACTIVITY_STAGES`) while it is open, from its status once it is not."""

    #: recorded, its process not started yet
    REQUESTED = "requested"
    #: loading the loan's context, the automated checks, the proposed classification
    AUTOMATED_CHECKS = "automated_checks"
    #: its inspection, loan or customer record is missing: a post-loan officer resolves it
    DATA_TO_RESOLVE = "data_to_resolve"
    #: outsourced: waiting for the vendor's visit to be accepted in a batch review
    AWAITING_VENDOR_VISIT = "awaiting_vendor_visit"
    #: with the account manager, to perform (also after a return for rework)
    AWAITING_PERFORM = "awaiting_perform"
    #: with a post-loan officer: the review and an unannounced on-site verification alike (so
    #: nothing reveals the visit before it is done)
    UNDER_REVIEW = "under_review"
    #: a proposed downgrade waits for a credit manager's confirmation
    CLASSIFICATION_TO_CONFIRM = "classification_to_confirm"
    #: the report is being stored
    FINALIZING = "finalizing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    #: the engine could not be asked (the inspection is open)
    UNKNOWN = "unknown"


_S = InspectionStage
#: The stage of each wait state of ``post_loan_inspection`` (bpmn/post_loan_inspection.bpmn);
#: tests/api/test_consistency.py checks that every task and catch event of the diagram is here.
ACTIVITY_STAGES: dict[str, InspectionStage] = {
    "load_context": _S.AUTOMATED_CHECKS,
    "check_repayment": _S.AUTOMATED_CHECKS,
    "check_financials": _S.AUTOMATED_CHECKS,
    "check_collateral": _S.AUTOMATED_CHECKS,
    "check_external": _S.AUTOMATED_CHECKS,
    "check_use_of_funds": _S.AUTOMATED_CHECKS,
    "raise_signals": _S.AUTOMATED_CHECKS,
    "classification_inputs": _S.AUTOMATED_CHECKS,
    "classify_loan": _S.AUTOMATED_CHECKS,
    "propose_classification": _S.AUTOMATED_CHECKS,
    "resolve_inspection_data": _S.DATA_TO_RESOLVE,
    "assign_vendor_visit": _S.AWAITING_VENDOR_VISIT,
    "vendor_visit_received": _S.AWAITING_VENDOR_VISIT,
    "prepare_perform_form": _S.AWAITING_PERFORM,
    "perform_inspection": _S.AWAITING_PERFORM,
    "record_inspection_work": _S.UNDER_REVIEW,
    "prepare_review_form": _S.UNDER_REVIEW,
    "review_inspection": _S.UNDER_REVIEW,
    "decide_onsite": _S.UNDER_REVIEW,
    "onsite_verification": _S.UNDER_REVIEW,
    "record_onsite_result": _S.UNDER_REVIEW,
    "confirm_classification": _S.CLASSIFICATION_TO_CONFIRM,
    "finalize_inspection": _S.FINALIZING,
}
#: When an open instance waits in several activities, the one furthest along names the stage.
STAGE_ORDER = tuple(InspectionStage)


#: Statuses of an inspection that is still open (not completed, not cancelled).
OPEN_STATUSES = (InspectionStatus.REQUESTED, InspectionStatus.IN_PROGRESS)
#: The partial index's condition (SQLite and PostgreSQL both support partial unique indexes).
OPEN_CONDITION = "status IN ('requested', 'in_progress')"
OPEN_INDEX = "uq_inspection_open_loan_kind"


class Inspection(Timestamped, Base):
    """One inspection of a loan, driven by a ``post_loan_inspection`` process instance.

    The process instance's business key is this id. ``report`` is written once, when the
    inspection is finalized, and never changes after that.
    """

    __tablename__ = "inspection"
    __table_args__ = (
        CheckConstraint("kind IN ('first', 'routine', 'special')", name="kind_known"),
        CheckConstraint(
            "status IN ('requested', 'in_progress', 'completed', 'cancelled')", name="status_known"
        ),
        CheckConstraint("status != 'completed' OR report IS NOT NULL", name="completed_has_report"),
        # At most one open inspection per loan and kind, whatever starts it (API, scheduler,
        # special triggers, demo): the database refuses a second one (migration 0008).
        Index(
            OPEN_INDEX,
            "loan_id",
            "kind",
            unique=True,
            sqlite_where=text(OPEN_CONDITION),
            postgresql_where=text(OPEN_CONDITION),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=InspectionStatus.REQUESTED, index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    process_instance_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    inspector: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    conclusion: Mapped[str | None] = mapped_column(String(40), nullable=True)
    risk_class: Mapped[str | None] = mapped_column(String(20), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: From the plan: when it must be done, with which template, in which mode.
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    template: Mapped[str] = mapped_column(String(60), default="standard")
    mode: Mapped[str] = mapped_column(String(20), default="on_site")
    #: What started a special inspection (e.g. ``signal:12``, ``event:7``, ``repayment:L1``).
    trigger_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: How often a post-loan officer (or an on-site verification) returned the work for rework.
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class InspectionItem(Base):
    """One point the inspector must verify: a template's inspection point, the use of funds of a
    drawdown, or a condition attached to the credit approval — checked item by item."""

    __tablename__ = "inspection_item"
    __table_args__ = (
        UniqueConstraint("inspection_id", "code"),
        CheckConstraint(
            "result IS NULL OR result IN ('ok', 'not_ok', 'not_applicable')", name="result_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspection.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(30))
    evidence_required: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class InspectionFinding(Timestamped, Base):
    """What one check (or a person) found, with the evidence it used.

    Unique per inspection, source and code, so a check that runs twice writes its finding once.
    """

    __tablename__ = "inspection_finding"
    __table_args__ = (UniqueConstraint("inspection_id", "source", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspection.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    #: The signal this finding raised or counted an occurrence of (``inspection.raise-signals``):
    #: the inspection's occurrence is counted once, also when the step runs again.
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("risk_signal.id"), nullable=True)
