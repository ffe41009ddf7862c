"""Instalments: the same one posted twice is refused (409), corrections are explicit amendments
(reason, audited, the original kept), and ``GET /loans/{id}/repayments`` pages like the other
lists; the bulk importer refuses a stored instalment the same way.

An app of its own on a fresh SQLite copy; the engine is a stand-in (no process starts here:
the bundled classification table, nobody to start an inspection for).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlite_template import copy_of, sqlite_template  # noqa: F401 - the fixture

from api.deps import get_engine, get_services
from api.import_rows import ROW_MODELS
from config.settings import Settings, get_settings
from postloan.access import service as access
from postloan.application.ports import EngineFailure, database_unit
from postloan.application.services import Services
from postloan.audit import AuditEvent
from postloan.classification.rules import bundled_table
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.importer import Importer, ImportFailed
from postloan.loans.models import Repayment, RepaymentAmendment

TODAY = date.today()


class StandInEngine:
    """What the use cases ask of the engine here: the bundled table, the demo managers."""

    def table(self, key: str) -> Any:
        return bundled_table()

    def decider(self, key: str) -> Any:
        raise EngineFailure(0, "no engine in this test")

    def members_of(self, group: str, users: Any) -> set[str]:
        return set(users) & {"am_li", "am_zhang", "lead_hu"}


@pytest.fixture
def db(tmp_path, sqlite_template) -> Any:  # noqa: F811
    url = copy_of(sqlite_template, tmp_path / "repayments.db")
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
    customer = {
        "id": "C-R1",
        "name": "Repay Co",
        "segment": "sme",
        "industry": "textiles",
        "branch": "BR-SH-01",
        "account_manager": "am_li",
        "credit_rating": "A",
    }
    assert test_client.post("/api/v1/customers", json=customer).status_code == 201
    for loan_id in ("L-R1", "L-R2"):
        r = test_client.post(
            "/api/v1/loans",
            json={
                "id": loan_id,
                "customer_id": "C-R1",
                "product": "SME-WORKING-CAPITAL",
                "amount": "300000",
                "currency": "CNY",
                "disbursed_on": (TODAY - timedelta(days=200)).isoformat(),
                "maturity_on": (TODAY + timedelta(days=500)).isoformat(),
                "purpose": "stock",
            },
        )
        assert r.status_code == 201, r.text
    return test_client


def instalment(days_ago: int, **over: Any) -> dict[str, Any]:
    return {"due_on": (TODAY - timedelta(days=days_ago)).isoformat(), "due_amount": "1000", **over}


def test_the_same_instalment_posted_twice_is_refused_and_nothing_changes(client, db):
    url = "/api/v1/loans/L-R1/repayments"
    first = client.post(url, json=instalment(40))
    assert first.status_code == 201, first.text
    stored = first.json()
    assert stored["id"] > 0 and stored["amendments"] == []
    again = client.post(url, json=instalment(40, paid_on=TODAY.isoformat(), paid_amount="1000"))
    assert again.status_code == 409, again.text
    body = again.json()
    assert body["field"] == "due_on"
    assert f"repayment {stored['id']}" in body["detail"] and "amendments" in body["detail"]
    # another kind on the same day, or the same instalment of another loan, is a new one
    assert client.post(url, json=instalment(40, kind="interest")).status_code == 201
    assert client.post("/api/v1/loans/L-R2/repayments", json=instalment(40)).status_code == 201
    with unit_of_work(db) as session:
        rows = session.scalars(select(Repayment).where(Repayment.loan_id == "L-R1")).all()
        assert sorted((r.kind, str(r.paid_amount)) for r in rows) == [
            ("instalment", "0.00"),
            ("interest", "0.00"),
        ]


def test_a_correction_is_an_amendment_that_keeps_the_original_and_is_audited(client, db):
    url = "/api/v1/loans/L-R1/repayments"
    rid = client.post(url, json=instalment(40)).json()["id"]
    paid = instalment(40, paid_on=(TODAY - timedelta(days=3)).isoformat(), paid_amount="1000")
    r = client.post(f"{url}/{rid}/amendments", json={**paid, "reason": "payment booked late"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["id"], body["paid_amount"], body["paid_on"]) == (rid, "1000.00", paid["paid_on"])
    (amendment,) = body["amendments"]
    assert amendment["reason"] == "payment booked late"
    assert amendment["amended_by"] == "api:k-int"
    assert amendment["before"]["paid_amount"] == "0.00" and amendment["before"]["paid_on"] is None
    assert amendment["after"]["paid_amount"] == "1000.00"
    # a second correction: both kept, the first one's "before" is still the original
    fixed = {**paid, "due_amount": "1200", "paid_amount": "1200", "reason": "amount was wrong"}
    assert client.post(f"{url}/{rid}/amendments", json=fixed).status_code == 201
    listed = client.get(url).json()["items"][0]
    assert listed["due_amount"] == "1200.00"
    assert [a["reason"] for a in listed["amendments"]] == [
        "payment booked late",
        "amount was wrong",
    ]
    assert listed["amendments"][0]["before"]["due_amount"] == "1000.00"
    with unit_of_work(db) as session:
        assert session.scalar(select(RepaymentAmendment.id).limit(1)) is not None
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == "L-R1")
        ).all()
    assert actions.count("repayment.amended") == 2


def test_amendments_are_refused_with_the_field_or_the_conflict_named(client):
    url = "/api/v1/loans/L-R1/repayments"
    rid = client.post(url, json=instalment(40)).json()["id"]
    other = client.post(url, json=instalment(10)).json()["id"]
    cases = [
        (f"{url}/{rid}/amendments", instalment(40), 422, "reason"),  # no reason
        (f"{url}/{rid}/amendments", {**instalment(40), "reason": "again"}, 422, "due_amount"),
        (
            f"{url}/{rid}/amendments",
            {**instalment(40, paid_amount="5"), "reason": "x"},
            422,
            "paid_on",
        ),
        (f"{url}/{rid}/amendments", {**instalment(10), "reason": "move"}, 409, "due_on"),
        (
            f"/api/v1/loans/L-R2/repayments/{rid}/amendments",
            {**instalment(9), "reason": "x"},
            404,
            None,
        ),
        (f"{url}/987654321/amendments", {**instalment(9), "reason": "x"}, 404, None),
    ]
    for path, body, status, field in cases:
        r = client.post(path, json=body)
        assert r.status_code == status, (path, body, r.text)
        if field:
            assert r.json()["field"] == field, r.text
    assert client.get(url).json()["items"][1]["id"] == other


def test_repayments_are_read_back_in_pages_by_due_date(client):
    url = "/api/v1/loans/L-R1/repayments"
    for days in (70, 10, 40, 100, 55, 25, 85):
        assert client.post(url, json=instalment(days)).status_code == 201
    page = client.get(url, params={"limit": 3, "offset": 3}).json()
    assert (page["total"], page["limit"], page["offset"]) == (7, 3, 3)
    dues = [(TODAY - timedelta(days=d)).isoformat() for d in (100, 85, 70, 55, 40, 25, 10)]
    assert [i["due_on"] for i in page["items"]] == dues[3:6]
    whole = client.get(url, params={"limit": 500}).json()
    assert [i["due_on"] for i in whole["items"]] == dues
    assert client.get(url, params={"limit": 0}).json()["field"] == "limit"
    assert client.get(url, params={"limit": 501}).status_code == 422
    assert client.get("/api/v1/loans/L-NONE/repayments").status_code == 404
    empty = client.get("/api/v1/loans/L-R2/repayments").json()
    assert (empty["total"], empty["items"]) == (0, [])


def test_the_importer_refuses_a_stored_instalment_and_one_repeated_in_the_file(client, db):
    client.post("/api/v1/loans/L-R1/repayments", json=instalment(40))
    stored = {"loan_id": "L-R1", **instalment(40)}
    with pytest.raises(ImportFailed) as failed, unit_of_work(db) as session:
        Importer(session, ROW_MODELS).import_rows("repayments", lambda: [(2, stored)])
    (problem,) = failed.value.problems
    assert (problem.line, problem.field) == (2, "due_on") and "already exists" in problem.message
    interest = {"loan_id": "L-R1", **instalment(40, kind="interest")}
    with unit_of_work(db) as session:
        result = Importer(session, ROW_MODELS).import_rows("repayments", lambda: [(2, interest)])
    assert result.inserted == 1


def _repayment_reads(db: str):
    """Count the SELECTs on table ``repayment`` the app's engine for ``db`` runs, by loan."""
    from sqlalchemy import event

    seen: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        text = " ".join(statement.split()).lower()
        if text.startswith("select") and " from repayment " in text:
            seen.append(text)

    engine = db_engine(db)
    event.listen(engine, "before_cursor_execute", on_execute)
    return seen, lambda: event.remove(engine, "before_cursor_execute", on_execute)


