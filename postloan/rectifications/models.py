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
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped, utcnow


class RectificationStatus(StrEnum):
    OPEN = "open"
    EVIDENCE_SUBMITTED = "evidence_submitted"
    CLOSED = "closed"
    REOPENED = "reopened"
    ESCALATED = "escalated"


class Rectification(Timestamped, Base):
    """A problem that must be put right, driven by a ``rectification`` process instance.

    Raised from an inspection finding, a review, an audit finding or a poor approval rating.
    ``raised_by`` may never verify it (four eyes, enforced by the engine plugin).
    """

    __tablename__ = "rectification"
    __table_args__ = (
        CheckConstraint(
            "source IN ('inspection', 'review', 'audit', 'approval_rating')", name="source_known"
        ),
        CheckConstraint(
            "severity IN ('minor', 'major', 'serious', 'critical')", name="severity_known"
        ),
        CheckConstraint(
            "status IN ('open', 'evidence_submitted', 'closed', 'reopened', 'escalated')",
            name="status_known",
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    loan_id: Mapped[str | None] = mapped_column(ForeignKey("loan.id"), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10), index=True)
    owner: Mapped[str] = mapped_column(String(100))
    raised_by: Mapped[str] = mapped_column(String(100))
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=RectificationStatus.OPEN, index=True)
    process_instance_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verified_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)


class RectificationEvidence(Base):
    """Evidence that a rectification was done, submitted over REST or in Tasklist."""

    __tablename__ = "rectification_evidence"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    rectification_id: Mapped[str] = mapped_column(ForeignKey("rectification.id"), index=True)
    submitted_by: Mapped[str] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    description: Mapped[str] = mapped_column(Text)
    documents: Mapped[list[Any]] = mapped_column(JSON, default=list)


class RestrictionKind(StrEnum):
    DISBURSEMENT_FREEZE = "disbursement_freeze"
    NEW_BUSINESS = "new_business_restriction"


class Restriction(Timestamped, Base):
    """A customer's disbursements frozen or new business restricted until a rectification is
    verified and a second person approves the lift. Rows are never deleted: the history."""

    __tablename__ = "restriction"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('disbursement_freeze', 'new_business_restriction')", name="kind_known"
        ),
        CheckConstraint("status IN ('active', 'lift_requested', 'lifted')", name="status_known"),
        Index("ix_restriction_customer_status", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"))
    kind: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    rectification_id: Mapped[str | None] = mapped_column(
        ForeignKey("rectification.id"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="active")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_by: Mapped[str] = mapped_column(String(100))
    lift_requested_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lift_approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
