"""Reclassification right after a repayment, and the classification endpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import TODAY
from helpers import new_loan

pytestmark = pytest.mark.engine


def test_repayment_that_cures_arrears_reclassifies_at_once(api):
    loan_id = new_loan(api, account_manager="am_li", days_overdue=95)
    loan = api.get(f"/api/v1/loans/{loan_id}").json()
    assert loan["classification"]["risk_class"] == "substandard"
    assert "90 days" in loan["classification"]["reason"]

    # core banking books the late payment on the unpaid instalment: an amendment of it (the
    # same instalment posted again is refused, 409)
    due = (TODAY - timedelta(days=95)).isoformat()
    paid = {"due_on": due, "due_amount": "25000", "paid_on": TODAY.isoformat()}
    r = api.post(f"/api/v1/loans/{loan_id}/repayments", json={**paid, "paid_amount": "25000"})
    assert r.status_code == 409, r.text
    listed = api.get(f"/api/v1/loans/{loan_id}/repayments").json()
    items = listed["items"] if isinstance(listed, dict) else listed
    (unpaid,) = [i for i in items if i["due_on"] == due]
    r = api.post(
        f"/api/v1/loans/{loan_id}/repayments/{unpaid['id']}/amendments",
        json={**paid, "paid_amount": "25000", "reason": "paid late, booked today"},
    )
    assert r.status_code == 201, r.text
    loan = api.get(f"/api/v1/loans/{loan_id}").json()
    assert loan["classification"]["risk_class"] == "normal"

    history = api.get(f"/api/v1/loans/{loan_id}/classification-history")
    assert history.status_code == 200, history.text
    assert [
        (c["from_class"], c["to_class"], c["source"], c["status"])
        for c in history.json()
        if c["from_class"] != c["to_class"]
    ] == [
        ("normal", "substandard", "repayment", "applied"),
        ("substandard", "normal", "repayment", "applied"),
    ]


def test_history_of_an_unknown_loan_is_404(api):
    r = api.get("/api/v1/loans/NO-SUCH-LOAN/classification-history")
    assert r.status_code == 404 and r.json()["error"]


def test_proposed_changes_are_listed(api, database, debtor):
    from postloan.classification import service
    from postloan.classification.rules import bundled_table
    from postloan.db import unit_of_work

    _c, (loan_id,) = debtor({"days_overdue": 100})
    with unit_of_work(database) as session:
        change = service.propose(
            session, loan_id, bundled_table().single({"days_past_due": 100}), "inspection", "worker"
        )
        change_id = change.id
    r = api.get("/api/v1/classification-changes", params={"status": "proposed"})
    assert r.status_code == 200, r.text
    assert change_id in [c["id"] for c in r.json()]
    assert {c["status"] for c in r.json()} == {"proposed"}
    r = api.get("/api/v1/classification-changes", params={"status": "nonsense"})
    assert r.status_code in (400, 422) and "status" in r.text
