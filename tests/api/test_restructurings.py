"""``POST/GET /api/v1/loans/{id}/restructurings``: recorded, audited, the loan reclassified at once;
bad terms refused with a 422 naming the field and nothing stored; duplicates and history rewrites
refused with 409."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from helpers import new_loan
from sqlalchemy import select

from postloan.audit import AuditEvent
from postloan.bounds import bounds
from postloan.db import unit_of_work
from postloan.loans.models import Loan
from postloan.loans.restructuring import LoanRestructuring

pytestmark = pytest.mark.engine

TODAY = date.today()


def path(loan_id: str) -> str:
    return f"/api/v1/loans/{loan_id}/restructurings"


def terms(**over: Any) -> dict[str, Any]:
    return {
        "restructured_on": (TODAY - timedelta(days=10)).isoformat(),
        "reason": "Cash flow squeezed by a lost contract; instalments lowered, term extended",
        "new_maturity_on": (TODAY + timedelta(days=700)).isoformat(),
        "new_instalment_amount": "12500.00",
        "new_interest_rate": "4.35",
        **over,
    }


def refused(r: Any, field: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text[:500]
    body = r.json()
    assert body["error"] == "invalid_input", body
    assert body["field"] == field, body
    return body


def stored(database: str, loan_id: str) -> list[LoanRestructuring]:
    with unit_of_work(database) as session:
        return list(
            session.scalars(select(LoanRestructuring).where(LoanRestructuring.loan_id == loan_id))
        )


class TestRecord:
    def test_recorded_audited_and_the_loan_reclassified(self, api, database):
        loan_id = new_loan(api, account_manager="am_li")
        assert api.get(f"/api/v1/loans/{loan_id}").json()["classification"]["risk_class"] == (
            "normal"
        )
        r = api.post(path(loan_id), json=terms())
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["loan_id"] == loan_id
        assert body["restructured_on"] == (TODAY - timedelta(days=10)).isoformat()
        assert body["class_before"] == "normal"
        assert body["maturity_on"] == (TODAY + timedelta(days=700)).isoformat()
        assert body["new_instalment_amount"] == "12500.00"
        assert body["classification"]["risk_class"] == "special_mention"
        assert "observation" in body["classification"]["reason"]

        loan = api.get(f"/api/v1/loans/{loan_id}").json()
        assert loan["maturity_on"] == (TODAY + timedelta(days=700)).isoformat()
        assert loan["classification"]["risk_class"] == "special_mention"
        assert loan["restructured_on"] == (TODAY - timedelta(days=10)).isoformat()
        listed = api.get(path(loan_id))
        assert listed.status_code == 200, listed.text
        assert [(x["id"], x["reason"]) for x in listed.json()] == [(body["id"], terms()["reason"])]

        with unit_of_work(database) as session:
            assert session.get(Loan, loan_id).restructured_on == TODAY - timedelta(days=10)
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.object_id == loan_id, AuditEvent.action == "loan.restructured"
                )
            ).all()
            assert len(events) == 1
            assert events[0].detail["new_interest_rate"] == "4.35"
            assert events[0].detail["before"]["restructured_on"] is None
        history = api.get(f"/api/v1/loans/{loan_id}/classification-history").json()
        assert [(c["to_class"], c["source"]) for c in history][-1] == (
            "special_mention",
            "restructuring",
        )

    def test_terms_left_out_do_not_change(self, api):
        loan_id = new_loan(api, account_manager="am_li")
        maturity = api.get(f"/api/v1/loans/{loan_id}").json()["maturity_on"]
        r = api.post(
            path(loan_id),
            json={"restructured_on": TODAY.isoformat(), "reason": "Rate reset after a hardship"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["maturity_on"] == maturity
        assert r.json()["new_interest_rate"] is None

    def test_a_second_one_the_same_day_is_a_conflict(self, api, database):
        loan_id = new_loan(api, account_manager="am_li")
        assert api.post(path(loan_id), json=terms()).status_code == 201
        r = api.post(path(loan_id), json=terms(reason="again"))
        assert r.status_code == 409, r.text
        assert r.json()["field"] == "restructured_on"
        assert len(stored(database, loan_id)) == 1

    def test_one_dated_before_the_latest_is_a_conflict(self, api, database):
        loan_id = new_loan(api, account_manager="am_li")
        assert api.post(path(loan_id), json=terms()).status_code == 201
        early = (TODAY - timedelta(days=40)).isoformat()
        r = api.post(path(loan_id), json=terms(restructured_on=early, new_maturity_on=None))
        assert r.status_code == 409, r.text
        assert "last restructured" in r.json()["detail"]
        assert len(stored(database, loan_id)) == 1

    def test_a_later_one_moves_the_observation_start(self, api, database):
        loan_id = new_loan(api, account_manager="am_li")
        assert api.post(path(loan_id), json=terms()).status_code == 201
        r = api.post(path(loan_id), json=terms(restructured_on=TODAY.isoformat()))
        assert r.status_code == 201, r.text
        assert [x["restructured_on"] for x in api.get(path(loan_id)).json()] == [
            (TODAY - timedelta(days=10)).isoformat(),
            TODAY.isoformat(),
        ]
        with unit_of_work(database) as session:
            assert session.get(Loan, loan_id).restructured_on == TODAY

    def test_unknown_loan_is_404(self, api):
        assert api.post(path("NO-SUCH-LOAN"), json=terms()).status_code == 404
        assert api.get(path("NO-SUCH-LOAN")).status_code == 404


class TestRefused:
    """Every bad term: 422 naming the field, nothing stored, the loan unchanged."""

    @pytest.fixture(scope="class")
    def loan_id(self, api) -> str:
        return new_loan(api, account_manager="am_li")

    def _refused(self, api, database, loan_id, field, **over):
        before = api.get(f"/api/v1/loans/{loan_id}").json()
        body = refused(api.post(path(loan_id), json=terms(**over)), field)
        assert stored(database, loan_id) == []
        assert api.get(f"/api/v1/loans/{loan_id}").json() == before
        return body

    def test_before_the_disbursement(self, api, database, loan_id):
        disbursed = date.fromisoformat(api.get(f"/api/v1/loans/{loan_id}").json()["disbursed_on"])
        body = self._refused(
            api,
            database,
            loan_id,
            "restructured_on",
            restructured_on=(disbursed - timedelta(days=1)).isoformat(),
        )
        assert "disbursement" in body["detail"]

    def test_in_the_future_beyond_the_bound(self, api, database, loan_id):
        ahead = bounds().dates.facts_max_days_ahead
        self._refused(
            api,
            database,
            loan_id,
            "restructured_on",
            restructured_on=(TODAY + timedelta(days=ahead + 1)).isoformat(),
        )

    @pytest.mark.parametrize("amount", ["-100.00", "0"])
    def test_instalment_not_positive(self, api, database, loan_id, amount):
        self._refused(api, database, loan_id, "new_instalment_amount", new_instalment_amount=amount)

    def test_instalment_beyond_the_loan(self, api, database, loan_id):
        body = self._refused(
            api, database, loan_id, "new_instalment_amount", new_instalment_amount="99000000.00"
        )
        assert "loan amount" in body["detail"]

    @pytest.mark.parametrize("rate", ["-0.5", "100.01", "abc"])
    def test_rate_out_of_range(self, api, database, loan_id, rate):
        self._refused(api, database, loan_id, "new_interest_rate", new_interest_rate=rate)

    def test_new_maturity_not_after_the_restructuring(self, api, database, loan_id):
        self._refused(
            api,
            database,
            loan_id,
            "new_maturity_on",
            new_maturity_on=(TODAY - timedelta(days=20)).isoformat(),
        )

    def test_no_reason(self, api, database, loan_id):
        self._refused(api, database, loan_id, "reason", reason="")

    def test_not_a_date(self, api, database, loan_id):
        self._refused(api, database, loan_id, "restructured_on", restructured_on="2026-02-30")

    def test_unknown_field(self, api, database, loan_id):
        self._refused(api, database, loan_id, "grace_months", grace_months=3)
