"""Lapses prevented, without the engine: the scan opens one ``lapse_prevention`` process (through
the outbox) per item and date once its lead time has come, for the owner the configuration
names, due before the date; a rerun — the same day or the next — opens nothing more; the
owner's answer closes the reminder and moves the object's date on. The lead times, owners and
due days are read from ``config/reminders.yaml``, not repeated here."""

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
from postloan.audit import AuditEvent
from postloan.customers.models import Customer
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.errors import Conflict, InvalidInput
from postloan.loans.models import Collateral, Loan
from postloan.outbox.models import OutboxKind, OutboxMessage
from postloan.reminders import lapses
from postloan.reminders.models import Reminder

AS_OF = date(2026, 6, 1)
RULES = lapses.rules()
R = RULES.kinds


def lead(kind: str, segment: str, product: str | None = None) -> int:
    return R[kind].lead_for(product, segment)


PRODUCT = "TEST-PRODUCT-NOT-CONFIGURED"


def customer(cid: str, segment: str, manager: str, **dates: date) -> Customer:
    return Customer(
        id=cid,
        name=f"Lapse {cid}",
        segment=segment,
        industry="Retail",
        branch="BR-SH-01",
        account_manager=manager,
        credit_rating="BBB",
        **dates,
    )


#: (kind, object id, the date that lapses): what the scan as of AS_OF must open, each once
EXPECTED = {
    ("rating_expiry", "C-LP1", AS_OF + timedelta(days=lead("rating_expiry", "corporate"))),
    ("annual_review", "C-LP2", AS_OF + timedelta(days=1)),
    ("credit_line_expiry", "L-LP1", AS_OF + timedelta(days=10)),
    ("valuation_due", "COL-LP1", AS_OF + timedelta(days=5)),
}


@pytest.fixture
def db(tmp_path, sqlite_template) -> Any:
    url = copy_of(sqlite_template, tmp_path / "lapses.db")
    with unit_of_work(url) as session:
        session.add_all(
            [
                # the rating reaches its lead exactly today; its review is one day beyond the lead
                customer(
                    "C-LP1",
                    "corporate",
                    "am_li",
                    rating_valid_until=AS_OF + timedelta(days=lead("rating_expiry", "corporate")),
                    annual_review_due_on=AS_OF
                    + timedelta(days=lead("annual_review", "corporate") + 1),
                ),
                # the rating lapsed yesterday (too late for prevention); the review due tomorrow
                customer(
                    "C-LP2",
                    "sme",
                    "am_zhang",
                    rating_valid_until=AS_OF - timedelta(days=1),
                    annual_review_due_on=AS_OF + timedelta(days=1),
                ),
                customer("C-LP3", "retail", "am_li"),  # no dates at all
            ]
        )
        session.flush()
        session.add(
            Loan(
                id="L-LP1",
                customer_id="C-LP1",
                product=PRODUCT,
                amount=Decimal("900000"),
                currency="CNY",
                disbursed_on=AS_OF - timedelta(days=300),
                maturity_on=AS_OF + timedelta(days=700),
                purpose="Working capital",
                credit_line_expires_on=AS_OF + timedelta(days=10),
                collaterals=[
                    Collateral(
                        id="COL-LP1",
                        kind="property",
                        value=Decimal("1500000"),
                        currency="CNY",
                        next_valuation_due_on=AS_OF + timedelta(days=5),
                        insurance_expires_on=AS_OF
                        + timedelta(days=lead("insurance_expiry", "corporate", PRODUCT) + 30),
                    )
                ],
            )
        )
    yield url
    db_engine(url).dispose()


