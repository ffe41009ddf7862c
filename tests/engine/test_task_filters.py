"""The Tasklist filters of config/identities.yaml as provisioned into the real engine: who sees
which filter (filter authorizations), and what each filter's list holds for the person who opens
it (``/filter/{id}/list``, what Tasklist shows), with tasks whose due dates and signals are set
for the purpose."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from helpers import PERFORM, new_loan, onsite_loan, start_inspection, task_of

from gateway import processes
from gateway.engine import EngineError, EngineGateway
from gateway.provision import load_identities
from postloan.db import unit_of_work

pytestmark = pytest.mark.engine

ROLE_FILTERS = ("Due this week", "Overdue", "Red signals", "Waiting for my review")


@pytest.fixture(scope="module")
def api_engine(provisioned) -> EngineGateway:  # noqa: ANN001
    return EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )


def filters_of(person: EngineGateway) -> dict[str, str]:
    """name -> id of the filters the person may read."""
    return {
        f["name"]: f["id"] for f in person.call("GET", "/filter", params={"resourceType": "Task"})
    }


def listed(person: EngineGateway, name: str) -> set[str]:
    """The ids of the tasks the filter lists for the person."""
    filter_id = filters_of(person)[name]
    tasks = person.call("POST", f"/filter/{filter_id}/list", params={"maxResults": 2000}, json={})
    return {t["id"] for t in tasks}


def inspection_due(database: str, engine: EngineGateway, api: Any, due_on: date) -> str:
    """A routine inspection of a new loan of am_li, due on ``due_on``."""
    loan_id = onsite_loan(api, "am_li")
    with unit_of_work(database) as session:
        return processes.start_planned_inspection(
            session,
            engine,
            loan_id=loan_id,
            kind="routine",
            reason="filter test",
            actor="test",
            due_on=due_on,
            mode="on_site",
        ).id


def test_each_filter_is_visible_to_the_groups_it_serves(provisioned, as_user) -> None:
    spec = load_identities(provisioned.identities_file)
    configured = {f["name"]: f.get("groups") for f in spec["filters"]}
    assert set(ROLE_FILTERS) <= set(configured)
    members = {p["id"]: set(p["groups"]) for p in spec["demo_users"]}
    for person in ("am_li", "po_chen", "cm_liu", "ca_zhao", "au_sun", "vd_fieldco", "sv_ma"):
        seen = set(filters_of(as_user(person)))
        expected = {
            name
            for name, groups in configured.items()
            if groups is None or members[person] & set(groups)
        }
        assert seen == expected, person
    assert "Waiting for my review" in filters_of(as_user("po_chen"))
    assert "Waiting for my review" not in filters_of(as_user("am_li"))
    # visibility is the filter's authorization, not only the list Tasklist shows
    review_filter = filters_of(as_user("po_chen"))["Waiting for my review"]
    with pytest.raises(EngineError) as refused:
        as_user("am_li").call("GET", f"/filter/{review_filter}")
    assert refused.value.status == 403


def test_due_this_week_and_overdue_list_the_tasks_by_their_due_dates(
    workers, api, api_engine, as_user, database
) -> None:
    am_li = as_user("am_li")
    today = date.today()
    overdue = inspection_due(database, api_engine, api, today - timedelta(days=2))
    due_today = inspection_due(database, api_engine, api, today)
    this_week = inspection_due(database, api_engine, api, today + timedelta(days=4))
    later = inspection_due(database, api_engine, api, today + timedelta(days=30))
    task = {
        i: task_of(am_li, i, "perform_inspection")["id"]
        for i in (overdue, due_today, this_week, later)
    }

    due_soon = listed(am_li, "Due this week")
    assert {task[due_today], task[this_week]} <= due_soon
    assert not {task[overdue], task[later]} & due_soon
    past = listed(am_li, "Overdue")
    assert task[overdue] in past
    assert not {task[due_today], task[this_week], task[later]} & past
    # am_li's tasks are not in another account manager's lists
    am_zhang = as_user("am_zhang")
    assert not set(task.values()) & (
        listed(am_zhang, "Due this week") | listed(am_zhang, "Overdue")
    )


def test_red_signals_lists_the_tasks_of_loans_with_a_red_signal(
    workers, api, admin, as_user
) -> None:
    am_li = as_user("am_li")
    troubled = start_inspection(api, new_loan(api, account_manager="am_li", days_overdue=95))
    clean = start_inspection(api, onsite_loan(api, "am_li"))
    red_task = task_of(am_li, troubled, "perform_inspection")
    clean_task = task_of(am_li, clean, "perform_inspection")
    assert admin.task_variables(red_task["id"])["max_severity"] == "red"
    assert admin.task_variables(clean_task["id"])["max_severity"] != "red"

    red = listed(am_li, "Red signals")
    assert red_task["id"] in red and clean_task["id"] not in red
    # a colleague's own task is not in another account manager's list
    assert red_task["id"] not in listed(as_user("am_zhang"), "Red signals")


def test_waiting_for_my_review_lists_review_work_of_my_groups_and_mine(
    workers, api, api_engine, as_user, database
) -> None:
    am_li, po_chen, po_wang = as_user("am_li"), as_user("po_chen"), as_user("po_wang")
    first = inspection_due(database, api_engine, api, date.today() + timedelta(days=3))
    second = inspection_due(database, api_engine, api, date.today() + timedelta(days=3))
    reviews = []
    for inspection_id in (first, second):
        perform = task_of(am_li, inspection_id, "perform_inspection")
        items = am_li.task_variables(perform["id"])["inspection_items"]
        am_li.submit_form(perform["id"], {**PERFORM, "items_in_order": [i["code"] for i in items]})
        reviews.append(task_of(po_chen, inspection_id, "review_inspection")["id"])
    pending = task_of(
        am_li, inspection_due(database, api_engine, api, date.today()), "perform_inspection"
    )

    waiting = listed(po_chen, "Waiting for my review")
    assert set(reviews) <= waiting and pending["id"] not in waiting
    # once po_wang claims one, it waits for po_wang's review, no longer po_chen's
    po_wang.claim(reviews[1], "po_wang")
    assert reviews[0] in listed(po_chen, "Waiting for my review")
    assert reviews[1] not in listed(po_chen, "Waiting for my review")
    assert reviews[1] in listed(po_wang, "Waiting for my review")
