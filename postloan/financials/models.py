from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped
from postloan.loans.models import MONEY


class FinancialStatement(Timestamped, Base):
    """A customer's financial statement for one period. Re-sending a period replaces it.

    ``utility_consumption`` (water, electricity, gas in a common unit) is optional: small
    enterprises' statements are weak, their utility use is a red flag that is hard to fake.
    """

    __tablename__ = "financial_statement"
    __table_args__ = (UniqueConstraint("customer_id", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    period_end: Mapped[date] = mapped_column(Date)
    revenue: Mapped[Decimal] = mapped_column(MONEY)
    net_profit: Mapped[Decimal] = mapped_column(MONEY)
    total_assets: Mapped[Decimal] = mapped_column(MONEY)
    total_liabilities: Mapped[Decimal] = mapped_column(MONEY)
    operating_cash_flow: Mapped[Decimal] = mapped_column(MONEY)
    utility_consumption: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    #: optional: a current ratio covenant needs both; without them its test is not computable
    current_assets: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    current_liabilities: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
