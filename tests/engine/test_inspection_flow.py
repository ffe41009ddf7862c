"""An inspection from start to stored report, against the real engine with bpmn/ deployed.

The human steps are completed over REST as the demo people would in Tasklist (submit-form with the
form's fields), with their own credentials and rights.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from helpers import wait_for

pytestmark = pytest.mark.engine


def new_loan(api: Any, *, account_manager: str, days_overdue: int = 0) -> str:
    """A customer and a loan through the API; ``days_overdue`` > 0 leaves one instalment unpaid."""
    suffix = uuid.uuid4().hex[:8]
    customer_id, loan_id = f"C-{suffix}", f"L-{suffix}"
    r = api.post("/api/v1/customers", json={
        "id": customer_id, "name": f"Flow Test Co {suffix}", "segment": "micro",
        "industry": "textiles", "branch": "BR-SH-01", "account_manager": account_manager,
        "credit_rating": "BBB",
    })
    assert r.status_code == 201, r.text
    today = date.today()
    r = api.post("/api/v1/loans", json={
        "id": loan_id, "customer_id": customer_id, "product": "MICRO-OPERATING",
        "amount": "500000.00", "currency": "CNY",
        "disbursed_on": (today - timedelta(days=400)).isoformat(),
        "maturity_on": (today + timedelta(days=330)).isoformat(),
        "purpose": "purchase of raw materials",
        "approval_conditions": ["Funds paid directly to named suppliers"],
        "collaterals": [{"id": f"COL-{suffix}", "kind": "equipment", "value": "700000",
                         "currency": "CNY"}],
    })
    assert r.status_code == 201, r.text
    paid_due = today - timedelta(days=days_overdue + 30)
    api.post(f"/api/v1/loans/{loan_id}/repayments", json={
        "due_on": paid_due.isoformat(), "due_amount": "25000", "paid_on": paid_due.isoformat(),
        "paid_amount": "25000"})
    if days_overdue:
        r = api.post(f"/api/v1/loans/{loan_id}/repayments", json={
            "due_on": (today - timedelta(days=days_overdue)).isoformat(), "due_amount": "25000"})
        assert r.status_code == 201, r.text
    return loan_id


def start_inspection(api: Any, loan_id: str) -> str:
    r = api.post("/api/v1/inspections", json={"loan_id": loan_id, "reason": "flow test"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def task_of(gateway: Any, inspection_id: str, key: str) -> dict:
    return wait_for(
        lambda: next(iter(gateway.tasks(processInstanceBusinessKey=inspection_id,
                                         taskDefinitionKey=key)), None),
        what=f"task {key} of {inspection_id}",
    )


PERFORM = {
    "funds_used_as_agreed": True, "business_operating_normally": True,
    "collateral_intact": True, "approval_conditions_met": False,
    "inspection_findings": "Visited the workshop; supplier invoices match the drawdown.",
    "inspection_conclusion": "concerns",
}


def test_inspection_from_start_to_stored_report(workers, api, as_user, admin) -> None:
    loan_id = new_loan(api, account_manager="am_li", days_overdue=95)
    inspection_id = start_inspection(api, loan_id)

    am_li, po_chen = as_user("am_li"), as_user("po_chen")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    assert perform["assignee"] == "am_li"
    variables = am_li.task_variables(perform["id"])
    assert variables["days_past_due"] == 95
    assert variables["classification"]["risk_class"] == "substandard"

    # The account manager sees the task in the filter Tasklist shows by default.
    am_li.submit_form(perform["id"], PERFORM)

    # The post-loan officer returns it for rework, with a reason.
    review = task_of(po_chen, inspection_id, "review_inspection")
    po_chen.claim(review["id"], "po_chen")
    po_chen.submit_form(review["id"], {
        "review_decision": "rework", "review_comment": "Condition 1 not evidenced",
        "rework_reason": "Attach the supplier payment records"})

    perform_again = task_of(am_li, inspection_id, "perform_inspection")
    assert am_li.task_variables(perform_again["id"])["rework_reason"].startswith("Attach")
    am_li.submit_form(perform_again["id"], {**PERFORM, "approval_conditions_met": True})

    review = task_of(po_chen, inspection_id, "review_inspection")
    po_chen.claim(review["id"], "po_chen")
    po_chen.submit_form(review["id"], {"review_decision": "approve",
                                       "review_comment": "Records complete"})

    def completed() -> dict | None:
        body = api.get(f"/api/v1/inspections/{inspection_id}").json()
        return body if body["status"] == "completed" else None

    inspection = wait_for(completed, what="the inspection to complete")
    report = inspection["report"]
    assert inspection["inspector"] == "am_li" and inspection["reviewer"] == "po_chen"
    assert report["inspector"]["checklist"]["approval_conditions_met"] is True
    assert report["review"] == {"reviewer": "po_chen", "decision": "approve",
                                "comment": "Records complete"}
    assert report["classification"]["risk_class"] == "substandard"
    assert "90 days" in report["classification"]["reason"]
    overdue = [c for c in report["checks"] if c["code"] == "REPAYMENT_OVERDUE"]
    assert overdue and overdue[0]["evidence"]["instalments"], report["checks"]
    loan = api.get(f"/api/v1/loans/{loan_id}").json()
    assert loan["classification"]["risk_class"] == "substandard"
    history = admin.historic_process_instances(processInstanceBusinessKey=inspection_id)
    assert history[0]["state"] == "COMPLETED"


def test_unknown_inspection_ends_cancelled_through_the_bpmn_error(workers, admin) -> None:
    """load_context raises the business error; the boundary event ends the process cleanly."""
    key = f"INS-MISSING-{uuid.uuid4().hex[:6]}"
    pid = admin.start_process("post_loan_inspection", key, {"inspection_id": key})

    def ended() -> list:
        return admin.historic_activities(processInstanceId=pid, activityId="inspection_cancelled")

    wait_for(ended, what="the cancelled end event")
    assert admin.incidents(processInstanceId=pid) == []
