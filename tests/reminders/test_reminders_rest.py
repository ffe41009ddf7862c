"""Reminders over REST and in the database, without the engine.

- An instalment due in 7 days (the default lead) gives one reminder to the account manager,
  one customer notice and one signed webhook owed through the outbox; a rerun gives nothing new.
- Technical overdue: a seeded set of repayments counted per loan, account manager and branch
  equals the hand-computed values (N, the days late that still count, from the configuration).
- ``GET /reminders`` filters; bad input is a 4xx naming the field. The dates that can lapse are
  taken by ``POST /customers`` and ``POST /loans`` and shown back.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlite_template import copy_of

from api.deps import get_engine, get_services
from config.settings import Settings, get_settings
from postloan.access import service as access
from postloan.application import reminders as reminder_cases
from postloan.application.ports import database_unit
from postloan.application.services import Services
from postloan.customers.models import Customer
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.loans import technical_overdue
from postloan.loans.models import Loan, Repayment
from postloan.outbox.models import OutboxKind, OutboxMessage
from postloan.reminders import service

TODAY = date.today()
N = technical_overdue.rule().max_days_late
WINDOW = technical_overdue.rule().window_days
HOOK = "https://notify.example.org/hooks/postloan"


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


class StandInEngine:
    def members_of(self, group: str, users: Any) -> set[str]:
        return set(users) & {"am_li", "am_zhang", "lead_hu"}


@pytest.fixture
def db(tmp_path, sqlite_template) -> Any:
    url = copy_of(sqlite_template, tmp_path / "reminders_rest.db")
    yield url
    db_engine(url).dispose()


@pytest.fixture
def client(db) -> TestClient:
    from api.main import create_app

    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(database_url=db)
    app.dependency_overrides[get_engine] = lambda: None
    app.dependency_overrides[get_services] = lambda: Services(
        uow=database_unit(db), engine=StandInEngine()
    )
    with unit_of_work(db) as session:
        key = access.issue(session, name="k-int", role="integrator", actor="tests")
    test_client = TestClient(app)
    test_client.headers["Authorization"] = f"Bearer {key}"
    return test_client


def add_customer(session, cid: str, branch: str, manager: str, segment: str = "sme") -> None:
    session.add(
        Customer(
            id=cid,
            name=f"Customer {cid}",
            segment=segment,
            industry="textiles",
            branch=branch,
            account_manager=manager,
            credit_rating="A",
        )
    )
    session.flush()


def add_loan(session, lid: str, cid: str, product: str = "TEST-PRODUCT-NOT-CONFIGURED") -> None:
    session.add(
        Loan(
            id=lid,
            customer_id=cid,
            product=product,
            amount=Decimal("300000"),
            currency="CNY",
            disbursed_on=days(-600),
            maturity_on=days(600),
            purpose="stock",
        )
    )
    session.flush()


def pay(session, lid: str, due_in: int, late: int | None, amount: str = "1000", kind="instalment"):
    """An instalment due ``due_in`` days from today, paid ``late`` days after (None: unpaid)."""
    due_on = days(due_in)
    session.add(
        Repayment(
            loan_id=lid,
            due_on=due_on,
            due_amount=Decimal("1000"),
            kind=kind,
            paid_on=None if late is None else due_on + timedelta(days=late),
            paid_amount=Decimal("0") if late is None else Decimal(amount),
        )
    )


def outbox(db: str, kind: OutboxKind) -> list[dict[str, Any]]:
    with unit_of_work(db) as session:
        return [
            dict(m.payload)
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        ]


# -- instalment due ----------------------------------------------------------------------------


def test_an_instalment_due_in_7_days_gives_one_reminder_notice_and_webhook(client, db):
    assert 7 in service.instalment_rule().default  # the issue's default lead
    with unit_of_work(db) as session:
        add_customer(session, "C-IN1", "BR-SH-01", "am_li", segment="retail")
        add_loan(session, "L-IN1", "C-IN1")
        pay(session, "L-IN1", 7, None)
        pay(session, "L-IN1", 7 + 30, None, kind="interest")  # a month later: not yet
        pay(session, "L-IN1", 7, 0, kind="principal")  # paid ahead: nothing to remind
    services = Services(uow=database_unit(db), engine=None)
    for _ in range(2):  # the second run is a rerun: nothing new
        reminder_cases.run_full_scan(services, TODAY, webhook_url=HOOK)
    body = client.get("/api/v1/reminders", params={"kind": "instalment_due"}).json()
    assert body["total"] == 1, body
    item = body["items"][0]
    assert (item["loan_id"], item["due_on"], item["lead_days"]) == ("L-IN1", days(7).isoformat(), 7)
    assert (item["addressee_role"], item["addressee_user"]) == ("account_manager", "am_li")
    notices = outbox(db, OutboxKind.CUSTOMER_NOTICE)
    assert len(notices) == 1 and notices[0]["customer_id"] == "C-IN1"
    assert days(7).isoformat() in notices[0]["text"]
    hooks = outbox(db, OutboxKind.WEBHOOK)
    assert len(hooks) == 1 and hooks[0]["url"] == HOOK
    assert hooks[0]["body"] == {
        "event": "instalment_due",
        "reminder_id": item["id"],
        "customer_id": "C-IN1",
        "loan_id": "L-IN1",
        "due_on": days(7).isoformat(),
        "due_amount": "1000.00",
        "currency": "CNY",
        "lead_days": 7,
    }
    # six days later the 1-day lead is reached: one more reminder and notice, then no more
    for _ in range(2):
        reminder_cases.run_full_scan(services, days(6), webhook_url=HOOK)
    leads = [i["lead_days"] for i in client.get("/api/v1/reminders").json()["items"]]
    assert sorted(leads) == [1, 7]
    assert len(outbox(db, OutboxKind.CUSTOMER_NOTICE)) == 2
    assert len(outbox(db, OutboxKind.WEBHOOK)) == 2


def test_without_a_webhook_url_only_the_notice_is_owed(db):
    with unit_of_work(db) as session:
        add_customer(session, "C-IN2", "BR-SH-01", "am_li")
        add_loan(session, "L-IN2", "C-IN2")
        pay(session, "L-IN2", 1, None)
    services = Services(uow=database_unit(db), engine=None)
    assert reminder_cases.run_full_scan(services, TODAY).instalment_reminders == 1
    assert len(outbox(db, OutboxKind.CUSTOMER_NOTICE)) == 1
    assert outbox(db, OutboxKind.WEBHOOK) == []


# -- technical overdue -------------------------------------------------------------------------


@pytest.fixture
def seeded(db) -> str:
    """Three customers in two branches under two managers, four loans."""
    assert N >= 2, "the seed needs N of at least 2"
    with unit_of_work(db) as session:
        add_customer(session, "C-T1", "BR-TA", "am_li")
        add_customer(session, "C-T2", "BR-TA", "am_zhang")
        add_customer(session, "C-T3", "BR-TB", "am_li")
        for lid, cid in (("L-T1", "C-T1"), ("L-T2", "C-T2"), ("L-T3a", "C-T3"), ("L-T3b", "C-T3")):
            add_loan(session, lid, cid)
        pay(session, "L-T1", -100, 1)  # counts (1 day)
        pay(session, "L-T1", -90, N)  # counts (N days)
        pay(session, "L-T1", -80, 0)  # on time
        pay(session, "L-T1", -70, N + 1)  # a real overdue, not technical
        pay(session, "L-T1", -60, 1, amount="400")  # paid only in part
        pay(session, "L-T1", -50, None)  # unpaid
        pay(session, "L-T2", -100, 2)  # counts (2 days)
        pay(session, "L-T3a", -100, N)  # counts (N days)
        pay(session, "L-T3b", -100, -3)  # paid early
        pay(session, "L-T3b", -90, 1)  # counts (1 day)
        pay(session, "L-T3b", -(WINDOW + 10), 1)  # counts, but due before the window
    return db


def tallies(result: dict[str, technical_overdue.Tally]) -> dict[str, tuple[int, int]]:
    return {k: (t.count, t.max_days_late) for k, t in result.items()}


def test_technical_overdue_counts_equal_the_hand_computed_values(seeded):
    window = technical_overdue.Period(days(-WINDOW), TODAY)
    with unit_of_work(seeded) as session:
        assert tallies(technical_overdue.by_loan(session, window)) == {
            "L-T1": (2, N),
            "L-T2": (1, 2),
            "L-T3a": (1, N),
            "L-T3b": (1, 1),
        }
        assert tallies(technical_overdue.by_account_manager(session, window)) == {
            "am_li": (4, N),
            "am_zhang": (1, 2),
        }
        assert tallies(technical_overdue.by_branch(session, window)) == {
            "BR-TA": (3, N),
            "BR-TB": (2, N),
        }
        # without a period the old instalment counts too
        assert tallies(technical_overdue.by_branch(session))["BR-TB"] == (3, N)
        assert technical_overdue.for_loan(session, "L-T1", window) == technical_overdue.Tally(2, N)


def test_technical_overdues_over_rest(client, seeded):
    r = client.get("/api/v1/technical-overdues", params={"level": "account_manager"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["due_from"], body["due_to"]) == (days(-WINDOW).isoformat(), TODAY.isoformat())
    assert body["counted_up_to_days_late"] == N
    assert [(i["key"], i["count"], i["max_days_late"]) for i in body["items"]] == [
        ("am_li", 4, N),
        ("am_zhang", 1, 2),
    ]
    body = client.get("/api/v1/technical-overdues").json()  # branch by default
    assert [(i["key"], i["count"]) for i in body["items"]] == [("BR-TA", 3), ("BR-TB", 2)]
    body = client.get(
        "/api/v1/technical-overdues",
        params={"level": "loan", "due_from": days(-95).isoformat(), "due_to": TODAY.isoformat()},
    ).json()
    assert [(i["key"], i["count"]) for i in body["items"]] == [("L-T1", 1), ("L-T3b", 1)]
    assert client.get("/api/v1/loans/L-T1").json()["technical_overdues"]["count"] == 2
    for params, field in (
        ({"level": "vendor"}, "level"),
        ({"due_from": "2026-13-01"}, "due_from"),
        ({"due_from": TODAY.isoformat(), "due_to": days(-1).isoformat()}, "due_from"),
    ):
        r = client.get("/api/v1/technical-overdues", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid_input" and r.json()["field"] == field, r.json()


# -- GET /reminders ----------------------------------------------------------------------------


def test_reminders_filter_and_refuse_bad_input(client, db):
    with unit_of_work(db) as session:
        add_customer(session, "C-F1", "BR-FA", "am_li")
        add_customer(session, "C-F2", "BR-FB", "am_zhang")
        add_loan(session, "L-F1", "C-F1")
        add_loan(session, "L-F2", "C-F2")
        pay(session, "L-F1", 1, None)
        pay(session, "L-F2", 7, None)
        session.get(Customer, "C-F2").rating_valid_until = days(3)
    services = Services(uow=database_unit(db), engine=None)
    reminder_cases.run_full_scan(services, TODAY)

    def keys(**params: Any) -> list[tuple[str, str | None]]:
        r = client.get("/api/v1/reminders", params=params)
        assert r.status_code == 200, r.text
        return [(i["kind"], i["customer_id"]) for i in r.json()["items"]]

    everything = keys()
    assert everything == [  # soonest first
        ("instalment_due", "C-F1"),
        ("rating_expiry", "C-F2"),
        ("instalment_due", "C-F2"),
    ]
    assert keys(kind="rating_expiry") == [("rating_expiry", "C-F2")]
    assert keys(account_manager="am_li") == [("instalment_due", "C-F1")]
    assert keys(branch="BR-FB") == [("rating_expiry", "C-F2"), ("instalment_due", "C-F2")]
    assert keys(loan_id="L-F2") == [("instalment_due", "C-F2")]
    assert keys(customer_id="C-F2", state="open") == keys(branch="BR-FB")
    assert keys(state="done") == []
    assert keys(due_from=days(2).isoformat(), due_to=days(6).isoformat()) == [
        ("rating_expiry", "C-F2")
    ]
    page = client.get("/api/v1/reminders", params={"limit": 1, "offset": 1}).json()
    assert (page["total"], [i["kind"] for i in page["items"]]) == (3, ["rating_expiry"])
    for params, field in (
        ({"kind": "passport_expiry"}, "kind"),
        ({"state": "closed"}, "state"),
        ({"due_from": "yesterday"}, "due_from"),
        ({"due_from": days(5).isoformat(), "due_to": days(1).isoformat()}, "due_from"),
        ({"customer_id": "x" * 65}, "customer_id"),
        ({"account_manager": "am li"}, "account_manager"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
    ):
        r = client.get("/api/v1/reminders", params=params)
        assert r.status_code == 422, (params, r.text)
        body = r.json()
        assert body["error"] == "invalid_input" and body["field"] == field, (params, body)
    del client.headers["Authorization"]
    assert client.get("/api/v1/reminders").status_code == 401


def test_the_dates_that_can_lapse_are_taken_and_shown(client):
    customer = {
        "id": "C-D1",
        "name": "Dated Co",
        "segment": "sme",
        "industry": "textiles",
        "branch": "BR-SH-01",
        "account_manager": "am_li",
        "credit_rating": "A",
        "rating_valid_until": days(90).isoformat(),
        "annual_review_due_on": days(120).isoformat(),
    }
    r = client.post("/api/v1/customers", json=customer)
    assert r.status_code == 201, r.text
    shown = client.get("/api/v1/customers/C-D1").json()
    assert (shown["rating_valid_until"], shown["annual_review_due_on"]) == (
        days(90).isoformat(),
        days(120).isoformat(),
    )
    loan = {
        "id": "L-D1",
        "customer_id": "C-D1",
        "product": "SME-WORKING-CAPITAL",
        "amount": "300000",
        "currency": "CNY",
        "disbursed_on": days(-30).isoformat(),
        "maturity_on": days(700).isoformat(),
        "purpose": "stock",
        "credit_line_expires_on": days(365).isoformat(),
        "collaterals": [
            {
                "id": "COL-D1",
                "kind": "property",
                "value": "500000",
                "currency": "CNY",
                "next_valuation_due_on": days(180).isoformat(),
                "insurance_expires_on": days(200).isoformat(),
            }
        ],
    }
    r = client.post("/api/v1/loans", json=loan)
    assert r.status_code == 201, r.text
    shown = client.get("/api/v1/loans/L-D1").json()
    assert shown["credit_line_expires_on"] == days(365).isoformat()
    assert (
        shown["collaterals"][0]["next_valuation_due_on"],
        shown["collaterals"][0]["insurance_expires_on"],
    ) == (days(180).isoformat(), days(200).isoformat())
    bad = {**customer, "id": "C-D2", "rating_valid_until": "31/12/2026"}
    r = client.post("/api/v1/customers", json=bad)
    assert r.status_code == 422 and r.json()["field"] == "rating_valid_until", r.text


def test_the_importer_takes_the_dates_that_can_lapse(tmp_path, db):
    import json

    from api.import_rows import ROW_MODELS
    from postloan.importer import Importer
    from postloan.loans.models import Collateral

    customers = tmp_path / "customers.csv"
    customers.write_text(
        "id,name,segment,industry,branch,account_manager,credit_rating,rating_valid_until,"
        "annual_review_due_on\n"
        f"C-IM1,One,sme,textiles,BR-SH-01,am_li,A,{days(40).isoformat()},{days(50).isoformat()}\n"
    )
    loans = tmp_path / "loans.jsonl"
    loan = {
        "id": "L-IM1",
        "customer_id": "C-IM1",
        "product": "SME-WORKING-CAPITAL",
        "amount": "100000",
        "currency": "CNY",
        "disbursed_on": days(-100).isoformat(),
        "maturity_on": days(300).isoformat(),
        "purpose": "stock",
        "credit_line_expires_on": days(60).isoformat(),
        "collaterals": [
            {
                "id": "COL-IM1",
                "kind": "property",
                "value": "200000",
                "currency": "CNY",
                "next_valuation_due_on": days(70).isoformat(),
                "insurance_expires_on": days(80).isoformat(),
            }
        ],
    }
    loans.write_text(json.dumps(loan) + "\n")
    for kind, path in (("customers", customers), ("loans", loans)):
        with unit_of_work(db) as session:
            Importer(session, ROW_MODELS, actor="import-test").import_file(kind, path)
    with unit_of_work(db) as session:
        c = session.get(Customer, "C-IM1")
        assert (c.rating_valid_until, c.annual_review_due_on) == (days(40), days(50))
        assert session.get(Loan, "L-IM1").credit_line_expires_on == days(60)
        col = session.get(Collateral, "COL-IM1")
        assert (col.next_valuation_due_on, col.insurance_expires_on) == (days(70), days(80))


def test_upcoming_lists_what_falls_due_reminded_yet_or_not(client, db):
    from postloan.loans.models import Collateral
    from postloan.reminders import lapses

    rating_lead = lapses.rules().kinds["rating_expiry"].lead_for(None, "sme")
    insurance_lead = lapses.rules().kinds["insurance_expiry"].lead_for(None, "sme")
    assert insurance_lead >= 10
    with unit_of_work(db) as session:
        add_customer(session, "C-U1", "BR-UA", "am_li")
        add_customer(session, "C-U2", "BR-UB", "am_zhang")
        session.get(Customer, "C-U1").rating_valid_until = days(rating_lead + 10)
        add_loan(session, "L-U1", "C-U1")
        pay(session, "L-U1", 20, None)
        pay(session, "L-U1", 5, 0)  # paid: not upcoming
        add_loan(session, "L-U2", "C-U2")
        session.add(
            Collateral(
                id="COL-U2",
                loan_id="L-U2",
                kind="vehicle",
                value=Decimal("80000"),
                currency="CNY",
                insurance_expires_on=days(10),
            )
        )

    def listed(**params: Any) -> list[tuple[str, str, str, bool]]:
        r = client.get("/api/v1/reminders/upcoming", params=params)
        assert r.status_code == 200, r.text
        return [
            (i["kind"], i["object_id"], i["due_on"], i["reminder_id"] is not None)
            for i in r.json()["items"]
        ]

    with unit_of_work(db) as session:
        repayment_id = str(
            session.scalars(
                select(Repayment.id).where(Repayment.loan_id == "L-U1", Repayment.paid_on.is_(None))
            ).one()
        )
    wide = {"within_days": rating_lead + 30}
    assert listed(**wide) == [
        ("insurance_expiry", "COL-U2", days(10).isoformat(), False),
        ("instalment_due", repayment_id, days(20).isoformat(), False),
        ("rating_expiry", "C-U1", days(rating_lead + 10).isoformat(), False),
    ]
    assert listed(within_days=15) == [("insurance_expiry", "COL-U2", days(10).isoformat(), False)]
    assert [k for k, *_ in listed(**wide, branch="BR-UA")] == ["instalment_due", "rating_expiry"]
    assert [k for k, *_ in listed(**wide, account_manager="am_zhang")] == ["insurance_expiry"]
    assert [k for k, *_ in listed(**wide, kind="rating_expiry")] == ["rating_expiry"]
    assert [k for k, *_ in listed(**wide, loan_id="L-U1")] == ["instalment_due"]
    # the scan reminds what its lead time reached (the insurance); the rest is still ahead
    reminder_cases.run_full_scan(Services(uow=database_unit(db), engine=None), TODAY)
    assert [reminded for *_, reminded in listed(**wide)] == [True, False, False]
    page = client.get("/api/v1/reminders/upcoming", params={**wide, "limit": 1, "offset": 2})
    assert page.json()["total"] == 3 and page.json()["items"][0]["kind"] == "rating_expiry"
    for params, field in (
        ({"within_days": 0}, "within_days"),
        ({"within_days": 367}, "within_days"),
        ({"kind": "loan"}, "kind"),
        ({"branch": "a b"}, "branch"),
    ):
        r = client.get("/api/v1/reminders/upcoming", params=params)
        assert r.status_code == 422 and r.json()["field"] == field, (params, r.text)
