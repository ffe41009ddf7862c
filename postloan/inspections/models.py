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
