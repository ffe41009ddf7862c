"""One row per message the system owes the outside world (a process start, a message correlation,
a webhook, a customer notice), written in the transaction of the business change that owes it.

Invariants: ``status`` is pending, delivered or dead; a delivered row has ``delivered_at``; a
claimed row carries ``lease_owner`` and ``lease_until`` (another relay may take it only once the
lease has run out); ``version`` grows with every claim, so two relays racing for one row cannot
both win (the UPDATE of the loser matches no row).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, utcnow


class OutboxKind(StrEnum):
    PROCESS_START = "process_start"
    MESSAGE = "message"
    WEBHOOK = "webhook"
    CUSTOMER_NOTICE = "customer_notice"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status_known"),
        CheckConstraint(
            "kind IN ('process_start', 'message', 'webhook', 'customer_notice')", name="kind_known"
        ),
        CheckConstraint(
            "status != 'delivered' OR delivered_at IS NOT NULL", name="delivered_has_time"
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: the business object the message is about (the process instance's business key)
    business_key: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: what the delivery gave back (e.g. the process instance id)
    result: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
