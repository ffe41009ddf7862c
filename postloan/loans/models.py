from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from postloan.db import Base, Timestamped, utcnow

MONEY = Numeric(18, 2)


class Loan(Timestamped, Base):
    """A disbursed loan, watched until it is repaid.

    ``risk_class`` is the current five-category class and ``risk_class_reason`` the rule that gave
    it; both are written by inspections and (later) by the nightly scan.
    """

    __tablename__ = "loan"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("maturity_on >= disbursed_on", name="matures_after_disbursement"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    product: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    disbursed_on: Mapped[date] = mapped_column(Date)
    maturity_on: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(Text)
    risk_class: Mapped[str] = mapped_column(String(20), default="normal")
    risk_class_reason: Mapped[str] = mapped_column(Text, default="Not yet classified: new loan")
    next_inspection_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: Set when the loan was restructured: an upgrade needs the observation period to pass.
    restructured_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: Current delinquency bucket (current, 1-30, 31-60, 61-90, 91-180, 181-270, 271-360, 360+).
    delinquency_bucket: Mapped[str] = mapped_column(String(10), default="current")
    #: The day the credit line this loan draws on expires (``None``: no line, or unknown); the
    #: reminder scan opens a task before it lapses.
    credit_line_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    approval_conditions: Mapped[list[ApprovalCondition]] = relationship(
        order_by="ApprovalCondition.seq", lazy="raise", cascade="all, delete-orphan"
    )
    collaterals: Mapped[list[Collateral]] = relationship(lazy="raise", cascade="all, delete-orphan")


class ApprovalCondition(Base):
    """A condition attached to the credit approval, checked item by item at the first inspection."""

    __tablename__ = "approval_condition"
    __table_args__ = (UniqueConstraint("loan_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class Collateral(Timestamped, Base):
    __tablename__ = "collateral"
    __table_args__ = (CheckConstraint("value >= 0", name="value_not_negative"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    #: When the next revaluation is due and when the collateral's insurance expires (``None``:
    #: unknown / not insured); the reminder scan opens a task before either lapses.
    next_valuation_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    insurance_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Repayment(Timestamped, Base):
    """One instalment of the schedule and what was paid on it. Days past due derive from these.

    One per loan, due date and kind: the same instalment posted again is refused (409); a
    correction is an explicit :class:`RepaymentAmendment` that keeps the values it replaced."""

    __tablename__ = "repayment"
    __table_args__ = (
        UniqueConstraint("loan_id", "due_on", "kind"),
        CheckConstraint("due_amount > 0", name="due_positive"),
        CheckConstraint("paid_amount >= 0", name="paid_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    due_amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    paid_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    #: ``instalment`` (principal and interest), ``principal`` or ``interest``.
    kind: Mapped[str] = mapped_column(String(12), default="instalment")


class RepaymentAmendment(Base):
    """One correction of a recorded instalment: the values before and after, why, who, when.

    The repayment row holds the current values (what arrears are computed from); its amendments,
    oldest first, keep every earlier version, the first one's ``before`` being the original."""

    __tablename__ = "repayment_amendment"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    repayment_id: Mapped[int] = mapped_column(ForeignKey("repayment.id"), index=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    amended_by: Mapped[str] = mapped_column(String(100))
    amended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)


class CollateralValuation(Timestamped, Base):
    __tablename__ = "collateral_valuation"
    __table_args__ = (
        UniqueConstraint("collateral_id", "valued_on"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    collateral_id: Mapped[str] = mapped_column(ForeignKey("collateral.id"), index=True)
    valued_on: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(MONEY)
    valuer: Mapped[str] = mapped_column(String(200))


class DelinquencyBucketChange(Base):
    """Every move of a loan between delinquency buckets, kept for history and roll rates."""

    __tablename__ = "delinquency_bucket_change"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    changed_on: Mapped[date] = mapped_column(Date)
    from_bucket: Mapped[str] = mapped_column(String(10))
    to_bucket: Mapped[str] = mapped_column(String(10))
    days_past_due: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClassificationChange(Base):
    """Every move of a loan's five-category class, with the reason and who decided it.

    ``status``: ``applied`` (took effect), ``proposed`` (a downgrade waiting for a credit
    manager's confirmation), ``rejected`` (the credit manager did not confirm it).
    """

    __tablename__ = "classification_change"
    __table_args__ = (
        CheckConstraint("status IN ('applied', 'proposed', 'rejected')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    from_class: Mapped[str] = mapped_column(String(20))
    to_class: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="applied")
    decided_by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


#: Ids are case-sensitive, but no two differ only in case (migration 0008).
Index("uq_loan_id_nocase", func.lower(Loan.id), unique=True)
Index("uq_collateral_id_nocase", func.lower(Collateral.id), unique=True)
