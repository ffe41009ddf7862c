from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped
from postloan.loans.models import MONEY


class CreditApplication(Timestamped, Base):
    """An existing customer's application, with the post-loan dossier assembled into it.

    ``gate_decision`` is the DMN ``approval_gate`` result (block, conditional, clear);
    ``decision`` the approver's (approved, rejected), with the rating of the post-loan work.
    """

    __tablename__ = "credit_application"
    __table_args__ = (
        CheckConstraint(
            "status IN ('assessing', 'blocked', 'awaiting_approval', 'approved', 'rejected')",
            name="status_known",
        ),
        CheckConstraint(
            "quality_rating IS NULL OR quality_rating IN ('good', 'adequate', 'poor')",
            name="rating_known",
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    product: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    requested_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="assessing", index=True)
    gate_decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    gate_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dossier: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decision_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    quality_rating: Mapped[str | None] = mapped_column(String(10), nullable=True)
    quality_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    process_instance_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebhookDelivery(Timestamped, Base):
    """A signed push of a result to the origination system: once per event (``event_key``
    unique), retried until delivered."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(120), unique=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("credit_application.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
