"""Business opportunities: a need the customer mentioned in an inspection or a vendor visit."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped


class OpportunityOutcome(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    NOT_PURSUED = "not_pursued"


class OpportunitySource(StrEnum):
    INSPECTION = "inspection"
    VENDOR_VISIT = "vendor_visit"


class Opportunity(Timestamped, Base):
    """A business need (``kind``, from ``config/opportunities.yaml``) owned by the customer's
    account manager until its outcome is recorded.

    One row per need and capture (``source``, ``source_ref`` = the inspection id, ``kind``): an
    inspection step run again or returned for rework updates the note, never adds a second row.
    ``outcome_by`` / ``outcome_at`` are set exactly when the outcome is no longer ``open``.
    Its ``opportunity_follow_up`` process has the id as business key.
    """

    __tablename__ = "opportunity"
    __table_args__ = (
        UniqueConstraint("source", "source_ref", "kind", name="uq_opportunity_source_ref_kind"),
        CheckConstraint("source IN ('inspection', 'vendor_visit')", name="source_known"),
        CheckConstraint("outcome IN ('open', 'won', 'lost', 'not_pursued')", name="outcome_known"),
        CheckConstraint(
            "(outcome = 'open') = (outcome_at IS NULL)", name="outcome_settled_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    loan_id: Mapped[str | None] = mapped_column(ForeignKey("loan.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str] = mapped_column(String(100))
    captured_by: Mapped[str] = mapped_column(String(100))
    captured_on: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    follow_up_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(20), default=OpportunityOutcome.OPEN, index=True)
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    outcome_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
