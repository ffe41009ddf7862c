"""A lapse prevented in Camunda Tasklist, in a real browser: the daily reminder scan finds a
customer's credit rating about to lapse and opens a ``prevent_lapse`` task for the credit
managers; cm_liu opens it from her group's tasks, reads what lapses when, claims it, records the
renewed rating with its new date and completes it. The outcome is checked over REST: the
reminder is done by cm_liu and the customer's rating is valid until the new date. The form's
screenshot goes to docs/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import wait_for
from playwright.sync_api import expect

from tests.browser.test_forms import screenshot
from tests.browser.test_tasklist import complete_button, open_task
from tests.reminders.test_reminders_engine import (
    RULES,
    TODAY,
    new_customer,
    reminders_of,
    run_scan_timer,
    the_task,
)

pytestmark = pytest.mark.browser

NOTE = "Rating committee 2026/31: BBB confirmed"


def test_a_credit_manager_prevents_a_rating_lapse_in_tasklist(
    workers, api, admin, database, tasklist
) -> None:
    lapses_on = TODAY + timedelta(days=RULES["rating_expiry"].lead_for(None, "sme") - 1)
    far = TODAY + timedelta(days=400)
    cid = new_customer(api, "am_li", rating_valid_until=lapses_on, annual_review_due_on=far)
    run_scan_timer(admin)
    [reminder] = reminders_of(database, cid)
    task = the_task(admin, reminder.id)
    customer = api.get(f"/api/v1/customers/{cid}").json()

    page = tasklist("cm_liu", "demo-cm-liu")
    form = open_task(page, "My groups' tasks", task["id"])
    expect(form).to_contain_text(customer["name"])
    expect(form).to_contain_text(cid)
    label = RULES["rating_expiry"].label
    expect(form).to_contain_text(f"{label} on {lapses_on.isoformat()}")
    expect(form).not_to_contain_text("Not recorded")
    screenshot(page, "form-prevent-lapse.png")

    page.locator("button.claim").click()
    assert wait_for(
        lambda: admin.tasks(taskId=task["id"])[0]["assignee"] == "cm_liu",
        what="cm_liu to be the assignee",
    )
    select = form.locator(".fjs-form-field-select").filter(has_text="What was done")
    select.locator(".fjs-select-display").click()
    select.locator(".fjs-dropdownlist-item").filter(
        has_text=re.compile(r"^Credit rating renewed$")
    ).click()
    renewed = lapses_on + timedelta(days=365)
    date_input = form.get_by_role("textbox", name="New date (optional)")
    date_input.fill(renewed.strftime("%m/%d/%Y"))
    date_input.press("Enter")
    form.get_by_role("textbox", name=re.compile(r"^Note")).fill(NOTE)
    expect(complete_button(page)).to_be_enabled()
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={task["id"]}"]')).to_have_count(0)

    done = wait_for(
        lambda: next(
            (
                i
                for i in api.get("/api/v1/reminders", params={"customer_id": cid}).json()["items"]
                if i["state"] == "done"
            ),
            None,
        ),
        timeout=60,
        what="the reminder to be done",
    )
    assert (done["kind"], done["done_by"]) == ("rating_expiry", "cm_liu")
    [row] = reminders_of(database, cid)
    assert (row.action_taken, row.action_note, row.new_due_on) == (
        "rating_renewed",
        NOTE,
        renewed,
    )
    assert api.get(f"/api/v1/customers/{cid}").json()["rating_valid_until"] == renewed.isoformat()
