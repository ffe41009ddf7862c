"""The reminder handlers without the engine: the scan task delivered twice (a lock expiry) does
its work once; a new scan task the same day finds nothing new; the answer handler turns a
refused answer into the BPMN error the diagram catches (nothing written) and records a good
one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlite_template import copy_of

from config.settings import get_settings
from postloan.customers.models import Customer
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.loans.models import Loan, Repayment
from postloan.outbox.models import OutboxKind, OutboxMessage
from postloan.reminders.models import Reminder
from workers import reminders as handlers
from workers.runtime import BusinessError, ExternalTask

TODAY = date.today()


def task(task_id: str, topic: str, business_key: str | None = None) -> ExternalTask:
    return ExternalTask(
        id=task_id,
        topic=topic,
        worker_id="test",
        business_key=business_key,
        process_instance_id="pi-" + task_id,
        process_definition_key=None,
        activity_id="a",
        retries=None,
        priority=0,
        variables={},
    )


@pytest.fixture
def db(tmp_path, sqlite_template, monkeypatch) -> Any:
    url = copy_of(sqlite_template, tmp_path / "reminder_workers.db")
    with unit_of_work(url) as session:
        session.add(
            Customer(
                id="C-W1",
                name="Worker Co",
                segment="sme",
                industry="textiles",
                branch="BR-SH-01",
                account_manager="am_li",
                credit_rating="A",
                rating_valid_until=TODAY + timedelta(days=3),
            )
        )
        session.flush()
        session.add(
            Loan(
                id="L-W1",
                customer_id="C-W1",
                product="TEST-PRODUCT-NOT-CONFIGURED",
                amount=Decimal("100000"),
                currency="CNY",
                disbursed_on=TODAY - timedelta(days=90),
                maturity_on=TODAY + timedelta(days=300),
                purpose="stock",
            )
        )
        session.flush()
        session.add(
            Repayment(
                loan_id="L-W1",
                due_on=TODAY + timedelta(days=1),
                due_amount=Decimal("1000"),
                kind="instalment",
                paid_amount=Decimal("0"),
            )
        )
    monkeypatch.setenv("POSTLOAN_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    db_engine(url).dispose()


def counts(url: str) -> tuple[int, int]:
    with unit_of_work(url) as session:
        reminders = session.scalar(select(func.count()).select_from(Reminder)) or 0
        outbox = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind != OutboxKind.WEBHOOK)
        )
    return reminders, outbox or 0


def test_the_scan_task_run_twice_works_once(db):
    first = handlers.scan(task("t-1", "reminders.scan"))
    assert first == {"instalment_reminders": 1, "lapse_tasks": 1}
    # a notice per instalment reminder, a process start per lapse task
    assert counts(db) == (2, 2)
    assert handlers.scan(task("t-1", "reminders.scan")) == first  # delivered again
    assert handlers.scan(task("t-2", "reminders.scan")) == {
        "instalment_reminders": 0,
        "lapse_tasks": 0,
    }
    assert counts(db) == (2, 2)


def test_the_answer_handler(db):
    handlers.scan(task("t-1", "reminders.scan"))
    with unit_of_work(db) as session:
        rid = session.scalars(select(Reminder.id).where(Reminder.kind == "rating_expiry")).one()
    answer = task("t-3", "reminders.record-lapse-action", f"reminder-{rid}")
    good = {
        "reminder_id": None,  # from the business key
        "lapse_action": "rating_renewed",
        "lapse_note": "renewed",
        "prevented_by": "cm_liu",
    }
    for new_date, problem in (("soon", "not a date"), (TODAY.isoformat(), "must be after")):
        with pytest.raises(BusinessError) as refused:
            handlers.record_lapse_action(answer, **good, lapse_new_due_on=new_date)
        assert refused.value.code == "LAPSE_ANSWER_INVALID"
        assert problem in refused.value.variables["lapse_problem"]
    with unit_of_work(db) as session:
        assert session.get(Reminder, rid).state == "open"
    renewed = TODAY + timedelta(days=365)
    out = handlers.record_lapse_action(answer, **good, lapse_new_due_on=renewed.isoformat())
    assert out == {"lapse_state": "done", "lapse_problem": ""}
    with unit_of_work(db) as session:
        row = session.get(Reminder, rid)
        assert (row.state, row.done_by, row.new_due_on) == ("done", "cm_liu", renewed)
        assert session.get(Customer, "C-W1").rating_valid_until == renewed
