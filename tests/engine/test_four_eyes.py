"""Four eyes, enforced by the engine plugin: who performed an inspection can never review it.

lead_hu is both an account manager and a post-loan officer (a small branch's team lead), so the
authorizations alone would let him review his own inspection: only the plugin stops him.
"""

from __future__ import annotations

import pytest
from helpers import PERFORM, new_loan, start_inspection, task_of, wait_for

from gateway.engine import EngineError

pytestmark = pytest.mark.engine


def refused(action) -> EngineError:
    with pytest.raises(EngineError) as err:
        action()
    assert err.value.status == 403, err.value
    assert "Four-eyes rule" in err.value.message and "lead_hu" in err.value.message
    return err.value


def test_performer_cannot_claim_assign_or_complete_the_review(workers, api, as_user, admin):
    inspection_id = start_inspection(api, new_loan(api, account_manager="lead_hu"))
    lead_hu, po_wang = as_user("lead_hu"), as_user("po_wang")
    perform = task_of(lead_hu, inspection_id, "perform_inspection")
    lead_hu.submit_form(perform["id"], PERFORM)

    review = task_of(lead_hu, inspection_id, "review_inspection")  # he is a candidate...
    assert admin.task_variables(review["id"])["inspector"] == "lead_hu"

    refused(lambda: lead_hu.claim(review["id"], "lead_hu"))
    refused(lambda: admin.set_assignee(review["id"], "lead_hu"))
    refused(lambda: lead_hu.complete_task(review["id"], {"review_decision": "approve"}))
    refused(
        lambda: lead_hu.submit_form(
            review["id"], {"review_decision": "approve", "review_comment": "self-approval"}
        )
    )

    still_open = admin.tasks(
        processInstanceBusinessKey=inspection_id, taskDefinitionKey="review_inspection"
    )
    assert len(still_open) == 1 and still_open[0]["assignee"] is None

    po_wang.claim(review["id"], "po_wang")
    po_wang.submit_form(review["id"], {"review_decision": "approve", "review_comment": "ok"})
    body = wait_for(
        lambda: (
            (b := api.get(f"/api/v1/inspections/{inspection_id}").json())["status"] == "completed"
            and b
        ),
        what="completion",
    )
    assert (body["inspector"], body["reviewer"]) == ("lead_hu", "po_wang")


def test_an_account_manager_outside_the_officers_cannot_even_see_the_review(workers, api, as_user):
    inspection_id = start_inspection(api, new_loan(api, account_manager="am_zhang"))
    am_zhang, po_chen = as_user("am_zhang"), as_user("po_chen")
    perform = task_of(am_zhang, inspection_id, "perform_inspection")
    am_zhang.submit_form(perform["id"], PERFORM)
    review = task_of(po_chen, inspection_id, "review_inspection")
    assert (
        am_zhang.tasks(
            processInstanceBusinessKey=inspection_id, taskDefinitionKey="review_inspection"
        )
        == []
    )
    with pytest.raises(EngineError) as err:
        am_zhang.complete_task(review["id"], {"review_decision": "approve"})
    assert err.value.status in (403, 404)
