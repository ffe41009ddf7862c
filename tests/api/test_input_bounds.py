"""Input bounded at the edge: every bound refused with 422 naming the field and nothing stored;
at most one open inspection per loan and kind; huge offsets; no existence leak between vendors;
time zones on every timestamp of a response."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import new_loan
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.main import app
from postloan.access import service as access
from postloan.bounds import bounds
from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.events.models import ExternalEvent
from postloan.financials.models import FinancialStatement
from postloan.inspections.models import Inspection
from postloan.loans.models import Collateral, CollateralValuation, Loan, Repayment
from postloan.rectifications.models import Rectification
from postloan.vendors import service as vendors
from postloan.vendors.models import Vendor, VisitBatch

pytestmark = pytest.mark.engine

TODAY = date.today()
BIG = "x" * 10_000_001  # the tester's 10 MB


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def customer_body(customer_id: str, **over: Any) -> dict[str, Any]:
    return {
        "id": customer_id,
        "name": "Bounds Co",
        "segment": "sme",
        "industry": "logistics",
        "branch": "BR-BJ-02",
        "account_manager": "am_zhang",
        "credit_rating": "A",
        **over,
    }


def loan_body(loan_id: str, customer_id: str, **over: Any) -> dict[str, Any]:
    return {
        "id": loan_id,
        "customer_id": customer_id,
        "product": "SME-WORKING-CAPITAL",
        "amount": "100000.00",
        "currency": "CNY",
        "disbursed_on": (TODAY - timedelta(days=200)).isoformat(),
        "maturity_on": (TODAY + timedelta(days=165)).isoformat(),
        "purpose": "stock",
        "collaterals": [
            {"id": new_id("COL"), "kind": "equipment", "value": "150000", "currency": "CNY"}
        ],
        **over,
    }


def refused(r: Any, field: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text[:500]
    body = r.json()
    assert body["error"] == "invalid_input", body
    assert body["field"] == field or body["field"].startswith(field + "."), body["field"]
    return body


def count(database: str, model: Any, *where: Any) -> int:
    with unit_of_work(database) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture(scope="module")
def customer(api) -> str:
    customer_id = new_id("CB")
    assert api.post("/api/v1/customers", json=customer_body(customer_id)).status_code == 201
    return customer_id


@pytest.fixture(scope="module")
def loan(api, customer) -> dict[str, Any]:
    body = loan_body(new_id("LB"), customer)
    r = api.post("/api/v1/loans", json=body)
    assert r.status_code == 201, r.text
    return r.json()


# -- texts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("credit_rating", BIG),
        ("credit_rating", "A" * 11),
        ("name", "x" * 201),
        ("name", "Bad\x00Name"),
        ("name", "Bad\nName"),
        ("name", "Escape\x1b[31m"),
        ("name", "C1\x85control"),
        ("name", "lone \ud800 surrogate"),
        ("industry", "i" * 101),
        ("branch", "BR\x00"),
        ("account_manager", "a" * 65),
        ("id", "C 1"),
    ],
)
def test_customer_text_bounds(api, database, field, value):
    customer_id = new_id("CT")
    body = customer_body(customer_id, **{field: value})
    if field == "id":
        customer_id = value
    # sent as ASCII JSON (escapes), as a client may send a lone surrogate
    r = api.post(
        "/api/v1/customers", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    refused(r, field)
    assert count(database, Customer, Customer.id == customer_id) == 0


def test_multiline_texts_keep_line_breaks_but_not_nul(api, database, customer):
    ok = api.post(
        "/api/v1/external-events",
        json={
            "customer_id": customer,
            "kind": "negative_news",
            "occurred_on": TODAY.isoformat(),
            "source": "press",
            "source_ref": new_id("N"),
            "details": "line one\nline two\tend",
        },
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["details"] == "line one\nline two\tend"
    ref = new_id("N")
    r = api.post(
        "/api/v1/external-events",
        json={
            "customer_id": customer,
            "kind": "negative_news",
            "occurred_on": TODAY.isoformat(),
            "source": "press",
            "source_ref": ref,
            "details": "nul \x00 inside",
        },
    )
    refused(r, "details")
    assert count(database, ExternalEvent, ExternalEvent.source_ref == ref) == 0


def test_loan_texts_and_lists(api, database, customer):
    loan_id = new_id("LT")
    col = {"id": new_id("COL"), "kind": "equipment", "value": "1", "currency": "CNY"}
    cases = [
        ({"collaterals": [{**col, "description": BIG}]}, "collaterals.0.description"),
        ({"collaterals": [{**col, "kind": "k" * 41}]}, "collaterals.0.kind"),
        ({"purpose": "p\x00"}, "purpose"),
        ({"approval_conditions": ["c"] * 101}, "approval_conditions"),
        ({"approval_conditions": ["c" * 2001]}, "approval_conditions.0"),
        ({"collaterals": [{**col, "id": new_id("C")} for _ in range(101)]}, "collaterals"),
    ]
    for over, field in cases:
        refused(api.post("/api/v1/loans", json=loan_body(loan_id, customer, **over)), field)
    assert count(database, Loan, Loan.id == loan_id) == 0
    assert count(database, Collateral, Collateral.id == col["id"]) == 0


def test_other_bodies_refuse_long_or_control_texts(api, api_keys, database, customer, loan):
    collateral_id = loan["collaterals"][0]["id"]
    r = api.post(
        f"/api/v1/collaterals/{collateral_id}/valuations",
        json={"valued_on": TODAY.isoformat(), "value": "1000", "valuer": "Val\x00uer"},
    )
    refused(r, "valuer")
    assert (
        count(database, CollateralValuation, CollateralValuation.collateral_id == collateral_id)
        == 0
    )
    r = api.post("/api/v1/inspections", json={"loan_id": loan["id"], "reason": "why\x00"})
    refused(r, "reason")
    r = api.post("/api/v1/inspections", json={"loan_id": loan["id"], "reason": "r" * 2001})
    refused(r, "reason")
    r = api.post(
        "/api/v1/external-events",
        json={
            "customer_id": customer,
            "kind": "litigation",
            "occurred_on": TODAY.isoformat(),
            "source": "s" * 101,
            "details": "",
        },
    )
    refused(r, "source")
    r = api.post("/api/v1/signals/1/acknowledge", json={"actor": "am\x00li"})
    refused(r, "actor")
    r = api.post("/api/v1/signals/1/resolve", json={"actor": "am_li", "resolution": BIG})
    refused(r, "resolution")
    r = api.post(
        "/api/v1/credit-applications",
        json={"customer_id": customer, "product": "p" * 65, "amount": "1000"},
    )
    refused(r, "product")
    auditor = TestClient(app, headers={"Authorization": f"Bearer {api_keys['auditor']}"})
    title = new_id("T")
    rect = {
        "customer_id": customer,
        "title": title,
        "description": "found",
        "severity": "minor",
        "owner": "am_zhang",
    }
    refused(
        auditor.post("/api/v1/rectifications", json={**rect, "description": BIG}), "description"
    )
    refused(auditor.post("/api/v1/rectifications", json={**rect, "owner": "o" * 101}), "owner")
    refused(auditor.post("/api/v1/rectifications", json={**rect, "title": "t\x07"}), "title")
    assert count(database, Rectification, Rectification.title == title) == 0
    r = api.post(
        "/api/v1/rectifications/REC-NOPE/evidence",
        json={"description": "done", "documents": ["d"] * 101},
    )
    refused(r, "documents")
    r = api.post(
        "/api/v1/rectifications/REC-NOPE/evidence",
        json={"description": "done", "documents": ["d" * 501]},
    )
    refused(r, "documents.0")


# -- currencies, dates, amounts -------------------------------------------------------------


def test_currencies_are_iso_4217(api, database, customer):
    known = bounds().currencies
    assert {"CNY", "USD", "EUR", "JPY", "HKD", "CHF"} <= known
    assert not {"XYZ", "XTS", "XXX", "HRK", "ABC"} & known
    loan_id = new_id("LC")
    refused(
        api.post("/api/v1/loans", json=loan_body(loan_id, customer, currency="XYZ")), "currency"
    )
    col = {"id": new_id("COL"), "kind": "equipment", "value": "1", "currency": "XYZ"}
    refused(
        api.post("/api/v1/loans", json=loan_body(loan_id, customer, collaterals=[col])),
        "collaterals.0.currency",
    )
    refused(
        api.post(
            "/api/v1/credit-applications",
            json={
                "customer_id": customer,
                "product": "SME-WORKING-CAPITAL",
                "amount": "1000",
                "currency": "XYZ",
            },
        ),
        "currency",
    )
    assert count(database, Loan, Loan.id == loan_id) == 0
    usd = api.post("/api/v1/loans", json=loan_body(loan_id, customer, currency="USD"))
    assert usd.status_code == 201, usd.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("disbursed_on", "1900-01-01"),
        ("disbursed_on", "2999-01-01"),
        (
            "disbursed_on",
            (TODAY + timedelta(days=bounds().dates.facts_max_days_ahead + 1)).isoformat(),
        ),
        ("maturity_on", "2999-01-01"),
        ("amount", str(bounds().amounts.loan_max + 1)),
    ],
)
def test_loan_dates_and_amount_bounds(api, database, customer, field, value):
    loan_id = new_id("LD")
    refused(api.post("/api/v1/loans", json=loan_body(loan_id, customer, **{field: value})), field)
    assert count(database, Loan, Loan.id == loan_id) == 0


def test_repayment_bounds(api, database, loan):
    url = f"/api/v1/loans/{loan['id']}/repayments"
    disbursed = date.fromisoformat(loan["disbursed_on"])
    maturity = date.fromisoformat(loan["maturity_on"])
    due = (TODAY - timedelta(days=30)).isoformat()
    cases = [
        (
            {"due_on": due, "due_amount": "100", "paid_on": due, "paid_amount": "100000"},
            "paid_amount",
        ),
        (
            {"due_on": due, "due_amount": "100", "paid_on": "1900-01-01", "paid_amount": "100"},
            "paid_on",
        ),
        (
            {"due_on": due, "due_amount": "100", "paid_on": "2999-01-01", "paid_amount": "100"},
            "paid_on",
        ),
        # relative to the stored loan (the service): before the disbursement
        ({"due_on": (disbursed - timedelta(days=1)).isoformat(), "due_amount": "100"}, "due_on"),
        (
            {
                "due_on": due,
                "due_amount": "100",
                "paid_on": (disbursed - timedelta(days=3)).isoformat(),
                "paid_amount": "100",
            },
            "paid_on",
        ),
        (
            {
                "due_on": (
                    maturity + timedelta(days=bounds().dates.due_after_maturity_max_days + 1)
                ).isoformat(),
                "due_amount": "100",
            },
            "due_on",
        ),
        ({"due_on": due, "due_amount": str(int(loan_amount(loan) * 3))}, "due_amount"),
    ]
    for body, field in cases:
        refused(api.post(url, json=body), field)
    assert count(database, Repayment, Repayment.loan_id == loan["id"]) == 0
    ok = api.post(
        url, json={"due_on": due, "due_amount": "100", "paid_on": due, "paid_amount": "1000"}
    )
    assert ok.status_code == 201, ok.text


def loan_amount(loan: dict[str, Any]) -> float:
    return float(loan["amount"])


def test_statement_valuation_and_event_dates(api, database, customer, loan):
    r = api.post(
        f"/api/v1/customers/{customer}/financial-statements",
        json={
            "period_end": "2999-12-31",
            "revenue": "1",
            "net_profit": "1",
            "total_assets": "1",
            "total_liabilities": "1",
            "operating_cash_flow": "1",
        },
    )
    refused(r, "period_end")
    r = api.post(
        f"/api/v1/customers/{customer}/financial-statements",
        json={
            "period_end": TODAY.isoformat(),
            "revenue": str(bounds().amounts.statement_max * 2),
            "net_profit": "1",
            "total_assets": "1",
            "total_liabilities": "1",
            "operating_cash_flow": "1",
        },
    )
    refused(r, "revenue")
    assert count(database, FinancialStatement, FinancialStatement.customer_id == customer) == 0
    collateral_id = loan["collaterals"][0]["id"]
    for value in ("1900-01-01", "2999-01-01"):
        r = api.post(
            f"/api/v1/collaterals/{collateral_id}/valuations",
            json={"valued_on": value, "value": "1000", "valuer": "V"},
        )
        refused(r, "valued_on")
    r = api.post(
        f"/api/v1/collaterals/{collateral_id}/valuations",
        json={
            "valued_on": TODAY.isoformat(),
            "value": str(bounds().amounts.collateral_max + 1),
            "valuer": "V",
        },
    )
    refused(r, "value")
    assert (
        count(database, CollateralValuation, CollateralValuation.collateral_id == collateral_id)
        == 0
    )
    for value in ("1900-01-01", "2999-01-01"):
        r = api.post(
            "/api/v1/external-events",
            json={
                "customer_id": customer,
                "kind": "litigation",
                "occurred_on": value,
                "source": "court",
                "details": "",
            },
        )
        refused(r, "occurred_on")
    assert (
        count(
            database,
            ExternalEvent,
            ExternalEvent.customer_id == customer,
            ExternalEvent.kind == "litigation",
        )
        == 0
    )


# -- ids that differ only in case -----------------------------------------------------------


def test_ids_differing_only_in_case_are_refused(api, api_keys, database, customer, loan):
    r = api.post("/api/v1/customers", json=customer_body(customer.lower()))
    assert r.status_code == 409 and r.json()["field"] == "id", r.text
    assert customer in r.json()["detail"]
    assert count(database, Customer, func.lower(Customer.id) == customer.lower()) == 1
    r = api.post("/api/v1/loans", json=loan_body(loan["id"].lower(), customer))
    assert r.status_code == 409 and r.json()["field"] == "id", r.text
    assert count(database, Loan, func.lower(Loan.id) == loan["id"].lower()) == 1
    collateral = loan["collaterals"][0]["id"]
    new_loan_id = new_id("LK")
    r = api.post(
        "/api/v1/loans",
        json=loan_body(
            new_loan_id,
            customer,
            collaterals=[
                {"id": collateral.lower(), "kind": "equipment", "value": "1", "currency": "CNY"}
            ],
        ),
    )
    assert r.status_code == 409 and r.json()["field"] == "collaterals", r.text
    r = api.post(
        "/api/v1/loans",
        json=loan_body(
            new_loan_id,
            customer,
            collaterals=[
                {"id": "COL-Same", "kind": "equipment", "value": "1", "currency": "CNY"},
                {"id": "col-same", "kind": "equipment", "value": "1", "currency": "CNY"},
            ],
        ),
    )
    refused(r, "collaterals")
    assert count(database, Loan, Loan.id == new_loan_id) == 0
    admin = TestClient(app, headers={"Authorization": f"Bearer {api_keys['admin']}"})
    vendor_id = new_id("VK")
    # inactive: never chosen for the other tests' outsourced visits
    r = admin.post("/api/v1/vendors", json={"id": vendor_id, "name": "K", "active": False})
    assert r.status_code == 201, r.text
    r = admin.post("/api/v1/vendors", json={"id": vendor_id.lower(), "name": "K2", "active": False})
    assert r.status_code == 409 and r.json()["field"] == "id", r.text
    assert count(database, Vendor, func.lower(Vendor.id) == vendor_id.lower()) == 1
    # the database refuses it too, whatever writes it (migration 0008's lower(id) indexes)
    with pytest.raises(IntegrityError), unit_of_work(database) as session:
        stored = session.get(Customer, customer)
        session.add(
            Customer(
                id=customer.lower(),
                name="x",
                segment="sme",
                industry="x",
                branch="b",
                account_manager=stored.account_manager,
                credit_rating="A",
            )
        )
        session.flush()


# -- integers and offsets -------------------------------------------------------------------


def _list_paths_with_offset() -> list[str]:
    document = app.openapi()
    return [
        path
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method == "get"
        and any(
            p["name"] == "offset" and p["in"] == "query" for p in operation.get("parameters", [])
        )
    ]


#: Lists that need a filter to answer at all (given, so that the offset is what is judged).
REQUIRED_FILTERS = {"/api/v1/assessments": {"period": "2026-Q3"}}


def test_huge_offsets_are_422_on_every_list_path(api, api_keys):
    paths = _list_paths_with_offset()
    assert len(paths) >= 5, paths
    admin = TestClient(app, headers={"Authorization": f"Bearer {api_keys['admin']}"})
    maximum = bounds().paging.offset_max
    for path in paths:
        url = re.sub(r"\{[^}]+\}", "X-1", path)
        given = REQUIRED_FILTERS.get(path, {})
        for offset in (2**63, 2**64 + 5, 10**30, maximum + 1, -1):
            refused(admin.get(url, params={**given, "offset": offset}), "offset")
        ok = admin.get(url, params={**given, "offset": maximum})
        if "{" in path and ok.status_code == 404:  # the offset passed; the parent is unknown
            assert ok.json()["error"] == "not_found", (path, ok.text[:300])
        else:
            assert ok.status_code == 200, (path, ok.text[:300])
            body = ok.json()
            assert (body["items"] if isinstance(body, dict) else body) == []
        refused(admin.get(url, params={**given, "limit": 10**6}), "limit")


def test_huge_path_integers_and_bad_path_ids_are_422(api):
    for url in ("/api/v1/signals/18446744073709551616", "/api/v1/signals/0"):
        refused(api.get(url), "signal_id")
    refused(
        api.post("/api/v1/signals/99999999999999999999/acknowledge", json={"actor": "a"}),
        "signal_id",
    )
    refused(api.get("/api/v1/customers/" + "c" * 65), "customer_id")
    refused(api.get("/api/v1/loans/bad%00id"), "loan_id")
    refused(api.get("/api/v1/signals", params={"customer_id": "x" * 65}), "customer_id")


# -- one open inspection per loan and kind --------------------------------------------------


def _open(database: str, loan_id: str, kind: str) -> list[str]:
    with unit_of_work(database) as session:
        return list(
            session.scalars(
                select(Inspection.id).where(
                    Inspection.loan_id == loan_id,
                    Inspection.kind == kind,
                    Inspection.status.in_(("requested", "in_progress")),
                )
            )
        )


@pytest.mark.parametrize("kind", ["routine", "special"])
def test_a_second_open_inspection_of_a_kind_is_409_naming_the_first(api, database, kind):
    loan_id = new_loan(api, account_manager="am_li")
    first = api.post(
        "/api/v1/inspections", json={"loan_id": loan_id, "reason": "one", "kind": kind}
    )
    assert first.status_code == 201, first.text
    second = api.post(
        "/api/v1/inspections", json={"loan_id": loan_id, "reason": "two", "kind": kind}
    )
    assert second.status_code == 409, second.text
    body = second.json()
    assert body["error"] == "conflict" and body["field"] == "loan_id"
    assert first.json()["id"] in body["detail"]
    assert _open(database, loan_id, kind) == [first.json()["id"]]


def test_the_first_inspection_opened_at_registration_blocks_a_second_first(api, database):
    loan_id = new_loan(api, account_manager="am_li")
    opened = _open(database, loan_id, "first")
    assert len(opened) == 1
    r = api.post(
        "/api/v1/inspections", json={"loan_id": loan_id, "reason": "again", "kind": "first"}
    )
    assert r.status_code == 409 and opened[0] in r.json()["detail"], r.text
    assert _open(database, loan_id, "first") == opened


def test_two_concurrent_requests_open_one_inspection(api, api_keys, database):
    loan_id = new_loan(api, account_manager="am_li")
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def post() -> None:
        client = TestClient(app, headers={"Authorization": f"Bearer {api_keys['integrator']}"})
        barrier.wait()
        r = client.post(
            "/api/v1/inspections", json={"loan_id": loan_id, "reason": "race", "kind": "routine"}
        )
        answers.append(r.status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(answers) == [201, 409], answers
    assert len(_open(database, loan_id, "routine")) == 1


def test_the_database_refuses_a_second_open_inspection_whatever_writes_it(api, database):
    loan_id = new_loan(api, account_manager="am_li")
    (first,) = _open(database, loan_id, "first")
    with pytest.raises(IntegrityError), unit_of_work(database) as session:
        session.add(
            Inspection(
                id=new_id("INS-X"),
                loan_id=loan_id,
                kind="first",
                reason="behind the API's back",
                requested_by="tests",
                status="in_progress",
            )
        )
        session.flush()
    # a closed one does not count: another kind, or the same kind once closed, may open
    with unit_of_work(database) as session:
        session.add(
            Inspection(
                id=new_id("INS-C"),
                loan_id=loan_id,
                kind="first",
                reason="an old one",
                requested_by="tests",
                status="cancelled",
            )
        )
    assert _open(database, loan_id, "first") == [first]


# -- no existence leak between vendors ------------------------------------------------------


def test_another_vendors_batch_answers_like_a_missing_one(api, api_keys, database):
    with unit_of_work(database) as session:
        vendors.sync_from_config(session)
        batch_id = new_id("VB")
        session.add(
            VisitBatch(
                id=batch_id,
                vendor_id="V001",
                status="reviewed",
                submitted_at=datetime.now(UTC),
                submitted_by="tests",
            )
        )
        other = new_id("VO")
        session.add(Vendor(id=other, name="Other", active=False, quality_score=100.0))
        session.flush()
        key = access.issue(session, name=f"test-{other}", role=f"vendor:{other}", actor="tests")
    owner = TestClient(app, headers={"Authorization": f"Bearer {api_keys['vendor:V001']}"})
    stranger = TestClient(app, headers={"Authorization": f"Bearer {key}"})
    assert owner.get(f"/api/v1/visit-batches/{batch_id}").status_code == 200
    missing_id = new_id("VB")
    not_yours = stranger.get(f"/api/v1/visit-batches/{batch_id}")
    missing = stranger.get(f"/api/v1/visit-batches/{missing_id}")
    assert not_yours.status_code == missing.status_code == 404
    assert not_yours.json() == {
        **missing.json(),
        "detail": missing.json()["detail"].replace(missing_id, batch_id),
    }
    # the other vendor's own paths: 403 whether that vendor exists or not
    a = stranger.get("/api/v1/vendors/V001/assignments")
    b = stranger.get("/api/v1/vendors/V-NOBODY/assignments")
    assert a.status_code == b.status_code == 403


# -- time zones in responses ----------------------------------------------------------------

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _datetimes(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _datetimes(v)]
    if isinstance(value, list):
        return [s for v in value for s in _datetimes(v)]
    return [value] if isinstance(value, str) and DATETIME.match(value) else []


def test_every_timestamp_in_a_response_carries_a_time_zone(api, customer, loan):
    r = api.post(
        "/api/v1/external-events",
        json={
            "customer_id": customer,
            "kind": "negative_news",
            "occurred_on": TODAY.isoformat(),
            "source": "press",
            "source_ref": new_id("TZ"),
            "details": "",
        },
    )
    assert r.status_code == 201
    inspection = api.post("/api/v1/inspections", json={"loan_id": loan["id"], "reason": "tz"})
    assert inspection.status_code in (201, 409), inspection.text
    responses = [
        r.json(),
        api.get("/api/v1/external-events", params={"customer_id": customer}).json(),
        api.get("/api/v1/inspections", params={"loan_id": loan["id"]}).json(),
        api.get(f"/api/v1/loans/{loan['id']}/bucket-history").json(),
        api.get("/api/v1/signals").json(),
        api.get("/api/v1/classification-changes").json(),
    ]
    stamps = [s for body in responses for s in _datetimes(body)]
    assert len(stamps) >= 3, stamps
    for stamp in stamps:
        assert datetime.fromisoformat(stamp).utcoffset() is not None, stamp


def test_a_day_in_a_query_is_written_as_a_day_not_a_number(api):
    """``0`` would be read as a Unix timestamp (1970-01-01) and answered as if meant."""
    for path, name in (
        ("/api/v1/reminders", "due_to"),
        ("/api/v1/technical-overdues", "due_from"),
        ("/api/v1/compensation/ledger", "effective_to"),
    ):
        refused(api.get(path, params={name: "0"}), name)
        assert api.get(path, params={name: "2026-01-01"}).status_code == 200, path
