from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, Float, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, Timestamped


class Segment(StrEnum):
    CORPORATE = "corporate"
    SME = "sme"
    MICRO = "micro"
    RETAIL = "retail"


class Customer(Timestamped, Base):
    """A borrower. ``account_manager`` is the engine user id of the first-responsible manager."""

    __tablename__ = "customer"
    __table_args__ = (
        CheckConstraint("segment IN ('corporate', 'sme', 'micro', 'retail')", name="segment_known"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(20))
    industry: Mapped[str] = mapped_column(String(100))
    branch: Mapped[str] = mapped_column(String(64), index=True)
    account_manager: Mapped[str] = mapped_column(String(64), index=True)
    credit_rating: Mapped[str] = mapped_column(String(10))
    #: The registered address as written, and its coordinates (WGS84, both or neither), which
    #: the vendor GPS check compares outsourced visits' fixes with.
    registered_address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The day the customer's credit rating stops being valid, and the day its annual credit
    #: review is due (unknown: ``None``); the reminder scan opens a task before either lapses.
    rating_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    annual_review_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)


#: Ids are case-sensitive, but no two differ only in case (migration 0008).
Index("uq_customer_id_nocase", func.lower(Customer.id), unique=True)
