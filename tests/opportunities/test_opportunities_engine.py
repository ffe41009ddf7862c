"""Business opportunities end to end against the real engine with bpmn/ deployed: the account
manager ticks business needs on the perform form (submitted over /engine-rest as Tasklist does),
they appear at GET /opportunities and in the next credit application's dossier, the follow-up
task appears when due (its timer job executed) and its outcome is recorded; REST settles one."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from helpers import PERFORM, new_loan, start_inspection, task_of, wait_for

from postloan.opportunities import config

pytestmark = pytest.mark.engine

PROCESS = "opportunity_follow_up"


def _opportunities(api: Any, customer_id: str, n: int) -> list[dict]:
    def found() -> list[dict] | None:
        body = api.get("/api/v1/opportunities", params={"customer_id": customer_id}).json()
        return body["items"] if body["total"] >= n else None

    return wait_for(found, what=f"{n} opportunities of {customer_id}")


def _instance(admin: Any, opportunity_id: int) -> dict:
    return wait_for(
        lambda: next(
            iter(
                admin.call(
                    "GET",
                    "/process-instance",
                    params={"processDefinitionKey": PROCESS, "businessKey": str(opportunity_id)},
                )
                or []
            ),
            None,
        ),
        what=f"{PROCESS} of opportunity {opportunity_id}",
    )


def _fire_timer(admin: Any, process_instance_id: str) -> dict:
    """The follow-up date reached: execute the instance's timer job now."""
    job = wait_for(
        lambda: next(
            iter(
                admin.call("GET", "/job", params={"processInstanceId": process_instance_id}) or []
            ),
            None,
        ),
        what=f"timer job of {process_instance_id}",
    )
    admin.call("POST", f"/job/{job['id']}/execute")
    return job


def _follow_up_task(gateway: Any, opportunity_id: int) -> dict:
    return wait_for(
        lambda: next(
            iter(
                gateway.tasks(
                    processInstanceBusinessKey=str(opportunity_id),
                    taskDefinitionKey="follow_up_opportunity",
                )
            ),
            None,
        ),
        what=f"follow_up_opportunity of {opportunity_id}",
    )


def _ended(admin: Any, process_instance_id: str) -> bool:
    found = admin.historic_process_instances(processInstanceId=process_instance_id)
    return bool(found) and found[0]["state"] == "COMPLETED"


def _items(variables: dict) -> dict:
    codes = [i["code"] for i in variables["inspection_items"]]
    return {"items_in_order": codes, "items_not_applicable": [], "item_notes": "photos 1-3"}


