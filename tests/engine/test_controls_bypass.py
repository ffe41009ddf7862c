"""An insider's attempts on the engine's controls over /engine-rest, each one kept as a test.

The security tester's finding: a user in both account-managers and postloan-officers (lead_hu)
performs an inspection, then completes its review himself by sending ``inspector`` = a colleague
with the completion (or by writing it as a task variable, or as a task-local variable that shadows
the real one). Every such path must be refused by the engine, the records must keep naming the
real performer, and the paths that were refused before must stay refused.

Each attempt is written as (name, call, expected refusal): the closing note counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from helpers import PERFORM, new_loan, start_inspection, task_of, wait_for

from gateway.engine import EngineError
from gateway.variables import to_engine

pytestmark = pytest.mark.engine

COLLEAGUE = "am_zhang"


def _refused(action: Callable[[], Any], *, status: int = 403, says: str | tuple[str, ...]) -> str:
    with pytest.raises(EngineError) as err:
        action()
    assert err.value.status == status, err.value
    wanted = (says,) if isinstance(says, str) else says
    assert any(w in err.value.message for w in wanted), err.value.message
    return err.value.message


def _vars(**values: Any) -> dict[str, Any]:
    return {name: to_engine(value) for name, value in values.items()}


def test_the_performer_cannot_review_through_any_variable_path(workers, api, as_user, admin):
    inspection_id = start_inspection(api, new_loan(api, account_manager="lead_hu"))
    lead_hu, po_wang = as_user("lead_hu"), as_user("po_wang")
    perform = task_of(lead_hu, inspection_id, "perform_inspection")
    lead_hu.submit_form(perform["id"], PERFORM)
    review = task_of(lead_hu, inspection_id, "review_inspection")
    rid, pid = review["id"], review["processInstanceId"]
    approve = {"review_decision": "approve", "review_comment": "self-approval"}

    attempts: list[tuple[str, Callable[[], Any], str]] = [
        (
            "complete with inspector=colleague",
            lambda: lead_hu.call(
                "POST",
                f"/task/{rid}/complete",
                json={"variables": _vars(inspector=COLLEAGUE, **approve)},
            ),
            "Protected variable",
        ),
        (
            "submit-form with inspector=colleague",
            lambda: lead_hu.call(
                "POST",
                f"/task/{rid}/submit-form",
                json={"variables": _vars(inspector=COLLEAGUE, **approve)},
            ),
            "Protected variable",
        ),
        (
            "POST task variables (modifications)",
            lambda: lead_hu.call(
                "POST", f"/task/{rid}/variables", json={"modifications": _vars(inspector=COLLEAGUE)}
            ),
            "Protected variable",
        ),
        (
            "PUT task variable inspector",
            lambda: lead_hu.call(
                "PUT", f"/task/{rid}/variables/inspector", json=to_engine(COLLEAGUE)
            ),
            "Protected variable",
        ),
        (
            "DELETE task variable inspector",
            lambda: lead_hu.call("DELETE", f"/task/{rid}/variables/inspector"),
            "Protected variable",
        ),
        (
            "PUT task-local inspector (shadow)",
            lambda: lead_hu.call(
                "PUT", f"/task/{rid}/localVariables/inspector", json=to_engine(COLLEAGUE)
            ),
            "Protected variable",
        ),
        (
            "POST task-local variables (shadow)",
            lambda: lead_hu.call(
                "POST",
                f"/task/{rid}/localVariables",
                json={"modifications": _vars(inspector=COLLEAGUE)},
            ),
            "Protected variable",
        ),
        (
            "complete with the reviewer named in advance",
            lambda: lead_hu.call(
                "POST",
                f"/task/{rid}/complete",
                json={"variables": _vars(reviewer="po_wang", **approve)},
            ),
            "Protected variable",
        ),
        (
            "complete with the account manager changed",
            lambda: lead_hu.call(
                "POST",
                f"/task/{rid}/complete",
                json={"variables": _vars(account_manager=COLLEAGUE, **approve)},
            ),
            "Protected variable",
        ),
        (
            "engine admin: process variable inspector",
            lambda: admin.call(
                "PUT", f"/process-instance/{pid}/variables/inspector", json=to_engine(COLLEAGUE)
            ),
            "Protected variable",
        ),
        (
            "engine admin: modification with inspector",
            lambda: admin.call(
                "POST",
                f"/process-instance/{pid}/modification",
                json={
                    "instructions": [
                        {
                            "type": "startBeforeActivity",
                            "activityId": "review_inspection",
                            "variables": {"inspector": {**to_engine(COLLEAGUE), "local": False}},
                        }
                    ]
                },
            ),
            "Protected variable",
        ),
        # the refusals that held before the fix must keep holding
        ("claim", lambda: lead_hu.claim(rid, "lead_hu"), "Four-eyes rule"),
        ("set assignee to himself", lambda: lead_hu.set_assignee(rid, "lead_hu"), "Four-eyes rule"),
        ("engine admin assigns him", lambda: admin.set_assignee(rid, "lead_hu"), "Four-eyes rule"),
        ("complete unclaimed", lambda: lead_hu.complete_task(rid, approve), "Four-eyes rule"),
        ("submit-form unclaimed", lambda: lead_hu.submit_form(rid, approve), "Four-eyes rule"),
        (
            "identity link: assignee",
            lambda: lead_hu.call(
                "POST",
                f"/task/{rid}/identity-links",
                json={"userId": "lead_hu", "type": "assignee"},
            ),
            "Four-eyes rule",
        ),
        (
            "identity link: add a colleague's group as candidates",
            lambda: lead_hu.call(
                "POST",
                f"/task/{rid}/identity-links",
                json={"groupId": "account-managers", "type": "candidate"},
            ),
            "Task ownership",
        ),
        (
            "set himself as owner",
            lambda: lead_hu.call(
                "POST", f"/task/{rid}/identity-links", json={"userId": "lead_hu", "type": "owner"}
            ),
            "Task ownership",
        ),
        (
            "PUT task with assignee",
            lambda: lead_hu.call(
                "PUT",
                f"/task/{rid}",
                json={
                    "name": review["name"],
                    "assignee": "lead_hu",
                    "priority": review["priority"],
                },
            ),
            "Four-eyes rule",
        ),
    ]
    answers = {name: _refused(call, says=says) for name, call, says in attempts}
    assert len(answers) == len(attempts)

    # Transient variables cannot shadow a stored one either (the engine itself refuses them).
    with pytest.raises(EngineError) as err:
        lead_hu.call(
            "POST",
            f"/task/{rid}/complete",
            json={
                "variables": {
                    "inspector": {
                        "value": COLLEAGUE,
                        "type": "String",
                        "valueInfo": {"transient": True},
                    },
                    **_vars(**approve),
                }
            },
        )
    assert 400 <= err.value.status < 600

    # Nothing moved: the review is open and unassigned, the facts name lead_hu, no shadow exists.
    still = admin.tasks(
        processInstanceBusinessKey=inspection_id, taskDefinitionKey="review_inspection"
    )
    assert [(t["id"], t["assignee"]) for t in still] == [(rid, None)]
    assert admin.call("GET", f"/process-instance/{pid}/variables/inspector")["value"] == "lead_hu"
    assert admin.call("GET", f"/task/{rid}/localVariables") == {}
    links = admin.call("GET", f"/task/{rid}/identity-links")
    assert {(x.get("groupId"), x["type"]) for x in links} == {("postloan-officers", "candidate")}

    po_wang.claim(rid, "po_wang")
    # a delegation back to the performer is refused too (by whichever control sees it first)
    _refused(
        lambda: po_wang.call("POST", f"/task/{rid}/delegate", json={"userId": "lead_hu"}),
        says=("Four-eyes rule", "Task ownership"),
    )
    po_wang.submit_form(rid, {"review_decision": "approve", "review_comment": "ok"})
    body = wait_for(
        lambda: (
            (b := api.get(f"/api/v1/inspections/{inspection_id}").json())["status"] == "completed"
            and b
        ),
        what="completion",
    )
    assert (body["inspector"], body["reviewer"]) == ("lead_hu", "po_wang")


def test_a_colleague_cannot_take_the_account_managers_inspection(workers, api, as_user, admin):
    inspection_id = start_inspection(api, new_loan(api, account_manager="am_li"))
    am_zhang, am_li, sv_ma = as_user("am_zhang"), as_user("am_li"), as_user("sv_ma")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    tid = perform["id"]
    assert perform["assignee"] == "am_li"

    attempts: list[tuple[str, Callable[[], Any], str]] = [
        (
            "POST assignee to himself",
            lambda: am_zhang.set_assignee(tid, "am_zhang"),
            "Task ownership",
        ),
        (
            "PUT task with himself as assignee",
            lambda: am_zhang.call(
                "PUT",
                f"/task/{tid}",
                json={
                    "name": perform["name"],
                    "assignee": "am_zhang",
                    "priority": perform["priority"],
                },
            ),
            "Task ownership",
        ),
        (
            "identity link of type assignee",
            lambda: am_zhang.call(
                "POST",
                f"/task/{tid}/identity-links",
                json={"userId": "am_zhang", "type": "assignee"},
            ),
            "Task ownership",
        ),
        (
            "add himself as candidate",
            lambda: am_zhang.call(
                "POST",
                f"/task/{tid}/identity-links",
                json={"userId": "am_zhang", "type": "candidate"},
            ),
            "Task ownership",
        ),
        (
            "complete without holding it",
            lambda: am_zhang.submit_form(tid, PERFORM),
            "Task ownership",
        ),
        (
            "release the colleague's task",
            lambda: am_zhang.set_assignee(tid, None),
            "Task ownership",
        ),
        (
            "the holder hands it to a colleague",
            lambda: am_li.set_assignee(tid, "am_zhang"),
            "Task ownership",
        ),
        (
            "the holder delegates it",
            lambda: am_li.call("POST", f"/task/{tid}/delegate", json={"userId": "am_zhang"}),
            "Task ownership",
        ),
        (
            "a supervisor gives it to someone outside the candidates",
            lambda: sv_ma.set_assignee(tid, "po_chen"),
            "Task ownership",
        ),
    ]
    for _name, call, says in attempts:
        _refused(call, says=says)
    # a claim of a task someone holds is refused by the engine itself (409 or 500 by version)
    with pytest.raises(EngineError):
        am_zhang.claim(tid, "am_zhang")
    assert admin.call("GET", f"/task/{tid}")["assignee"] == "am_li"

    # Released by its holder, it is still only the designated account manager's to take.
    am_li.set_assignee(tid, None)
    _refused(lambda: am_zhang.claim(tid, "am_zhang"), says="Task ownership")
    # A supervisor reassigns it (a colleague covering), and the engine records who did it.
    sv_ma.set_assignee(tid, "am_zhang")
    log = admin.call(
        "GET", "/history/user-operation", params={"taskId": tid, "operationType": "Assign"}
    )
    assert any(e["userId"] == "sv_ma" and e["newValue"] == "am_zhang" for e in log), log
    _refused(lambda: am_li.submit_form(tid, PERFORM), says="Task ownership")
    am_zhang.submit_form(tid, PERFORM)
    wait_for(
        lambda: admin.tasks(
            processInstanceBusinessKey=inspection_id, taskDefinitionKey="review_inspection"
        ),
        what="review task",
    )
    variables = admin.call("GET", f"/process-instance/{perform['processInstanceId']}/variables")
    assert variables["inspector"]["value"] == "am_zhang"


def test_leaks_closed_vendor_reads_no_decision_and_staff_no_statistics(provisioned, as_user, admin):
    vendor = as_user("vd_fieldco")
    assert vendor.call("GET", "/decision-definition") == []
    key = admin.call("GET", "/decision-definition", params={"key": "early_warning"})[0]["id"]
    with pytest.raises(EngineError) as err:
        vendor.call("GET", f"/decision-definition/{key}/xml")
    # Camunda's REST wraps this refusal as a 500; what counts is that it is the refusal
    assert err.value.status in (403, 404) or (
        "does not have 'READ' permission" in err.value.message
    ), err.value
    assert as_user("am_li").call("GET", "/decision-definition", params={"key": "early_warning"})

    for user in ("am_li", "po_chen", "vd_fieldco"):
        person = as_user(user)
        for path in (
            "/process-definition/statistics",
            "/process-definition/key/post_loan_inspection/statistics",
        ):
            with pytest.raises(EngineError) as err:
                person.call("GET", path)
            assert err.value.status == 403, (user, path, err.value)
    assert admin.call("GET", "/process-definition/statistics") is not None


def test_a_tasklist_login_reads_no_cockpit_statistics(provisioned):
    import requests

    webapp = provisioned.engine_url.removesuffix("/engine-rest") + "/camunda"

    def logged_in(user: str, password: str) -> requests.Session:
        session = requests.Session()
        session.get(f"{webapp}/app/tasklist/", timeout=10)  # the CSRF cookie
        token = session.cookies.get("XSRF-TOKEN")
        r = session.post(
            f"{webapp}/api/admin/auth/user/default/login/tasklist",
            data={"username": user, "password": password},
            headers={"X-XSRF-TOKEN": token or ""},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        return session

    path = f"{webapp}/api/cockpit/plugin/base/default/process-definition/statistics-count"
    staff = logged_in("am_li", "demo-am-li")
    assert staff.get(path, timeout=10).status_code == 403
    operator = logged_in(
        provisioned.engine_admin_user, provisioned.engine_admin_password.get_secret_value()
    )
    assert operator.get(path, timeout=10).status_code == 200
