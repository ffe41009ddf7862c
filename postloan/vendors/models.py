"""Vendors (third-party visit companies), their visit assignments, batches and reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped, utcnow


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class BatchStatus(StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    REVIEWED = "reviewed"


class Vendor(Timestamped, Base):
    """A service company doing door-to-door visits. ``quality_score`` in 0..100."""

    __tablename__ = "vendor"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    quality_score: Mapped[float] = mapped_column(Float, default=100.0)


class VisitAssignment(Timestamped, Base):
    """One inspection given to a vendor, to be visited within a window."""

    __tablename__ = "visit_assignment"
    __table_args__ = (
        CheckConstraint(
            "status IN ('assigned', 'submitted', 'accepted', 'rejected')", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspection.id"), unique=True)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendor.id"), index=True)
    loan_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default=AssignmentStatus.ASSIGNED)


class VisitBatch(Timestamped, Base):
    """Visits a vendor submitted together; one ``outsourced_visit_batch`` process each."""

    __tablename__ = "visit_batch"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'under_review', 'reviewed')", name="status_known"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vendor_id: Mapped[str] = mapped_column(ForeignKey("vendor.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=BatchStatus.SUBMITTED)
    process_instance_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_by: Mapped[str] = mapped_column(String(100), default="")


class VisitReport(Timestamped, Base):
    """One visit of a batch with its authenticity flags and the reviewer's decision."""

    __tablename__ = "visit_report"
    __table_args__ = (
        CheckConstraint(
            "decision IS NULL OR decision IN ('accepted', 'rejected')", name="decision_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("visit_assignment.id"), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("visit_batch.id"), index=True)
    inspection_id: Mapped[str] = mapped_column(String(64), index=True)
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    photo_sha256: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    checklist_answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    checked: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    supervision_result: Mapped[str | None] = mapped_column(String(20), nullable=True)
    supervision_notes: Mapped[str | None] = mapped_column(Text, nullable=True)


class PhotoHash(Base):
    """Every photo hash seen, from visits or pre-loan material: a reuse is suspicious."""

    __tablename__ = "photo_hash"
    __table_args__ = (CheckConstraint("source IN ('visit', 'pre_loan')", name="source_known"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_ref: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


#: Ids are case-sensitive, but no two differ only in case (migration 0008).
Index("uq_vendor_id_nocase", func.lower(Vendor.id), unique=True)
