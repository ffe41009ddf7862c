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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped


class SignalStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class RiskSignal(Timestamped, Base):
    """An early-warning signal, tracked until resolved.

    ``code`` comes from the early-warning catalogue (DMN ``early_warning``), which also gives its
    severity, owner role and response deadline. While a signal is not resolved, the same finding
    again (same ``dedupe_key``) only counts another occurrence: one live signal per key.
    """

    __tablename__ = "risk_signal"
    __table_args__ = (
        CheckConstraint("severity IN ('red', 'orange', 'yellow', 'blue')", name="severity_known"),
        CheckConstraint(
            "status IN ('open', 'acknowledged', 'resolved', 'escalated')", name="status_known"
        ),
        Index(
            "uq_risk_signal_live_dedupe_key",
            "dedupe_key",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(60), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    loan_id: Mapped[str | None] = mapped_column(ForeignKey("loan.id"), nullable=True, index=True)
    severity: Mapped[str] = mapped_column(String(10), index=True)
    owner_role: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=SignalStatus.OPEN, index=True)
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    respond_by: Mapped[date] = mapped_column(Date)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Signal handling (process ``risk_signal_handling``): set when the signal is worked as a task.
    handling_id: Mapped[int | None] = mapped_column(
        ForeignKey("signal_handling.id"), nullable=True, index=True
    )
    handling_state: Mapped[str | None] = mapped_column(String(30), nullable=True)
    response_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    response_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    responded_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    confirmation_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    rectification_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class HandlingState(StrEnum):
    """Where a signal stands in its handling (``RiskSignal.handling_state``)."""

    AWAITING_RESPONSE = "awaiting_response"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    SENT_BACK = "sent_back"
    DONE = "done"
    CLOSED_BY_FACTS = "closed_by_facts"


class ResponseKind(StrEnum):
    ACTION = "action"
    FALSE_POSITIVE = "false_positive"
    RECTIFICATION = "rectification"


class HandlingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SignalHandling(Timestamped, Base):
    """One customer's risk signals worked as one piece of work (process ``risk_signal_handling``,
    business key = the customer id). At most one open handling per customer: later signals of
    the customer join it. ``escalation_level`` 0 is the signals' owner; each passed deadline
    moves it one level up (``config/signal_handling.yaml``), ``due_at`` then is the new deadline.
    """

    __tablename__ = "signal_handling"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        CheckConstraint("escalation_level >= 0", name="escalation_level_positive"),
        Index(
            "uq_signal_handling_open_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=HandlingStatus.OPEN)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    process_instance_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
