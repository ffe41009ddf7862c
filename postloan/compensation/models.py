"""Tables of risk compensation: the performance pay the bank imports per person and period, the
ledger of what became of it, and the due-diligence review steps that held or clawed it back.

The ledger is append-only (mapper events here, database triggers in migration 0024): balances
are sums of its rows, a correction is a new row. Every row has a ``dedupe_key`` naming what it
is (``release|am_li|2026|1``, ``clawback|<review>|am_li|2026|2`` …), unique, so a repeated or
concurrent run of the same step writes it once.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from postloan.db import Base, utcnow

MONEY = Numeric(18, 2)
SHARE = Numeric(5, 4)


class EntryKind(StrEnum):
    """What a ledger row records. Amounts are never negative; the kind says which way.

    ``paid_now``: the part of the period's pay not deferred. ``deferred``: one tranche, due on
    ``due_on``. ``release``: a due tranche (what is left of it) paid out. ``hold``: a tranche in
    reach of an open review, not released until the review is final. ``hold_lifted``: that hold
    ended (the review is final; ``amount``: the tranche's outstanding amount then).
    ``clawback``: part of a held tranche forfeited by the review's final outcome."""

    PAID_NOW = "paid_now"
    DEFERRED = "deferred"
    RELEASE = "release"
    HOLD = "hold"
    HOLD_LIFTED = "hold_lifted"
    CLAWBACK = "clawback"


class ReviewStep(StrEnum):
    DETERMINATION = "determination"
    FINAL = "final"


_KINDS = ", ".join(f"'{k.value}'" for k in EntryKind)


class PayBase(Base):
    """A person's performance pay for a period, as imported (one per person and period).

    ``deferred_share`` and ``deferral_years`` are the rules it was split with (later changes of
    config/compensation.yaml do not touch it); ``period_start`` / ``period_end`` are the days
    the ``period`` label names."""

    __tablename__ = "pay_base"
    __table_args__ = (
        UniqueConstraint("person", "period", name="uq_pay_base_person_period"),
        CheckConstraint("performance_pay > 0", name="performance_pay_positive"),
        CheckConstraint("period_start <= period_end", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    performance_pay: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    deferred_share: Mapped[Decimal] = mapped_column(SHARE)
    deferral_years: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(100))


class CompensationEntry(Base):
    """One ledger row (see :class:`EntryKind`); ``tranche`` is set on all but ``paid_now``.

    ``effective_on``: the day it takes effect for payroll (the import day for ``paid_now`` and
    ``deferred``, the run's date for a ``release``, the determination or final day for the
    review's rows). ``review_id`` / ``loan_id``: the review that held or clawed it back."""

    __tablename__ = "compensation_entry"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("(kind = 'paid_now') = (tranche IS NULL)", name="tranche_set"),
        CheckConstraint(
            "(kind IN ('hold', 'hold_lifted', 'clawback')) = (review_id IS NOT NULL)",
            name="review_rows_name_it",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    pay_base_id: Mapped[int] = mapped_column(ForeignKey("pay_base.id"), index=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    kind: Mapped[str] = mapped_column(String(12), index=True)
    tranche: Mapped[int | None] = mapped_column(Integer, nullable=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    effective_on: Mapped[date] = mapped_column(Date, index=True)
    review_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    loan_id: Mapped[str | None] = mapped_column(ForeignKey("loan.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    by: Mapped[str] = mapped_column(String(100))


class CompensationReview(Base):
    """A step of a due-diligence review as it reached the ledger: its ``determination`` (the
    holds) and its ``final`` outcome (the clawbacks). One row per review and step: the unique
    constraint makes a repeated or concurrent call of the same step a no-op.

    ``reaches_from`` / ``reaches_until``: the pay periods the review reaches (those overlapping
    the span; ``reaches_from`` None: every period up to ``reaches_until``)."""

    __tablename__ = "compensation_review"
    __table_args__ = (
        UniqueConstraint("review_id", "step", name="uq_compensation_review_step"),
        CheckConstraint("step IN ('determination', 'final')", name="step_known"),
        CheckConstraint(
            "outcome IN ('exempt', 'reduced', 'full_accountability')", name="outcome_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    review_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(14))
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    person: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(24))
    decided_on: Mapped[date] = mapped_column(Date)
    reaches_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    reaches_until: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove a ledger row."""


@event.listens_for(CompensationEntry, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: CompensationEntry) -> None:
    raise LedgerIsAppendOnly(
        f"ledger row {target.id} cannot be changed: the ledger is append-only; add a row instead"
    )


@event.listens_for(CompensationEntry, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: CompensationEntry) -> None:
    raise LedgerIsAppendOnly(f"ledger row {target.id} cannot be deleted: the ledger is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: Any) -> None:
    """``session.execute(update(CompensationEntry))`` / ``delete(...)`` skip the mapper events."""
    if (
        (state.is_update or state.is_delete)
        and state.bind_mapper is not None
        and state.bind_mapper.class_ is CompensationEntry
    ):
        raise LedgerIsAppendOnly("ledger rows cannot be updated or deleted: append-only")
