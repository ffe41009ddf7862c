from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from postloan.loans.arrears import arrears_as_of

AS_OF = date(2026, 11, 28)


@dataclass
class Row:
    due_on: date
    due_amount: Decimal
    paid_on: date | None = None
    paid_amount: Decimal = Decimal("0")


def test_nothing_due_yet_is_current():
    result = arrears_as_of([Row(date(2026, 12, 1), Decimal("100"))], AS_OF)
    assert (result.days_past_due, result.overdue_amount) == (0, Decimal("0"))


def test_days_past_due_count_from_the_oldest_unpaid_instalment():
    rows = [
        Row(date(2026, 8, 25), Decimal("100")),  # 95 days before AS_OF, unpaid
        Row(date(2026, 9, 25), Decimal("100"), date(2026, 9, 25), Decimal("100")),
        Row(date(2026, 10, 25), Decimal("100")),
    ]
    result = arrears_as_of(rows, AS_OF)
    assert result.days_past_due == 95
    assert result.overdue_amount == Decimal("200")
    assert result.overdue_instalments == 2
    assert result.oldest_unpaid_due_on == date(2026, 8, 25)


def test_partial_payment_leaves_the_shortfall_overdue():
    rows = [Row(date(2026, 11, 18), Decimal("100"), date(2026, 11, 18), Decimal("60"))]
    result = arrears_as_of(rows, AS_OF)
    assert (result.days_past_due, result.overdue_amount) == (10, Decimal("40"))


def test_payment_after_the_as_of_date_does_not_count_yet():
    rows = [Row(date(2026, 11, 1), Decimal("100"), date(2026, 12, 5), Decimal("100"))]
    assert arrears_as_of(rows, AS_OF).days_past_due == 27


def test_instalment_due_today_is_not_yet_overdue():
    assert arrears_as_of([Row(AS_OF, Decimal("100"))], AS_OF).days_past_due == 0
