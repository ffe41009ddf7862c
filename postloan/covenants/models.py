"""Covenants attached to a loan's credit approval, and the tests computed from statements.

A :class:`Covenant` is a computable approval condition: a ratio of ``config/covenants.yaml``, an
operator, a threshold and a test frequency. A :class:`CovenantTest` is one test period's result:
computed from the customer's statement for that period (pass / near breach / breach, with the
numbers), or ``missing_statement`` when the test fell due with no statement for the period.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped, utcnow

THRESHOLD = Numeric(20, 4)
VALUE = Numeric(24, 6)
OPERATORS = ("<", "<=", ">", ">=")


class Outcome(StrEnum):
    PASS = "pass"
    NEAR_BREACH = "near_breach"
    BREACH = "breach"
    #: the statement's figures do not give a value (e.g. a ratio over zero assets)
    NOT_COMPUTABLE = "not_computable"
    #: the test fell due and no statement of the period had arrived
    MISSING_STATEMENT = "missing_statement"


class Covenant(Timestamped, Base):
    """A computable covenant of a loan; ``approval_condition_id`` names the approval condition
    it makes computable, when there is one. Tests start with the period containing
    ``tested_from``."""

    __tablename__ = "covenant"
    __table_args__ = (CheckConstraint("operator IN ('<', '<=', '>', '>=')", name="operator_known"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    approval_condition_id: Mapped[int | None] = mapped_column(
        ForeignKey("approval_condition.id"), nullable=True
    )
    ratio: Mapped[str] = mapped_column(String(40))
    operator: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[Decimal] = mapped_column(THRESHOLD)
    frequency: Mapped[str] = mapped_column(String(20))
    tested_from: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))


class CovenantTest(Base):
    """The result of one covenant for one test period (``period_end``: the period's last day).

    A statement re-sent for the period recomputes the row; a statement arriving after the test
    was recorded missing replaces the missing result and keeps ``missing_recorded_at``.
    """

    __tablename__ = "covenant_test"
    __table_args__ = (UniqueConstraint("covenant_id", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant.id"), index=True)
    period_end: Mapped[date] = mapped_column(Date)
    statement_id: Mapped[int | None] = mapped_column(
        ForeignKey("financial_statement.id"), nullable=True
    )
    statement_period_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal | None] = mapped_column(VALUE, nullable=True)
    operator: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[Decimal] = mapped_column(THRESHOLD)
    margin: Mapped[float] = mapped_column(Float)
    #: the statement figures the value was computed from, numerator and denominator
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("risk_signal.id"), nullable=True)
    missing_recorded_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    tested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
