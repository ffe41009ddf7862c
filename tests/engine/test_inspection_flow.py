"""An inspection from start to stored report, against the real engine with bpmn/ deployed.

The human steps are completed over REST as the demo people would in Tasklist (submit-form with the
form's fields), with their own credentials and rights.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from helpers import PERFORM, new_loan, start_inspection, task_of, wait_for

from postloan.db import unit_of_work
from postloan.loans import service as loans

pytestmark = pytest.mark.engine


def answered(items: list[dict]) -> dict:
    """The perform form's checklists: every point in order but the last, which does not apply."""
    codes = [i["code"] for i in items]
    return {
        "items_in_order": codes[:-1],
        "items_not_applicable": codes[-1:],
        "item_notes": "photos 1-4 in the file",
    }


def overdue_without_reclassification(database: str, loan_id: str, days: int) -> None:
    """An instalment left unpaid, recorded as a bulk import does (no reclassification then):
    the loan is still "normal" when the inspection's classification finds it substandard."""
    with unit_of_work(database) as session:
        loans.record_repayment(
            session,
            loan_id,
            loans.RepaymentData(
                due_on=date.today() - timedelta(days=days),
                due_amount=Decimal("25000"),
                paid_on=None,
                paid_amount=Decimal("0"),
            ),
            actor="import",
        )


def test_inspection_from_start_to_stored_report(workers, api, as_user, admin, database) -> None:
    loan_id = new_loan(api, account_manager="am_li")
    overdue_without_reclassification(database, loan_id, 95)
    assert api.get(f"/api/v1/loans/{loan_id}").json()["classification"]["risk_class"] == "normal"
    inspection_id = start_inspection(api, loan_id)

    am_li, po_chen, cm_liu = as_user("am_li"), as_user("po_chen"), as_user("cm_liu")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    assert perform["assignee"] == "am_li"
    variables = am_li.task_variables(perform["id"])
    assert variables["days_past_due"] == 95
    assert variables["classification"]["risk_class"] == "substandard"
    assert variables["classification_downgrade"] is True
    items = variables["inspection_items"]
    assert items and {i["source"] for i in items} >= {"template"}

    options = variables["inspection_item_options"]
    assert [o["value"] for o in options] == [i["code"] for i in items]
    am_li.submit_form(perform["id"], {**PERFORM, "items_in_order": [items[0]["code"]]})

    # The post-loan officer sees the recorded checklist and returns the work for rework.
    review = task_of(po_chen, inspection_id, "review_inspection")
    review_variables = po_chen.task_variables(review["id"])
    recorded = review_variables["recorded_items"]
    assert recorded[0]["result"] == "ok" and all(i["result"] == "not_ok" for i in recorded[1:])
    assert review_variables["items_not_in_order"] == len(items) - 1
    po_chen.claim(review["id"], "po_chen")
    po_chen.submit_form(
        review["id"],
        {
            "review_decision": "rework",
            "review_comment": "Condition 1 not evidenced",
            "rework_reason": "Attach the supplier payment records",
        },
    )

    perform_again = task_of(am_li, inspection_id, "perform_inspection")
    assert am_li.task_variables(perform_again["id"])["rework_reason"].startswith("Attach")
    am_li.submit_form(
        perform_again["id"], {**PERFORM, "approval_conditions_met": True, **answered(items)}
    )

    review = task_of(po_chen, inspection_id, "review_inspection")
    po_chen.claim(review["id"], "po_chen")
    po_chen.submit_form(
        review["id"], {"review_decision": "approve", "review_comment": "Records complete"}
    )

    # A red signal makes the loan high-risk: an unannounced on-site verification follows.
    po_wang = as_user("po_wang")
    visit = task_of(po_wang, inspection_id, "onsite_verification")
    po_wang.claim(visit["id"], "po_wang")
    po_wang.submit_form(
        visit["id"],
        {"onsite_result": "confirmed", "onsite_findings": "Workshop and stock as recorded"},
    )

    # normal -> substandard is a downgrade: a credit manager confirms it.
    confirm = task_of(cm_liu, inspection_id, "confirm_classification")
    cm_liu.claim(confirm["id"], "cm_liu")
    cm_liu.submit_form(
        confirm["id"],
        {
            "classification_decision": "confirm",
            "classification_note": "95 days past due, confirmed",
        },
    )

    def completed() -> dict | None:
        body = api.get(f"/api/v1/inspections/{inspection_id}").json()
        return body if body["status"] == "completed" else None

    inspection = wait_for(completed, what="the inspection to complete")
    report = inspection["report"]
    assert inspection["inspector"] == "am_li" and inspection["reviewer"] == "po_chen"
    assert report["inspector"]["checklist"]["approval_conditions_met"] is True
    assert report["review"] == {
        "reviewer": "po_chen",
        "decision": "approve",
        "comment": "Records complete",
    }
    assert [i["result"] for i in report["items"]] == ["ok"] * (len(items) - 1) + ["not_applicable"]
    classification = report["classification"]
    assert classification["risk_class"] == "substandard"
    assert "90 days" in classification["reason"]
    assert (classification["decision"], classification["decided_by"]) == ("confirm", "cm_liu")
    overdue = [
        c for c in report["checks"] if c["source"] == "repayment" or c["code"].startswith("OVERDUE")
    ]
    assert overdue and overdue[0]["evidence"], report["checks"]
    assert any(s["severity"] == "red" for s in report["signals"]), report["signals"]
    loan = api.get(f"/api/v1/loans/{loan_id}").json()
    assert loan["classification"]["risk_class"] == "substandard"
    # The report is stored before the finalize task reports back: the process ends just after.
    wait_for(
        lambda: admin.historic_process_instances(
            processInstanceBusinessKey=inspection_id, state="COMPLETED"
        ),
        what="the process to end",
    )
    page = api.get(f"/api/v1/inspections/{inspection_id}/report.html")
    assert page.status_code == 200 and "Post-loan inspection report" in page.text
    # Codes in words (config/labels.yaml): the class reads "Substandard", not its code.
    assert "Substandard" in page.text and "cm_liu" in page.text


def test_unknown_inspection_goes_to_an_officer_through_the_bpmn_error(
    workers, admin, as_user
) -> None:
    """load_context raises the business error; a post-loan officer sees what is missing and
    cancels the inspection (or has it loaded again once the data is corrected)."""
    key = f"INS-MISSING-{uuid.uuid4().hex[:6]}"
    pid = admin.start_process("post_loan_inspection", key, {"inspection_id": key})

    resolve = task_of(as_user("po_chen"), key, "resolve_inspection_data")
    assert key in admin.task_variables(resolve["id"])["data_problem"]
    assert as_user("am_li").tasks(processInstanceBusinessKey=key) == []
    as_user("po_chen").submit_form(
        resolve["id"],
        {"data_resolution": "cancel", "data_resolution_comment": "requested by mistake"},
    )

    def ended() -> list:
        return admin.historic_activities(processInstanceId=pid, activityId="inspection_cancelled")

    wait_for(ended, what="the cancelled end event")
    assert admin.incidents(processInstanceId=pid) == []
