"""The appeal as the account manager lodges it in Tasklist (the engine's own task path, not the
integrators' REST call), and what another account manager cannot do with it: claim it, take it
over, answer it in the holder's name or rewrite whose appeal it is."""

from __future__ import annotations

import pytest
from helpers import task_of, wait_for

from config.settings import get_settings
from gateway.engine import EngineError
from gateway.variables import to_engine
from tests.due_diligence.test_due_diligence_engine import (
    APPEAL,
    REVIEW_APPEAL,
    deliberate_and_determine,
    npl_loan,
    review_of,
)

pytestmark = pytest.mark.engine

APPEAL_ANSWER = {
    "appeal_choice": "appeal",
    "appeal_grounds": "The customer asked to move the second visit; the branch agreed in writing.",
}


def _refused(action) -> None:
    """Refused by the engine: the plugin's 403, or Camunda's own answer to claiming a task that
    someone holds (a TaskAlreadyClaimedException, which its REST API reports as a 500)."""
    with pytest.raises(EngineError) as err:
        action()
    assert err.value.status == 403 or "already claimed" in err.value.message, err.value


def test_the_account_manager_appeals_in_tasklist_and_no_colleague_can_do_it_for_them(
    workers, api, admin, as_user
):
    _loan_id, review_id = npl_loan(api, get_settings().database_url, account_manager="am_li")
    key = str(review_id)
    deliberate_and_determine(as_user, admin, review_id, "cm_liu", "cm_gao")
    task = task_of(admin, key, APPEAL)
    assert task["assignee"] == "am_li"
    colleague = as_user("am_zhang")
    _refused(lambda: colleague.claim(task["id"], "am_zhang"))
    _refused(lambda: colleague.set_assignee(task["id"], "am_zhang"))
    _refused(lambda: colleague.submit_form(task["id"], APPEAL_ANSWER))
    _refused(
        lambda: colleague.call(
            "PUT", f"/task/{task['id']}/variables/account_manager", json=to_engine("am_zhang")
        )
    )
    # none of it moved the review or the task
    assert review_of(api, review_id)["status"] == "appeal_window"
    assert task_of(admin, key, APPEAL)["assignee"] == "am_li"

    as_user("am_li").submit_form(task["id"], APPEAL_ANSWER)
    appeal_review = task_of(admin, key, REVIEW_APPEAL)
    review = wait_for(
        lambda: (r := review_of(api, review_id))["status"] == "appeal_review" and r,
        what="the appeal to be recorded",
    )
    assert review["appeal"]["grounds"] == APPEAL_ANSWER["appeal_grounds"]
    assert review["appeal"]["by"] == "am_li"
    # the appellant is no reviewer of their own appeal
    _refused(lambda: as_user("am_li").claim(appeal_review["id"], "am_li"))