def opened(url: str) -> tuple[set[tuple[str, str, date]], list[dict[str, Any]]]:
    with unit_of_work(url) as session:
        rows = session.scalars(select(Reminder).where(Reminder.kind != "instalment_due")).all()
        found = {
            (
                r.kind,
                r.collateral_id
                or (r.loan_id if r.kind == "credit_line_expiry" else None)
                or r.customer_id
                or "",
                r.due_on,
            )
            for r in rows
        }
        starts = [
            {"business_key": m.business_key, **m.payload}
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.PROCESS_START)
            )
        ]
    return found, starts


def test_the_scan_opens_one_task_per_item_and_date_for_its_owner(db):
    services = Services(uow=database_unit(db), engine=None)
    result = reminder_cases.run_full_scan(services, AS_OF)
    assert result.lapse_tasks == len(EXPECTED)
    found, starts = opened(db)
    assert found == EXPECTED
    assert len(starts) == len(EXPECTED)
    by_kind = {s["variables"]["lapse_kind"]: s for s in starts}
    for kind, object_id, lapses_on in EXPECTED:
        start = by_kind[kind]
        rule = R[kind]
        variables = start["variables"]
        assert start["process_key"] == "lapse_prevention"
        assert start["business_key"] == f"reminder-{variables['reminder_id']}"
        assert variables["lapses_on"] == lapses_on.isoformat()
        assert variables["task_priority"] == rule.priority
        assert object_id in variables["object_label"]
        due = date.fromisoformat(variables["prevent_lapse_due"][:10])
        assert due == max(AS_OF, lapses_on - timedelta(days=rule.task_due_days_before))
        assert due < lapses_on or rule.task_due_days_before == 0
        assert "prevent_lapse_due" in variables["__dates__"]
        if rule.owner == "account_manager":
            assert variables["lapse_group"] == "account-managers"
            manager = "am_zhang" if variables["customer_id"] == "C-LP2" else "am_li"
            assert variables["lapse_assignee"] == manager
        else:
            assert variables["lapse_group"] == rule.owner
            assert "lapse_assignee" not in variables


def test_a_rerun_the_same_day_or_the_next_opens_nothing_more(db):
    services = Services(uow=database_unit(db), engine=None)
    assert reminder_cases.run_full_scan(services, AS_OF).lapse_tasks == len(EXPECTED)
    assert reminder_cases.run_full_scan(services, AS_OF).lapse_tasks == 0
    # the next day only C-LP1's review, one day beyond its lead today, reaches it
    assert reminder_cases.run_full_scan(services, AS_OF + timedelta(days=1)).lapse_tasks == 1
    assert reminder_cases.run_full_scan(services, AS_OF + timedelta(days=1)).lapse_tasks == 0
    review = (
        "annual_review",
        "C-LP1",
        AS_OF + timedelta(days=lead("annual_review", "corporate") + 1),
    )
    found, starts = opened(db)
    assert found == EXPECTED | {review} and len(starts) == len(EXPECTED) + 1
    with unit_of_work(db) as session:
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "reminder.created")
        )
    assert audited == len(EXPECTED) + 1


def _reminder_of(url: str, kind: str) -> int:
    with unit_of_work(url) as session:
        return session.scalars(select(Reminder.id).where(Reminder.kind == kind)).one()