def test_needs_captured_in_tasklist_reach_the_list_the_dossier_and_their_follow_up(
    workers, api, admin, as_user
) -> None:
    loan_id = new_loan(api, account_manager="am_li")
    customer_id = api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]
    inspection_id = start_inspection(api, loan_id)
    am_li, po_chen = as_user("am_li"), as_user("po_chen")

    perform = task_of(am_li, inspection_id, "perform_inspection")
    variables = am_li.task_variables(perform["id"])
    needs = {
        "business_needs": ["new_credit", "payroll"],
        "business_need_note_new_credit": "Plans a second workshop, about 2m CNY in spring",
        "business_need_note_payroll": "120 staff paid through another bank",
    }
    am_li.submit_form(perform["id"], {**PERFORM, **_items(variables), **needs})

    items = _opportunities(api, customer_id, 2)
    rules = config.load()
    by_kind = {o["kind"]: o for o in items}
    assert sorted(by_kind) == ["new_credit", "payroll"]
    for kind, o in by_kind.items():
        assert o["owner"] == "am_li" and o["captured_by"] == "am_li"
        assert o["source"] == "inspection" and o["source_ref"] == inspection_id
        assert o["loan_id"] == loan_id and o["outcome"] == "open"
        assert (
            o["follow_up_on"]
            == (date.today() + timedelta(days=rules.kind(kind).follow_up_days)).isoformat()
        )
    assert by_kind["payroll"]["note"] == needs["business_need_note_payroll"]

    # The reviewer returns the work; performing again (the form still ticked) adds nothing.
    review = task_of(po_chen, inspection_id, "review_inspection")
    po_chen.claim(review["id"], "po_chen")
    po_chen.submit_form(
        review["id"],
        {
            "review_decision": "rework",
            "review_comment": "Add the stock count",
            "rework_reason": "Count the stock",
        },
    )
    perform_again = task_of(am_li, inspection_id, "perform_inspection")
    again = am_li.task_variables(perform_again["id"])
    assert again["business_needs"] == ["new_credit", "payroll"]  # the form shows them again
    am_li.submit_form(
        perform_again["id"],
        {**PERFORM, **_items(variables), **needs, "business_need_note_payroll": "130 staff"},
    )
    wait_for(
        lambda: task_of(po_chen, inspection_id, "review_inspection")["id"] != review["id"],
        what="the second review",
    )
    body = api.get("/api/v1/opportunities", params={"customer_id": customer_id}).json()
    assert body["total"] == 2
    assert {o["kind"]: o["note"] for o in body["items"]}["payroll"] == "130 staff"
    # one follow-up instance per opportunity, not one per performance
    for o in body["items"]:
        started = admin.historic_process_instances(
            processDefinitionKey=PROCESS, processInstanceBusinessKey=str(o["id"])
        )
        assert len(started) == 1

    # Filters: owner, kind, outcome.
    r = api.get("/api/v1/opportunities", params={"owner": "am_li", "kind": "payroll"})
    assert r.status_code == 200 and by_kind["payroll"]["id"] in [o["id"] for o in r.json()["items"]]
    assert all(o["kind"] == "payroll" for o in r.json()["items"])
    r = api.get("/api/v1/opportunities", params={"customer_id": customer_id, "outcome": "won"})
    assert r.json()["total"] == 0

    # The next credit application's dossier shows them.
    r = api.post(
        "/api/v1/credit-applications",
        json={"customer_id": customer_id, "product": "MICRO-OPERATING", "amount": "300000.00"},
    )
    assert r.status_code == 201, r.text
    application_id = r.json()["id"]
    dossier = wait_for(
        lambda: api.get(f"/api/v1/credit-applications/{application_id}").json()["dossier"],
        what=f"dossier of {application_id}",
    )
    assert sorted((o["id"], o["kind"]) for o in dossier["opportunities"]) == sorted(
        (o["id"], o["kind"]) for o in items
    )

    # new credit: the follow-up falls due, the account manager records it won in Tasklist.
    credit = by_kind["new_credit"]
    instance = _instance(admin, credit["id"])
    job = _fire_timer(admin, instance["id"])
    assert job["dueDate"].startswith(credit["follow_up_on"])
    task = _follow_up_task(am_li, credit["id"])
    assert task["assignee"] == "am_li"
    assert task["name"] == f"Follow up New credit · {dossier['customer']['name']}"
    assert task["priority"] == rules.task_priority and task["due"]
    shown = am_li.task_variables(task["id"])
    assert shown["opportunity_note"] == needs["business_need_note_new_credit"]
    am_li.submit_form(task["id"], {"follow_up_outcome": "won", "follow_up_note": "Line signed"})
    won = wait_for(
        lambda: (lambda o: o if o["outcome"] == "won" else None)(
            api.get(f"/api/v1/opportunities/{credit['id']}").json()
        ),
        what="the won outcome",
    )
    assert won["outcome_by"] == "am_li" and won["outcome_note"] == "Line signed"
    assert won["outcome_at"]
    wait_for(lambda: _ended(admin, instance["id"]), what="the follow-up ended")


