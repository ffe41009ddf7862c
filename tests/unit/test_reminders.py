"""The reminder scan: an unpaid instalment due within its lead days gets one reminder to the
account manager and one customer notice in the outbox per lead; a rerun creates nothing new;
paid or far-off instalments get none; the lead days come from ``config/reminders.yaml``."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlite_template import copy_of

from postloan.application import reminders as reminder_cases
from postloan.application.ports import database_unit
from postloan.application.services import Services
from postloan.customers.models import Customer
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.loans.models import Loan, Repayment
from postloan.outbox.models import OutboxKind, OutboxMessage
from postloan.reminders import service
from postloan.reminders.models import Reminder

AS_OF = date(2026, 6, 1)
LEADS = service.instalment_rule().default
SHORT, LONG = min(LEADS), max(LEADS)


def test_lead_reached_picks_the_shortest_lead_whose_day_has_come():
    assert service.lead_reached(AS_OF + timedelta(days=LONG), AS_OF, LEADS) == LONG
    assert service.lead_reached(AS_OF + timedelta(days=LONG + 1), AS_OF, LEADS) is None
    assert service.lead_reached(AS_OF + timedelta(days=SHORT), AS_OF, LEADS) == SHORT
    assert service.lead_reached(AS_OF, AS_OF, LEADS) == SHORT  # due today: the last call
    assert service.lead_reached(AS_OF - timedelta(days=1), AS_OF, LEADS) is None  # overdue


def test_configuration_is_checked():
    with pytest.raises(service.ReminderConfigError, match="default"):
        service.parse_instalment_rule({"instalment_due": {"lead_days": {"default": []}}})
    with pytest.raises(service.ReminderConfigError, match="products.X"):
        service.parse_instalment_rule(
            {"instalment_due": {"lead_days": {"default": [7], "products": {"X": [0]}}}}
        )
    rule = service.parse_instalment_rule(
        {"instalment_due": {"lead_days": {"default": [7, 1], "segments": {"sme": [14, 3]}}}}
    )
    assert rule.leads_for("ANY", "sme") == (3, 14) and rule.leads_for("ANY", "retail") == (1, 7)


# days from AS_OF to the due date, paid?
SCHEDULE = [(LONG, False), (SHORT, False), (LONG + 3, False), (SHORT, True), (-2, False)]


@pytest.fixture
def db(tmp_path, sqlite_template) -> Any:
    url = copy_of(sqlite_template, tmp_path / "reminders.db")
    with unit_of_work(url) as session:
        session.add(
            Customer(
                id="C-RM",
                name="Reminded Co",
                segment="retail",
                industry="Retail",
                branch="BR-SH-01",
                account_manager="am_li",
                credit_rating="BBB",
            )
        )
        session.add(
            Loan(
                id="L-RM",
                customer_id="C-RM",
                product="TEST-PRODUCT-NOT-CONFIGURED",
                amount=Decimal("50000"),
                currency="CNY",
                disbursed_on=AS_OF - timedelta(days=100),
                maturity_on=AS_OF + timedelta(days=400),
                purpose="Stock",
            )
        )
        session.flush()
        for i, (days, paid) in enumerate(SCHEDULE):
            due_on = AS_OF + timedelta(days=days)
            session.add(
                Repayment(
                    loan_id="L-RM",
                    due_on=due_on,
                    due_amount=Decimal("1000"),
                    kind=("instalment", "principal", "interest", "interest", "instalment")[i],
                    paid_on=AS_OF - timedelta(days=1) if paid else None,
                    paid_amount=Decimal("1000") if paid else Decimal("0"),
                )
            )
    yield url
    db_engine(url).dispose()


def reminders_and_notices(url: str) -> tuple[list[tuple[date, int, str | None]], int]:
    with unit_of_work(url) as session:
        rows = session.scalars(select(Reminder).order_by(Reminder.due_on, Reminder.lead_days))
        reminders = [(r.due_on, r.lead_days, r.addressee_user) for r in rows]
        notices = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == OutboxKind.CUSTOMER_NOTICE)
        )
    return reminders, notices or 0


def test_scan_reminds_once_per_instalment_and_lead(db):
    services = Services(uow=database_unit(db), engine=None)
    d = lambda days: AS_OF + timedelta(days=days)  # noqa: E731
    assert reminder_cases.run_scan(services, AS_OF) == 2
    first = [(d(SHORT), SHORT, "am_li"), (d(LONG), LONG, "am_li")]
    assert reminders_and_notices(db) == (first, 2)
    # a rerun the same day creates nothing new
    assert reminder_cases.run_scan(services, AS_OF) == 0
    assert reminders_and_notices(db) == (first, 2)
    # LONG - SHORT days later: the first one's short lead, and the far one's long lead
    later = AS_OF + timedelta(days=LONG - SHORT)
    assert reminder_cases.run_scan(services, later) == 2
    want = sorted(first + [(d(LONG), SHORT, "am_li"), (d(LONG + 3), LONG, "am_li")])
    assert reminders_and_notices(db) == (want, 4)
    assert reminder_cases.run_scan(services, later) == 0
    assert reminders_and_notices(db)[1] == 4
