"""An inspection from start to stored report, against the real engine with bpmn/ deployed.

The human steps are completed over REST as the demo people would in Tasklist (submit-form with the
form's fields), with their own credentials and rights.
"""

from __future__ import annotations

import uuid

import pytest
from helpers import PERFORM, new_loan, start_inspection, task_of, wait_for

pytestmark = pytest.mark.engine


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
