"""Risk signal handling in Camunda Tasklist, in a real browser: the account manager answers a
signal task (a false positive without a reason comes back with the error shown), then a
post-loan officer confirms the answer. Every click's outcome is checked over REST too.
Screenshots of both forms go to docs/."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import wait_for
from playwright.sync_api import expect

from tests.browser.test_forms import screenshot
from tests.browser.test_tasklist import PASSWORDS, complete_button, open_task
from tests.signals.test_signal_handling_engine import (
    CONFIRM,
    customer_with_loan,
    raise_signal,
    the_task,
)

pytestmark = pytest.mark.browser

REASON = "Seasonal: this quarter's revenue is low every year"


def _tick(form: Any, checklist: str, option: str) -> None:
    box = form.locator(".fjs-form-field-checklist").filter(has_text=checklist)
    box.get_by_label(option, exact=True).check()


def test_account_manager_answers_a_signal_and_an_officer_confirms_it_in_tasklist(
    workers, api, admin, database, tasklist
) -> None:
    customer_id, loan_id = customer_with_loan(database, account_manager="am_li")
    signal_id = raise_signal(database, customer_id, loan_id, "REVENUE_DROP_30")  # orange, AM
    option = f"#{signal_id} ORANGE REVENUE_DROP_30 · {loan_id}"
    task = the_task(admin, customer_id)
    assert task["assignee"] == "am_li" and "1 signal" in task["name"]

    page = tasklist("am_li", PASSWORDS["am_li"])
    form = open_task(page, "My tasks", task["id"])
    expect(form).to_contain_text("Risk signals of")
    expect(form.get_by_label("Signals to answer", exact=True)).to_have_value(
        re.compile("REVENUE_DROP_30")
    )
    expect(form).not_to_contain_text("Not recorded")
    screenshot(page, "form-respond-to-signals.png")
    _tick(form, "False positive", option)
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={task["id"]}"]')).to_have_count(0)

    # Without a reason nothing is recorded: the task comes back saying why, the tick kept.
    again = the_task(admin, customer_id, other_than=task["id"])
    form = open_task(page, "My tasks", again["id"])
    expect(form).to_contain_text("a false positive needs a reason")
    assert api.get(f"/api/v1/signals/{signal_id}").json()["response_kind"] is None
    false_positive = form.locator(".fjs-form-field-checklist").filter(has_text="False positive")
    expect(false_positive.get_by_label(option, exact=True)).to_be_checked()
    form.get_by_label(re.compile("Why they are false positives")).fill(REASON)
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={again["id"]}"]')).to_have_count(0)

    confirm = the_task(admin, customer_id, CONFIRM)
    officer = tasklist("po_chen", PASSWORDS["po_chen"])
    form = open_task(officer, "My groups' tasks", confirm["id"])
    expect(form).to_contain_text("Answered by am_li")
    expect(form.get_by_label("Signals and their responses")).to_have_value(re.compile(REASON))
    # the kind of answer in words (config/signal_handling.yaml response_labels), not its code
    expect(form.get_by_label("Signals and their responses")).to_have_value(
        re.compile("False positive by am_li")
    )
    screenshot(officer, "form-confirm-signal-response.png")
    officer.locator("button.claim").click()
    assert wait_for(
        lambda: admin.tasks(taskId=confirm["id"])[0]["assignee"] == "po_chen",
        what="po_chen to be the assignee",
    )
    form.get_by_label("Approve: the responses are adequate").check()
    form.get_by_label("Comment").fill("Agreed, seasonal")
    expect(complete_button(officer)).to_be_enabled()
    complete_button(officer).click()
    expect(officer.locator(f'ol.tasks-list a[href="#/?task={confirm["id"]}"]')).to_have_count(0)

    signal = wait_for(
        lambda: (s := api.get(f"/api/v1/signals/{signal_id}").json())["status"] == "resolved" and s,
        what="the signal to be resolved",
    )
    assert (signal["response_kind"], signal["responded_by"], signal["confirmed_by"]) == (
        "false_positive",
        "am_li",
        "po_chen",
    )
    assert signal["resolution"] == f"false positive: {REASON}"