def test_a_repayment_request_reads_the_loans_schedule_once(client, db):
    """Recording (or correcting) an instalment needs the schedule before and after it for the
    arrears, the delinquency bucket, the reclassification and the repayment check: it is read
    once and kept current in the transaction (it was read four times, plus a lookup for the
    duplicate). The debtor's other loan (L-R2) is read once more, for the non-performing share."""
    url = "/api/v1/loans/L-R1/repayments"
    for days in (100, 70):
        assert client.post(url, json=instalment(days)).status_code == 201
    assert client.post("/api/v1/loans/L-R2/repayments", json=instalment(70)).status_code == 201
    seen, stop = _repayment_reads(db)
    try:
        late = instalment(40, paid_on=(TODAY - timedelta(days=5)).isoformat(), paid_amount="1000")
        created = client.post(url, json=late)
        assert created.status_code == 201, created.text
        reads_post = list(seen)
        seen.clear()
        fixed = {**late, "paid_on": (TODAY - timedelta(days=35)).isoformat(), "reason": "typo"}
        amended = client.post(f"{url}/{created.json()['id']}/amendments", json=fixed)
        assert amended.status_code == 201, amended.text
        reads_amend = list(seen)
    finally:
        stop()
    for reads in (reads_post, reads_amend):
        schedule_reads = [s for s in reads if "order by repayment.due_on" in s and " in (" not in s]
        others = [s for s in reads if " in (" in s]
        assert len(schedule_reads) == 1, reads
        assert len(others) == 1, reads  # L-R2, for the debtor's share
    # and the outcome is the one the four reads gave: the stored row, bucket and class current
    with unit_of_work(db) as session:
        rows = session.scalars(
            select(Repayment).where(Repayment.loan_id == "L-R1").order_by(Repayment.due_on)
        ).all()
        assert [r.due_on for r in rows] == [TODAY - timedelta(days=d) for d in (100, 70, 40)]
        assert rows[-1].paid_on == TODAY - timedelta(days=35)
