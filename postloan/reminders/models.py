"""Reminders that prevent lapses: instalments about to fall due, and ratings, credit lines,
collateral valuations and insurance, annual reviews about to lapse."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, utcnow


class Reminder(Base):
    """Something falls due on ``due_on``; ``lead_days`` before it, its addressee is reminded.

    ``dedupe_key`` (kind, object, due date, lead) is unique: a rerun of the scan creates no second
    reminder of the same thing. ``state``: ``open`` when created; a lapse reminder (a
    ``lapse_prevention`` task) becomes ``done`` when its addressee records what was done
    (``action_taken``, ``action_note``, the object's new date ``new_due_on``, ``done_by``)."""

    __tablename__ = "reminder"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    loan_id: Mapped[str | None] = mapped_column(ForeignKey("loan.id"), index=True, nullable=True)
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer.id"), index=True, nullable=True
    )
    collateral_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    lead_days: Mapped[int] = mapped_column(Integer)
    addressee_role: Mapped[str] = mapped_column(String(40))
    addressee_user: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(12), default="open")
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action_taken: Mapped[str | None] = mapped_column(String(40), nullable=True)
    action_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
