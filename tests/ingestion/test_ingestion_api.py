"""REST ingestion of post-loan data: statements, valuations, external events, repayment kinds,
delinquency bucket history. Real app, real database, real engine (the ``api`` fixture)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from helpers import new_loan
from sqlalchemy import func, select

from postloan.audit import AuditEvent
from postloan.db import unit_of_work

pytestmark = pytest.mark.engine

CUSTOMER = {
    "name": "Ingest Co",
    "segment": "sme",
    "industry": "logistics",
    "branch": "BR-BJ-02",
    "account_manager": "am_zhang",
    "credit_rating": "A",
}
STATEMENT = {
    "period_end": "2025-12-31",
    "revenue": "12000000.00",
    "net_profit": "-150000.00",
    "total_assets": "9000000",
    "total_liabilities": "5000000",
    "operating_cash_flow": "-20000",
    "utility_consumption": "41000",
}


def new_customer(api) -> str:
    customer_id = f"C-{uuid.uuid4().hex[:8]}"
    r = api.post("/api/v1/customers", json={"id": customer_id, **CUSTOMER})
    assert r.status_code == 201, r.text
    return customer_id


def audit_count(database: str, action: str, object_id: str) -> int:
    with unit_of_work(database) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.object_id == object_id)
            )
            or 0
        )


class TestFinancialStatements:
    def test_record_then_resend_the_period_replaces_it(self, api, database):
        customer_id = new_customer(api)
        url = f"/api/v1/customers/{customer_id}/financial-statements"
        r = api.post(url, json=STATEMENT)
        assert r.status_code == 201, r.text
        assert r.json()["replaced"] is False and r.json()["net_profit"] == "-150000.00"
        r = api.post(url, json={**STATEMENT, "revenue": "8000000", "utility_consumption": None})
        assert r.status_code == 200 and r.json()["replaced"] is True
        api.post(url, json={**STATEMENT, "period_end": "2024-12-31"})
        listed = api.get(url).json()
        assert [s["period_end"] for s in listed] == ["2025-12-31", "2024-12-31"]
        assert listed[0]["revenue"] == "8000000.00" and listed[0]["utility_consumption"] is None
        assert audit_count(database, "financial_statement.recorded", customer_id) == 2
        assert audit_count(database, "financial_statement.replaced", customer_id) == 1

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"total_assets": "-1"}, "total_assets"),
            ({"revenue": "abc"}, "revenue"),
            ({"period_end": "2025-13-01"}, "period_end"),
            ({"ebitda": "1"}, "ebitda"),
        ],
    )
    def test_invalid_field_is_422_naming_it(self, api, change, field):
        customer_id = new_customer(api)
        url = f"/api/v1/customers/{customer_id}/financial-statements"
        r = api.post(url, json={**STATEMENT, **change})
        assert r.status_code == 422 and r.json()["field"] == field, r.text
        assert api.get(url).json() == []

    def test_missing_field_and_unknown_customer(self, api):
        body = {k: v for k, v in STATEMENT.items() if k != "operating_cash_flow"}
        r = api.post(f"/api/v1/customers/{new_customer(api)}/financial-statements", json=body)
        assert r.status_code == 422 and r.json()["field"] == "operating_cash_flow"
        r = api.post("/api/v1/customers/C-nobody/financial-statements", json=STATEMENT)
        assert r.status_code == 404 and r.json()["error"] == "not_found"


class TestValuations:
    def collateral(self, api) -> tuple[str, str]:
        loan = api.get(f"/api/v1/loans/{new_loan(api, account_manager='am_li')}").json()
        return loan["id"], loan["collaterals"][0]["id"]

    def test_record_then_same_date_replaces(self, api, database):
        loan_id, collateral_id = self.collateral(api)
        url = f"/api/v1/collaterals/{collateral_id}/valuations"
        r = api.post(url, json={"valued_on": "2026-06-30", "value": "650000", "valuer": "JLL"})
        assert r.status_code == 201 and r.json()["collateral_id"] == collateral_id
        r = api.post(url, json={"valued_on": "2026-06-30", "value": "600000", "valuer": "CBRE"})
        assert r.status_code == 200 and r.json()["replaced"] is True
        listed = api.get(url).json()
        assert [(v["value"], v["valuer"]) for v in listed] == [("600000.00", "CBRE")]
        assert audit_count(database, "collateral_valuation.recorded", loan_id) == 1
        assert audit_count(database, "collateral_valuation.replaced", loan_id) == 1

    def test_unknown_collateral_is_404_and_bad_value_names_the_field(self, api):
        body = {"valued_on": "2026-06-30", "value": "1", "valuer": "JLL"}
        r = api.post("/api/v1/collaterals/COL-nope/valuations", json=body)
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        url = f"/api/v1/collaterals/{self.collateral(api)[1]}/valuations"
        r = api.post(url, json={**body, "value": "-5"})
        assert r.status_code == 422 and r.json()["field"] == "value"
        r = api.post(url, json={**body, "valuer": ""})
        assert r.status_code == 422 and r.json()["field"] == "valuer"
        assert api.get(url).json() == []


class TestExternalEvents:
    def test_new_is_201_same_again_is_200_duplicate_with_the_same_id(self, api, database):
        customer_id = new_customer(api)
        event = {
            "customer_id": customer_id,
            "kind": "litigation",
            "occurred_on": "2026-10-02",
            "source": "court-registry",
            "source_ref": "CASE-2026-77",
            "details": "Sued by a supplier",
        }
        first = api.post("/api/v1/external-events", json=event)
        assert first.status_code == 201 and first.json()["duplicate"] is False
        again = api.post("/api/v1/external-events", json=event)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert again.json()["id"] == first.json()["id"]
        other = api.post("/api/v1/external-events", json={**event, "source_ref": "CASE-2026-78"})
        assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
        page = api.get("/api/v1/external-events", params={"customer_id": customer_id}).json()
        assert page["total"] == 2 and {e["source_ref"] for e in page["items"]} == {
            "CASE-2026-77",
            "CASE-2026-78",
        }
        assert audit_count(database, "external_event.recorded", customer_id) == 2

    def test_bad_kind_or_unknown_customer_names_the_field(self, api):
        customer_id = new_customer(api)
        event = {
            "customer_id": customer_id,
            "kind": "rumour",
            "occurred_on": "2026-10-02",
            "source": "news",
            "details": "x",
        }
        r = api.post("/api/v1/external-events", json=event)
        assert r.status_code == 422 and r.json()["field"] == "kind"
        r = api.post(
            "/api/v1/external-events",
            json={**event, "kind": "tax_arrears", "customer_id": "C-nobody"},
        )
        assert r.status_code == 422 and r.json()["field"] == "customer_id"
        r = api.post("/api/v1/external-events", json={**event, "kind": "tax_arrears", "source": ""})
        assert r.status_code == 422 and r.json()["field"] == "source"
        page = api.get("/api/v1/external-events", params={"customer_id": customer_id}).json()
        assert page["total"] == 0


class TestRepaymentsAndBuckets:
    def test_repayment_kind_is_kept_and_checked(self, api):
        loan_id = new_loan(api, account_manager="am_li")
        due = (date.today() + timedelta(days=20)).isoformat()
        r = api.post(
            f"/api/v1/loans/{loan_id}/repayments",
            json={"due_on": due, "due_amount": "3000", "kind": "interest"},
        )
        assert r.status_code == 201 and r.json()["kind"] == "interest"
        r = api.post(
            f"/api/v1/loans/{loan_id}/repayments",
            json={"due_on": due, "due_amount": "3000", "kind": "fees"},
        )
        assert r.status_code == 422 and r.json()["field"] == "kind"

    def test_bucket_moves_are_recorded_after_each_repayment(self, api):
        loan_id = new_loan(api, account_manager="am_li")
        url = f"/api/v1/loans/{loan_id}/bucket-history"
        assert api.get(url).json() == {
            "loan_id": loan_id,
            "delinquency_bucket": "current",
            "changes": [],
        }
        today = date.today()
        due = (today - timedelta(days=45)).isoformat()
        repayments = f"/api/v1/loans/{loan_id}/repayments"
        first = api.post(repayments, json={"due_on": due, "due_amount": "25000"})
        assert first.status_code == 201
        history = api.get(url).json()
        assert history["delinquency_bucket"] == "31-60"
        assert [
            (c["from_bucket"], c["to_bucket"], c["days_past_due"]) for c in history["changes"]
        ] == [("current", "31-60", 45)]
        # An instalment due later than the oldest one does not move the bucket.
        second = api.post(
            repayments,
            json={"due_on": (today - timedelta(days=15)).isoformat(), "due_amount": "25000"},
        )
        assert len(api.get(url).json()["changes"]) == 1
        # Paying the oldest: days past due now count from the next unpaid one (15 days).
        api.post(
            f"{repayments}/{first.json()['id']}/amendments",
            json={
                "reason": "payment received",
                "due_on": due,
                "due_amount": "25000",
                "paid_on": today.isoformat(),
                "paid_amount": "25000",
            },
        )
        api.post(
            f"{repayments}/{second.json()['id']}/amendments",
            json={
                "reason": "payment received",
                "due_on": (today - timedelta(days=15)).isoformat(),
                "due_amount": "25000",
                "paid_on": today.isoformat(),
                "paid_amount": "25000",
            },
        )
        history = api.get(url).json()
        assert history["delinquency_bucket"] == "current"
        assert [(c["from_bucket"], c["to_bucket"]) for c in history["changes"]] == [
            ("current", "31-60"),
            ("31-60", "1-30"),
            ("1-30", "current"),
        ]
        assert api.get("/api/v1/loans/L-nope/bucket-history").status_code == 404
