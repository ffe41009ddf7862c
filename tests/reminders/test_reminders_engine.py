"""Against the real engine and workers: the daily timer process ``reminder_scan`` runs the scan
through its worker; a customer's rating about to lapse gets one ``prevent_lapse`` task for the
group the configuration names, due before the rating lapses — one, even when the scan task runs
twice; an annual review goes to the customer's account manager; the owner's answer (refused
once, then given) closes the reminder and moves the date on."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from helpers import wait_for
from sqlalchemy import func, select

from gateway.engine import EngineError
from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.reminders import lapses
from postloan.reminders.models import Reminder

pytestmark = pytest.mark.engine

TODAY = date.today()
RULES = lapses.rules().kinds


def new_customer(api: Any, manager: str, **dates: date) -> str:
    cid = f"C-RM-{uuid.uuid4().hex[:8]}"
    body = {
        "id": cid,
        "name": f"Lapse Co {cid}",
        "segment": "sme",
        "industry": "textiles",
        "branch": "BR-SH-01",
        "account_manager": manager,
        "credit_rating": "BBB",
        **{k: v.isoformat() for k, v in dates.items()},
    }
    r = api.post("/api/v1/customers", json=body)
    assert r.status_code == 201, r.text
    return cid


def run_scan_timer(admin: Any) -> None:
    """Fire the daily timer now, and wait for that scan instance to finish."""
    before = len(admin.historic_process_instances(processDefinitionKey="reminder_scan"))
    jobs = admin.call("GET", "/job", params={"processDefinitionKey": "reminder_scan"})
    assert len(jobs) == 1, jobs
    definition = admin.call("GET", f"/job-definition/{jobs[0]['jobDefinitionId']}")
    assert definition["jobConfiguration"] == "CYCLE: R/2020-01-01T05:00:00Z/P1D"
    # the next run: 05:00 UTC of today or tomorrow, not a day after the deployment
    due = datetime.strptime(jobs[0]["dueDate"], "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    assert (due.hour, due.minute) == (5, 0), due
    assert timedelta(0) < due - datetime.now(UTC) <= timedelta(days=1), due
    admin.call("POST", f"/job/{jobs[0]['id']}/execute")

    def finished() -> bool:
        runs = admin.historic_process_instances(processDefinitionKey="reminder_scan")
        return len(runs) > before and all(r["state"] == "COMPLETED" for r in runs)

    wait_for(finished, timeout=90, what="the reminder scan to complete")


def reminders_of(database: str, customer_id: str) -> list[Reminder]:
    with unit_of_work(database) as session:
        rows = session.scalars(
            select(Reminder).where(Reminder.customer_id == customer_id).order_by(Reminder.id)
        ).all()
        session.expunge_all()
        return list(rows)


def the_task(admin: Any, reminder_id: int) -> dict:
    return wait_for(
        lambda: next(
            iter(
                admin.tasks(
                    processInstanceBusinessKey=f"reminder-{reminder_id}",
                    taskDefinitionKey="prevent_lapse",
                )
            ),
            None,
        ),
        timeout=60,
        what=f"the prevent_lapse task of reminder {reminder_id}",
    )


def candidate_groups(admin: Any, task_id: str) -> set[str]:
    links = admin.call("GET", f"/task/{task_id}/identity-links") or []
    return {link["groupId"] for link in links if link["type"] == "candidate"}


def test_a_rating_expiring_creates_its_task_before_it_lapses_once(
    workers, api, admin, as_user, database
):
    rule = RULES["rating_expiry"]
    lead = rule.lead_for(None, "sme")
    lapses_on = TODAY + timedelta(days=lead - 1)  # within the lead time
    far = TODAY + timedelta(days=lead + 30)  # not yet
    cid = new_customer(api, "am_li", rating_valid_until=lapses_on, annual_review_due_on=far)
    run_scan_timer(admin)
    run_scan_timer(admin)  # the scan task runs a second time: nothing twice
    rows = reminders_of(database, cid)
    assert [(r.kind, r.due_on, r.state) for r in rows] == [("rating_expiry", lapses_on, "open")]
    reminder_id = rows[0].id
    task = the_task(admin, reminder_id)
    instances = admin.historic_process_instances(
        processDefinitionKey="lapse_prevention",
        processInstanceBusinessKey=f"reminder-{reminder_id}",
    )
    assert len(instances) == 1
    # for the configured group, due before the rating lapses, with the configured priority
    assert task["assignee"] is None
    assert candidate_groups(admin, task["id"]) == {rule.group()} == {"credit-managers"}
    due = date.fromisoformat(task["due"][:10])
    assert due == max(TODAY, lapses_on - timedelta(days=rule.task_due_days_before))
    assert due < lapses_on
    assert task["priority"] == rule.priority
    assert cid in task["name"] and lapses_on.isoformat() in task["name"]

    # the credit manager answers: a new date before the old one is refused and comes back
    manager = as_user("cm_liu")
    manager.claim(task["id"], "cm_liu")
    manager.submit_form(
        task["id"],
        {
            "lapse_action": "rating_renewed",
            "lapse_note": "Rating committee 2026/31",
            "lapse_new_due_on": (lapses_on - timedelta(days=1)).isoformat(),
        },
    )

    def returned() -> dict | None:
        found = admin.tasks(
            processInstanceBusinessKey=f"reminder-{reminder_id}", taskDefinitionKey="prevent_lapse"
        )
        return found[0] if found and found[0]["id"] != task["id"] else None

    again = wait_for(returned, timeout=60, what="the refused answer to come back")
    problem = admin.task_variables(again["id"])["lapse_problem"]
    assert "new date" in problem
    renewed = lapses_on + timedelta(days=365)
    manager.claim(again["id"], "cm_liu")
    manager.submit_form(
        again["id"],
        {
            "lapse_action": "rating_renewed",
            "lapse_note": "Rating committee 2026/31: BBB confirmed",
            "lapse_new_due_on": renewed.isoformat(),
        },
    )

    def done() -> bool:
        return reminders_of(database, cid)[0].state == "done"

    wait_for(done, timeout=60, what="the reminder to be closed")
    row = reminders_of(database, cid)[0]
    assert (row.action_taken, row.done_by, row.new_due_on) == ("rating_renewed", "cm_liu", renewed)
    with unit_of_work(database) as session:
        assert session.get(Customer, cid).rating_valid_until == renewed
    body = api.get("/api/v1/reminders", params={"customer_id": cid}).json()
    assert [(i["kind"], i["state"], i["done_by"]) for i in body["items"]] == [
        ("rating_expiry", "done", "cm_liu")
    ]


def test_an_annual_review_goes_to_the_account_manager(workers, api, admin, as_user, database):
    rule = RULES["annual_review"]
    assert rule.owner == "account_manager"
    cid = new_customer(api, "am_zhang", annual_review_due_on=TODAY + timedelta(days=2))
    run_scan_timer(admin)
    rows = reminders_of(database, cid)
    assert [(r.kind, r.addressee_user) for r in rows] == [("annual_review", "am_zhang")]
    task = the_task(admin, rows[0].id)
    assert task["assignee"] == "am_zhang"
    assert candidate_groups(admin, task["id"]) == {"account-managers"}
    # another account manager may not answer it for am_zhang (the engine refuses)
    with pytest.raises(EngineError) as refused:
        as_user("am_li").submit_form(
            task["id"], {"lapse_action": "annual_review_started", "lapse_note": "not mine"}
        )
    assert refused.value.status == 403
    with unit_of_work(database) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Reminder).where(Reminder.customer_id == cid)
            )
            == 1
        )
