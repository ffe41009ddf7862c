"""The demo's data without a server: the scenes as generated and imported, and the rule that
keeps an imported book's arrears from starting a special inspection each (fast tier)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from postloan.application import inspections as inspection_cases
from postloan.application.ports import database_unit
from postloan.application.services import Services
from postloan.db import unit_of_work, utcnow
from postloan.inspections.models import Inspection
from postloan.loans import service as loans
from postloan.loans.models import Loan
from postloanctl import demo
from postloanctl.generator import SCENES, demo_scenes, scene_loan
from tests.sqlite_template import copy_of, sqlite_template
from tests.unit.test_outbox import FakeEngine, _customer_and_loan

__all__ = ["sqlite_template"]  # the session's migrated template (fixture)

TODAY = date.today()


def test_the_scenes_are_what_the_demo_inbox_counts_on(tmp_path, sqlite_template) -> None:
    url = copy_of(sqlite_template, tmp_path / "scenes.db")
    with unit_of_work(url) as session:
        assert demo.load_scenes(session, TODAY) == len(SCENES)
    with unit_of_work(url) as session:
        assert demo.load_scenes(session, TODAY) == 0  # a restart adds nothing
        overdue = {
            customer: loans.arrears(session, scene_loan(customer), TODAY)[0].days_past_due
            for customer in SCENES
        }
    # 45 and 40 days give the special inspection and the downgrade to confirm; the others pay.
    assert abs(overdue[demo.SPECIAL] - 45) <= 3 and abs(overdue[demo.CONFIRM] - 40) <= 3
    paying = set(SCENES) - {demo.SPECIAL, demo.CONFIRM}
    assert {c: overdue[c] for c in paying} == dict.fromkeys(paying, 0)
    assert list(demo_scenes(TODAY)) == list(demo_scenes(TODAY))  # seeded


def test_an_imported_books_arrears_start_no_special_inspection_but_a_lost_trigger_does(
    tmp_path, sqlite_template
) -> None:
    """Overdue already when the loan came here (imported today) is history: the scan
    classifies and signals it. Overdue since after its registration is a new overdue whose
    trigger was lost: one special inspection (``config/special_triggers.yaml``)."""
    uow = database_unit(copy_of(sqlite_template, tmp_path / "history.db"))
    history = _customer_and_loan(uow, overdue_days=5)
    with uow() as session:
        imported = session.get(Loan, history)
        assert imported is not None
        imported.created_at = utcnow()  # imported today, already 5 days overdue
    lost = _customer_and_loan(uow, overdue_days=5)  # registered at disbursement, 60 days ago
    services = Services(uow=uow, engine=FakeEngine())
    assert inspection_cases.start_missing_overdue_inspections(services) == [lost]
    with uow() as session:
        assert not session.scalars(select(Inspection).where(Inspection.loan_id == history)).all()


def test_the_overdue_scenes_are_as_late_as_they_say_on_every_day_of_the_year() -> None:
    """Instalments fall on day 28 at the latest: on any start day (a 29th-31st too) the oldest
    unpaid instalment of an overdue scene is its ``overdue`` days late, or up to 3 days more."""
    wanted = {demo.SPECIAL: 45, demo.CONFIRM: 40}
    start = date(2027, 1, 1)
    for offset in range(2 * 366):
        today = start + timedelta(days=offset)
        unpaid: dict[str, list[date]] = {}
        for kind, record in demo_scenes(today):
            if kind == "repayments" and record["paid_on"] is None:
                due = date.fromisoformat(record["due_on"])
                if due < today:
                    unpaid.setdefault(record["loan_id"], []).append(due)
        for customer, days in wanted.items():
            late = (today - min(unpaid[scene_loan(customer)])).days
            assert days <= late <= days + 3, (today, customer, late)
