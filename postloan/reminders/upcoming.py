"""What falls due or lapses in the next days, reminded yet or not (``GET /reminders/upcoming``):
unpaid instalments and the dates of ``postloan.reminders.lapses``, each with the reminder the
scan made for it, if any. Read only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.customers.models import Customer
from postloan.loans.models import Loan, Repayment
from postloan.reminders import lapses
from postloan.reminders.models import Reminder
from postloan.reminders.service import INSTALMENT_DUE


@dataclass(frozen=True)
class Upcoming:
    kind: str
    object_type: str  # repayment, customer, loan, collateral
    object_id: str
    customer_id: str
    loan_id: str | None
    account_manager: str
    branch: str
    due_on: date
    #: the latest reminder the scan made for it (None: its lead time has not come yet)
    reminder_id: int | None


@dataclass(frozen=True)
class UpcomingFilter:
    kind: str | None = None
    customer_id: str | None = None
    loan_id: str | None = None
    account_manager: str | None = None
    branch: str | None = None

    def admits(self, item: Upcoming) -> bool:
        return (
            (self.kind is None or item.kind == self.kind)
            and (self.customer_id is None or item.customer_id == self.customer_id)
            and (self.loan_id is None or item.loan_id == self.loan_id)
            and (self.account_manager is None or item.account_manager == self.account_manager)
            and (self.branch is None or item.branch == self.branch)
        )


def _instalments(session: Session, as_of: date, until: date) -> list[Upcoming]:
    rows = session.execute(
        select(Repayment, Loan, Customer)
        .join(Loan, Loan.id == Repayment.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(Repayment.paid_on.is_(None), Repayment.due_on >= as_of, Repayment.due_on <= until)
    ).all()
    reminded: dict[str, int] = {}
    if rows:
        keys = session.execute(
            select(Reminder.dedupe_key, Reminder.id).where(
                Reminder.kind == INSTALMENT_DUE, Reminder.due_on >= as_of, Reminder.due_on <= until
            )
        )
        for key, reminder_id in keys:
            repayment_id = key.split(":")[1]
            reminded[repayment_id] = max(reminder_id, reminded.get(repayment_id, 0))
    return [
        Upcoming(
            INSTALMENT_DUE,
            "repayment",
            str(repayment.id),
            customer.id,
            loan.id,
            customer.account_manager,
            customer.branch,
            repayment.due_on,
            reminded.get(str(repayment.id)),
        )
        for repayment, loan, customer in rows
    ]


def _lapses(session: Session, as_of: date, until: date, kind: str | None) -> list[Upcoming]:
    found: list[lapses.Lapse] = []
    for rule in lapses.rules().kinds.values():
        if kind is None or rule.kind == kind:
            found.extend(lapses.candidates(session, rule, as_of, until))
    reminded: dict[str, int] = {}
    if found:
        keys = session.execute(
            select(Reminder.dedupe_key, Reminder.id).where(
                Reminder.kind.in_(lapses.KINDS), Reminder.due_on >= as_of, Reminder.due_on <= until
            )
        )
        reminded = dict(keys.tuples().all())
    return [
        Upcoming(
            lapse.kind,
            lapse.object_type,
            lapse.object_id,
            lapse.customer.id,
            lapse.loan_id,
            lapse.customer.account_manager,
            lapse.customer.branch,
            lapse.lapses_on,
            reminded.get(lapse.dedupe_key),
        )
        for lapse in found
    ]


def upcoming(
    session: Session, as_of: date, within_days: int, where: UpcomingFilter = UpcomingFilter()
) -> list[Upcoming]:
    """Everything due from ``as_of`` to ``within_days`` later (both included), soonest first."""
    until = as_of + timedelta(days=within_days)
    items: list[Upcoming] = []
    if where.kind in (None, INSTALMENT_DUE):
        items.extend(_instalments(session, as_of, until))
    if where.kind != INSTALMENT_DUE:
        items.extend(_lapses(session, as_of, until, where.kind))
    chosen = [item for item in items if where.admits(item)]
    return sorted(chosen, key=lambda i: (i.due_on, i.kind, i.object_id))
