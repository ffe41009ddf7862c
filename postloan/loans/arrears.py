"""Days past due and arrears, computed from the repayment schedule (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol


class Instalment(Protocol):
    @property
    def due_on(self) -> date: ...
    @property
    def due_amount(self) -> Decimal: ...
    @property
    def paid_on(self) -> date | None: ...
    @property
    def paid_amount(self) -> Decimal: ...


@dataclass(frozen=True)
class Arrears:
    days_past_due: int
    overdue_amount: Decimal
    overdue_instalments: int
    oldest_unpaid_due_on: date | None


def arrears_as_of(schedule: Iterable[Instalment], as_of: date) -> Arrears:
    """Arrears of a loan on ``as_of``.

    An instalment is overdue when its due date has passed and less than the due amount was paid by
    ``as_of``. Days past due count from the oldest such instalment, as banks and the five-category
    rules do; payments dated after ``as_of`` do not count.
    """
    overdue = Decimal("0")
    count = 0
    oldest: date | None = None
    for item in schedule:
        if item.due_on >= as_of:
            continue
        paid_in_time = item.paid_on is not None and item.paid_on <= as_of
        paid = item.paid_amount if paid_in_time else Decimal(0)
        shortfall = item.due_amount - paid
        if shortfall > 0:
            overdue += shortfall
            count += 1
            if oldest is None or item.due_on < oldest:
                oldest = item.due_on
    dpd = (as_of - oldest).days if oldest is not None else 0
    return Arrears(dpd, overdue, count, oldest)
