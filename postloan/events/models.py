from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped


class EventKind(StrEnum):
    LITIGATION = "litigation"
    ENFORCEMENT = "enforcement"
    TAX_ARREARS = "tax_arrears"
    ACCOUNT_FROZEN = "account_frozen"
    SHAREHOLDER_CHANGE = "shareholder_change"
    NEGATIVE_NEWS = "negative_news"


class ExternalEvent(Timestamped, Base):
    """Something learnt about a customer from outside the bank (courts, tax office, registry...).

    The same event reported twice by one source (same customer, kind, date, source reference) is
    stored once.
    """

    __tablename__ = "external_event"
    __table_args__ = (
        UniqueConstraint("customer_id", "kind", "occurred_on", "source", "source_ref"),
        CheckConstraint(
            "kind IN ('litigation', 'enforcement', 'tax_arrears', 'account_frozen', "
            "'shareholder_change', 'negative_news')",
            name="kind_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    occurred_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(100))
    source_ref: Mapped[str] = mapped_column(String(100), default="")
    details: Mapped[str] = mapped_column(Text, default="")
