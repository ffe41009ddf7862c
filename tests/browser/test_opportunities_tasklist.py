"""Business opportunities in Camunda Tasklist, in a real browser: the account manager ticks a
business need on the perform form and notes what the customer said; it appears at
GET /opportunities; when its follow-up falls due the account manager records it won in Tasklist.
Every click's outcome is checked over REST too. The follow-up form's screenshot goes to docs/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import new_loan, start_inspection, task_of, wait_for
from playwright.sync_api import expect

from tests.browser.test_forms import screenshot
from tests.browser.test_tasklist import (
    FINDINGS,
    PASSWORDS,
    complete_button,
    open_task,
)

pytestmark = pytest.mark.browser

NOTE = "Plans a second workshop next spring, about 2m CNY"


def _perform_with_a_business_need(page: Any, task_id: str, inspection_id: str) -> None:
    form = open_task(page, "My tasks", task_id)
    expect(form).to_contain_text(f"Inspection {inspection_id}")
    for label in ("Funds used for the agreed purpose", "Business operating normally"):
        form.get_by_label(label, exact=True).check()
    form.get_by_label("Findings").fill(FINDINGS)
    in_order = form.locator(".fjs-form-field-checklist").filter(
        has_text="Points verified and found in order"
    )
    boxes = in_order.get_by_role("checkbox")
    expect(boxes.first).to_be_visible()
    for index in range(boxes.count()):
        boxes.nth(index).check()
    select = form.locator(".fjs-form-field-select").filter(has_text="Conclusion")
    select.locator(".fjs-select-display").click()
    select.locator(".fjs-dropdownlist-item").filter(has_text=re.compile(r"^Satisfactory$")).click()

    # The business needs: the note field shows only once its need is ticked.
    note = form.get_by_label("New credit: what the customer said")
    expect(note).to_have_count(0)
    needs = form.locator(".fjs-form-field-checklist").filter(has_text="Business needs mentioned")
    needs.get_by_label("New credit", exact=True).check()
    expect(note).to_be_visible()
    note.fill(NOTE)
    expect(form.get_by_label("Payroll services: what the customer said")).to_have_count(0)

    expect(complete_button(page)).to_be_enabled()
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={task_id}"]')).to_have_count(0)


def test_account_manager_captures_a_need_and_records_its_follow_up_in_tasklist(
    workers, api, as_user, admin, tasklist
) -> None:
    loan_id = new_loan(api, account_manager="am_li")
    customer_id = api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]
    inspection_id = start_inspection(api, loan_id)
    am_li = as_user("am_li")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    page = tasklist("am_li", PASSWORDS["am_li"])
    _perform_with_a_business_need(page, perform["id"], inspection_id)

    found = wait_for(
        lambda: api.get("/api/v1/opportunities", params={"customer_id": customer_id}).json()[
            "items"
        ],
        what="the opportunity",
    )
    assert [(o["kind"], o["note"], o["owner"]) for o in found] == [("new_credit", NOTE, "am_li")]
    opportunity_id = found[0]["id"]

    # The follow-up date reached: its timer job executed now.
    instance = wait_for(
        lambda: next(
            iter(
                admin.call(
                    "GET",
                    "/process-instance",
                    params={
                        "processDefinitionKey": "opportunity_follow_up",
                        "businessKey": str(opportunity_id),
                    },
                )
                or []
            ),
            None,
        ),
        what="the follow-up instance",
    )
    job = wait_for(
        lambda: next(
            iter(admin.call("GET", "/job", params={"processInstanceId": instance["id"]}) or []),
            None,
        ),
        what="the follow-up timer",
    )
    admin.call("POST", f"/job/{job['id']}/execute")
    task = wait_for(
        lambda: next(
            iter(
                am_li.tasks(
                    processInstanceBusinessKey=str(opportunity_id),
                    taskDefinitionKey="follow_up_opportunity",
                )
            ),
            None,
        ),
        what="follow_up_opportunity",
    )

    form = open_task(page, "My tasks", task["id"])
    expect(form).to_contain_text(NOTE)
    screenshot(page, "form-follow-up-opportunity.png")
    # "Still open" asks for the new date; won does not.
    form.get_by_label("Still open — follow up again on a new date").check()
    expect(form.get_by_role("textbox", name="Follow up again on")).to_be_visible()
    form.get_by_label("Won — the customer took the product").check()
    expect(form.get_by_role("textbox", name="Follow up again on")).to_have_count(0)
    form.get_by_label("Note").fill("Second line signed")
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={task["id"]}"]')).to_have_count(0)

    won = wait_for(
        lambda: (lambda o: o if o["outcome"] == "won" else None)(
            api.get(f"/api/v1/opportunities/{opportunity_id}").json()
        ),
        what="the won outcome",
    )
    assert (won["outcome_by"], won["outcome_note"]) == ("am_li", "Second line signed")