def test_a_new_date_in_tasklist_then_an_outcome_over_rest(workers, api, admin, as_user) -> None:
    loan_id = new_loan(api, account_manager="am_li")
    customer_id = api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]
    inspection_id = start_inspection(api, loan_id)
    am_li = as_user("am_li")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    variables = am_li.task_variables(perform["id"])
    am_li.submit_form(
        perform["id"],
        {**PERFORM, **_items(variables), "business_needs": ["wealth"]},
    )
    (opportunity,) = _opportunities(api, customer_id, 1)
    instance = _instance(admin, opportunity["id"])
    _fire_timer(admin, instance["id"])

    # A date in the past is not taken: the task comes back at once, saying why.
    task = _follow_up_task(am_li, opportunity["id"])
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    am_li.submit_form(task["id"], {"follow_up_outcome": "open", "next_follow_up_on": yesterday})
    back = wait_for(
        lambda: (lambda t: t if t and t["id"] != task["id"] else None)(
            next(
                iter(
                    am_li.tasks(
                        processInstanceBusinessKey=str(opportunity["id"]),
                        taskDefinitionKey="follow_up_opportunity",
                    )
                ),
                None,
            )
        ),
        what="the task back with its problem",
    )
    assert "follow_up_on" in am_li.task_variables(back["id"])["follow_up_problem"]
    assert (
        api.get(f"/api/v1/opportunities/{opportunity['id']}").json()["follow_up_on"]
        == (opportunity["follow_up_on"])
    )

    # A week ahead is: the instance waits for that day again.
    in_a_week = (date.today() + timedelta(days=7)).isoformat()
    am_li.submit_form(back["id"], {"follow_up_outcome": "open", "next_follow_up_on": in_a_week})
    wait_for(
        lambda: (
            api.get(f"/api/v1/opportunities/{opportunity['id']}").json()["follow_up_on"]
            == in_a_week
        ),
        what="the new follow-up date",
    )
    job = wait_for(
        lambda: next(
            iter(
                j
                for j in admin.call("GET", "/job", params={"processInstanceId": instance["id"]})
                or []
                if (j.get("dueDate") or "").startswith(in_a_week)
            ),
            None,
        ),
        what="the timer of the new date",
    )
    assert job

    # Bad input over REST: 4xx naming the field, nothing changed.
    path = f"/api/v1/opportunities/{opportunity['id']}/outcome"
    r = api.post(path, json={"outcome": "maybe", "recorded_by": "crm_wang"})
    assert r.status_code == 422 and r.json()["field"].endswith("outcome"), r.text
    r = api.post(path, json={"outcome": "open", "recorded_by": "crm_wang"})
    assert r.status_code == 422 and r.json()["field"] == "follow_up_on", r.text
    r = api.post(path, json={"outcome": "won"})
    assert r.status_code == 422 and r.json()["field"].endswith("recorded_by"), r.text
    r = api.post(
        "/api/v1/opportunities/999999999/outcome", json={"outcome": "won", "recorded_by": "x"}
    )
    assert r.status_code == 404, r.text
    assert api.get(f"/api/v1/opportunities/{opportunity['id']}").json()["outcome"] == "open"

    # The CRM records it not pursued: the waiting instance ends; a second outcome conflicts.
    r = api.post(
        path, json={"outcome": "not_pursued", "note": "No interest", "recorded_by": "crm_wang"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "not_pursued" and r.json()["outcome_by"].endswith("/crm_wang")
    wait_for(lambda: _ended(admin, instance["id"]), what="the follow-up ended by the message")
    assert not am_li.tasks(processInstanceBusinessKey=str(opportunity["id"]))
    r = api.post(path, json={"outcome": "won", "recorded_by": "crm_wang"})
    assert r.status_code == 409, r.text


def test_list_bounds(api) -> None:
    for params, field in (
        ({"outcome": "maybe"}, "outcome"),
        ({"kind": "New Credit!"}, "kind"),
        ({"limit": 501}, "limit"),
        ({"customer_id": "bad id"}, "customer_id"),
    ):
        r = api.get("/api/v1/opportunities", params=params)
        assert r.status_code == 422 and r.json()["field"].endswith(field), (params, r.text)
    assert api.get("/api/v1/opportunities/999999999").status_code == 404