def test_the_answer_closes_the_reminder_and_moves_the_date_on(db):
    services = Services(uow=database_unit(db), engine=None)
    reminder_cases.run_full_scan(services, AS_OF)
    rating = _reminder_of(db, "rating_expiry")
    renewed = AS_OF + timedelta(days=400)
    answer = {"action": "rating_renewed", "note": "Rating report 2026/114", "new_due_on": renewed}
    with unit_of_work(db) as session:
        with pytest.raises(InvalidInput) as bad:
            lapses.record_action(session, rating, **{**answer, "action": "x"}, actor="cm_liu")
        assert bad.value.field == "action"
        with pytest.raises(InvalidInput) as bad:
            lapses.record_action(session, rating, **{**answer, "note": " "}, actor="cm_liu")
        assert bad.value.field == "note"
        with pytest.raises(InvalidInput) as bad:
            lapses.record_action(session, rating, **{**answer, "new_due_on": AS_OF}, actor="cm_liu")
        assert bad.value.field == "new_due_on"
    with unit_of_work(db) as session:
        lapses.record_action(session, rating, **answer, actor="cm_liu")
    with unit_of_work(db) as session:
        # the same answer again (a worker task run twice) changes nothing; another is refused
        lapses.record_action(session, rating, **answer, actor="cm_liu")
        with pytest.raises(Conflict):
            lapses.record_action(session, rating, **{**answer, "note": "other"}, actor="cm_liu")
    with unit_of_work(db) as session:
        row = session.get(Reminder, rating)
        assert (row.state, row.action_taken, row.done_by, row.new_due_on) == (
            "done",
            "rating_renewed",
            "cm_liu",
            renewed,
        )
        assert session.get(Customer, "C-LP1").rating_valid_until == renewed
        done = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "reminder.lapse_prevented")
        )
        assert done == 1
    # the renewed date is watched in turn: one new task once its own lead time comes
    later = renewed - timedelta(days=lead("rating_expiry", "corporate"))
    assert reminder_cases.run_full_scan(services, later - timedelta(days=1)).lapse_tasks == 0
    assert reminder_cases.run_full_scan(services, later).lapse_tasks >= 1
    with unit_of_work(db) as session:
        ratings = session.scalars(
            select(Reminder.due_on).where(Reminder.kind == "rating_expiry")
        ).all()
    assert sorted(ratings) == sorted(
        [renewed, *(d for k, _, d in EXPECTED if k == "rating_expiry")]
    )


def test_configuration_is_checked():
    good = {"lapses": {}, "lapse_actions": ["other"]}
    for kind in lapses.KINDS:
        good["lapses"][kind] = {"lead_days": {"default": 30}, "owner": "account_manager"}
    assert lapses.parse_rules(good).kinds["rating_expiry"].group() == "account-managers"
    bad_owner = {
        **good,
        "lapses": {
            **good["lapses"],
            "rating_expiry": {"lead_days": {"default": 30}, "owner": "vendors"},
        },
    }
    with pytest.raises(lapses.LapseConfigError, match="rating_expiry.owner"):
        lapses.parse_rules(bad_owner)
    bad_lead = {
        **good,
        "lapses": {
            **good["lapses"],
            "valuation_due": {
                "lead_days": {"default": 30, "segments": {"sme": 0}},
                "owner": "postloan-officers",
            },
        },
    }
    with pytest.raises(lapses.LapseConfigError, match="valuation_due.lead_days.segments.sme"):
        lapses.parse_rules(bad_lead)
    with pytest.raises(lapses.LapseConfigError, match="unknown kind"):
        lapses.parse_rules({**good, "lapses": {**good["lapses"], "passport": {}}})
    segment_first = lapses.parse_rules(
        {
            **good,
            "lapses": {
                **good["lapses"],
                "credit_line_expiry": {
                    "lead_days": {"default": 60, "products": {"P": 90}, "segments": {"sme": 30}},
                    "owner": "account_manager",
                },
            },
        }
    ).kinds["credit_line_expiry"]
    assert segment_first.lead_for("P", "sme") == 90  # product first
    assert segment_first.lead_for("Q", "sme") == 30
    assert segment_first.lead_for(None, "retail") == 60


def test_postloanctl_remind_runs_the_same_scan_once(db, capsys):
    from config.settings import Settings
    from postloanctl.__main__ import run_remind

    settings = Settings(database_url=db)
    assert run_remind(settings, AS_OF) == 0
    assert f"{len(EXPECTED)} lapse task(s)" in capsys.readouterr().out
    assert run_remind(settings, AS_OF) == 0
    assert "0 lapse task(s)" in capsys.readouterr().out
    found, starts = opened(db)
    assert found == EXPECTED and len(starts) == len(EXPECTED)
