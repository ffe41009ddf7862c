from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped


class InspectionPlan(Timestamped, Base):
    """How a loan is to be inspected, as the DMN ``inspection_plan`` decided it last time.

    Recomputed when the loan, its customer or the decision changes; ``decision_version`` records
    which deployed version of the decision gave it.
    """

    __tablename__ = "inspection_plan"

    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), primary_key=True)
    #: Every ``frequency`` ``frequency_unit`` (days, weeks or months).
    frequency: Mapped[int] = mapped_column(Integer, server_default="3")
    frequency_unit: Mapped[str] = mapped_column(String(10), server_default="months")
    #: The frequency when it is in whole months (kept for the API's old field), else null.
    frequency_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    template: Mapped[str] = mapped_column(String(60))
    mode: Mapped[str] = mapped_column(String(20))
    first_inspection_days: Mapped[int] = mapped_column(Integer)
    next_due_on: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str] = mapped_column(Text)
    decision_version: Mapped[str] = mapped_column(String(80), default="")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
