"""Technical overdue: instalments paid in full 1 to N days late (N: ``config/reminders.yaml``).

A short delay of a payment that did arrive is an operational slip (a transfer that took a few days,
a customer paying on the next working day), not a credit problem; counted per loan, per account
manager and per branch it shows where customers need a reminder before the due date. Paid on or
before the due date is not late; paid more than N days late is a real overdue (the arrears count
it, not this). An instalment paid only in part, or not at all, is never a technical overdue.

``tally`` is pure; ``for_loan``, ``by_loan``, ``by_account_manager`` and ``by_branch`` read the
recorded repayments of a period (by due date, both ends included) so the assessment can use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from postloan.customers.models import Customer
from postloan.loans.arrears import Instalment
from postloan.loans.models import Loan, Repayment

REMINDERS_FILE = Path(__file__).resolve().parents[2] / "config" / "reminders.yaml"


class TechnicalOverdueConfigError(ValueError):
    """``config/reminders.yaml`` ``technical_overdue`` is wrong; the message names the key."""


@dataclass(frozen=True)
class TechnicalOverdueRule:
    max_days_late: int
    window_days: int


def parse_rule(spec: object) -> TechnicalOverdueRule:
    section = spec.get("technical_overdue") if isinstance(spec, dict) else None
    if not isinstance(section, dict):
        raise TechnicalOverdueConfigError("technical_overdue: section missing")
    values: dict[str, int] = {}
    for key in ("max_days_late", "window_days"):
        value = section.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TechnicalOverdueConfigError(f"technical_overdue.{key}: a whole number >= 1")
        values[key] = value
    return TechnicalOverdueRule(**values)


@lru_cache
def rule(path: Path = REMINDERS_FILE) -> TechnicalOverdueRule:
    return parse_rule(yaml.safe_load(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Period:
    """Due dates from ``start`` to ``end``, both included; ``None`` leaves that end open."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class Tally:
    count: int = 0
    max_days_late: int = 0  # the longest delay among the counted instalments (0: none counted)

    def plus(self, days: int) -> Tally:
        return Tally(self.count + 1, max(self.max_days_late, days))


def days_late(item: Instalment, max_days_late: int) -> int | None:
    """The delay of a technically overdue instalment, or ``None`` when it is not one."""
    if item.paid_on is None or item.paid_amount < item.due_amount:
        return None
    days = (item.paid_on - item.due_on).days
    return days if 1 <= days <= max_days_late else None


def tally(schedule: Iterable[Instalment], max_days_late: int) -> Tally:
    result = Tally()
    for item in schedule:
        days = days_late(item, max_days_late)
        if days is not None:
            result = result.plus(days)
    return result


def _late_paid(period: Period) -> list[ColumnElement[bool]]:
    """Only instalments paid after their due date, in the period: the rest can never count."""
    conditions = [Repayment.paid_on.is_not(None), Repayment.paid_on > Repayment.due_on]
    if period.start is not None:
        conditions.append(Repayment.due_on >= period.start)
    if period.end is not None:
        conditions.append(Repayment.due_on <= period.end)
    return conditions


def for_loan(
    session: Session, loan_id: str, period: Period = Period(), max_days_late: int | None = None
) -> Tally:
    limit = rule().max_days_late if max_days_late is None else max_days_late
    rows = session.scalars(
        select(Repayment).where(Repayment.loan_id == loan_id, *_late_paid(period))
    )
    return tally(rows, limit)


def recent_for_loan(session: Session, loan_id: str, today: date) -> tuple[Tally, int]:
    """The loan's count over the configured window up to ``today``, and that window's length."""
    config = rule()
    period = Period(today - timedelta(days=config.window_days), today)
    return for_loan(session, loan_id, period, config.max_days_late), config.window_days


def _grouped(
    session: Session, column: InstrumentedAttribute[str], period: Period, max_days_late: int | None
) -> dict[str, Tally]:
    limit = rule().max_days_late if max_days_late is None else max_days_late
    query = (
        select(column, Repayment)
        .join(Loan, Loan.id == Repayment.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(*_late_paid(period))
    )
    result: dict[str, Tally] = {}
    for key, repayment in session.execute(query):
        days = days_late(repayment, limit)
        if days is not None:
            result[key] = result.get(key, Tally()).plus(days)
    return result


def by_account_manager(
    session: Session, period: Period = Period(), max_days_late: int | None = None
) -> dict[str, Tally]:
    """Account manager (engine user id) -> tally; managers with none counted are left out."""
    return _grouped(session, Customer.account_manager, period, max_days_late)


def by_loan(
    session: Session, period: Period = Period(), max_days_late: int | None = None
) -> dict[str, Tally]:
    """Loan id -> tally; loans with none counted are left out."""
    return _grouped(session, Loan.id, period, max_days_late)


def by_branch(
    session: Session, period: Period = Period(), max_days_late: int | None = None
) -> dict[str, Tally]:
    """Branch code -> tally; branches with none counted are left out."""
    return _grouped(session, Customer.branch, period, max_days_late)
