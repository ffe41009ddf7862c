"""The perform and review forms in Camunda Tasklist, read as the bank's staff read them.

A loan 95 days past due gets its special inspection from the repayment trigger; the automated
checks find the overdue and raise a red signal. The account manager's form must show who the
customer is, the loan, the class and why, what the checks found with their numbers, the open
signals and why the inspection was started; the post-loan officer's form must show the point the
inspector marked not applicable as "Not applicable", the signals, and a warning that "no
concerns" contradicts the record. Screenshots of both go to docs/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import new_loan, sign_in_to_tasklist, start_inspection, task_of, wait_for
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORDS = {"am_li": "demo-am-li", "po_chen": "demo-po-chen"}
DOCS = Path(__file__).resolve().parents[2] / "docs"
FINDINGS = "Visited the workshop: machines idle two days a week, stock as recorded."


#: Tasklist's first page load and the form's rendering wait on the engine; on a busy machine
#: (the suite's engines and browsers share two cores) both take longer than Playwright's 5 s.
PAGE_MS = 60_000


@pytest.fixture
def person(chromium_browser: Any, tasklist_url: str) -> Iterator[Callable[[str], Any]]:
    """``person(user)``: a page logged in to Tasklist as ``user`` in a fresh browser context."""
    contexts: list[Any] = []

    def login(user: str) -> Any:
        context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(PAGE_MS)
        contexts.append(context)
        page = context.new_page()
        sign_in_to_tasklist(page, tasklist_url, user, PASSWORDS[user], PAGE_MS)
        return page

    expect.set_options(timeout=PAGE_MS)  # for this test's checks only; restored below
    try:
        yield login
    finally:
        expect.set_options(timeout=5_000)
        for context in contexts:
            context.close()


def open_task(page: Any, filter_name: str, task_id: str) -> Any:
    link = page.locator(f'ol.tasks-list a[href="#/?task={task_id}"]')
    for attempt in range(3):
        page.get_by_role("link", name=re.compile(re.escape(filter_name))).click()
        try:
            expect(link).to_be_visible(timeout=PAGE_MS / 3)
            break
        except AssertionError:
            if attempt == 2:
                raise
    link.click()
    form = page.locator(".fjs-form")
    expect(form).to_be_visible(timeout=PAGE_MS)
    return form


def complete_button(page: Any) -> Any:
    return page.get_by_role("button", name="Complete", exact=True)


def screenshot(page: Any, name: str) -> None:
    """The task as a person sees it, the whole form: the window made as tall as the form (the
    task pane scrolls inside the page, so a full-page shot would stop at the first screen)."""
    height = page.evaluate("document.querySelector('.fjs-form').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 500, 6000)})
    page.wait_for_timeout(300)  # Tasklist re-lays out the panes after the resize
    page.locator(".task-details").screenshot(path=str(DOCS / name))
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_perform_and_review_forms_show_what_the_job_needs(
    workers, api, as_user, admin, person
) -> None:
    loan_id = new_loan(api, account_manager="am_li", days_overdue=95)
    inspection_id = start_inspection(api, loan_id)
    am_li = as_user("am_li")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    context = am_li.task_variables(perform["id"])["form_context"]
    customer = api.get(f"/api/v1/customers/{context['customer_id']}").json()
    red = [s for s in context["signals"] if s["raw_severity"] == "red"]
    assert red, context["signals"]
    overdue = next(f for f in context["findings"] if f["code"] == "REPAYMENT_OVERDUE")

    page = person("am_li")
    form = open_task(page, "My tasks", perform["id"])
    expect(form).to_contain_text(f"Special inspection of loan {loan_id} for {customer['name']}")
    expect(form).to_contain_text("Why this special inspection was started")
    expect(form).to_contain_text("New overdue")
    expect(form).to_contain_text("500,000.00 CNY")
    expect(form).to_contain_text("Micro-enterprise operating loan")
    expect(form).to_contain_text("Days past due")
    findings_table = form.locator(".fjs-form-field-table").filter(
        has_text="Check results with their evidence"
    )
    expect(findings_table).to_contain_text(overdue["finding"])
    expect(findings_table).to_contain_text("days past due 95")
    signals_table = form.locator(".fjs-form-field-table").filter(has_text="Signals to respond to")
    expect(signals_table).to_contain_text(red[0]["signal"])
    expect(signals_table).to_contain_text("Red")
    report_link = form.get_by_role("link", name="Open the inspection report")
    expect(report_link).to_have_attribute(
        "href", re.compile(rf"/pages/inspections/{inspection_id}$")
    )
    expect(form.get_by_role("link", name="Open the customer's credit dossier")).to_have_attribute(
        "href", re.compile(rf"/pages/customers/{customer['id']}/dossier$")
    )
    # A special inspection has no approval conditions to confirm.
    expect(form.get_by_label("All conditions of the credit approval", exact=False)).to_have_count(0)
    screenshot(page, "form-perform-inspection.png")

    # Every point in order but the last, which does not apply; conclusion "no concerns".
    in_order = form.locator(".fjs-form-field-checklist").filter(
        has_text="Points verified and found in order"
    )
    boxes = in_order.get_by_role("checkbox")
    expect(boxes.first).to_be_visible()
    count = boxes.count()
    for index in range(count - 1):
        boxes.nth(index).check()
    not_applicable = form.locator(".fjs-form-field-checklist").filter(
        has_text="Points not applicable to this loan"
    )
    not_applicable.get_by_role("checkbox").nth(count - 1).check()
    form.get_by_label("Notes on the points").fill("photos 1-4 in the file")
    form.get_by_label("Findings").fill(FINDINGS)
    select = form.locator(".fjs-form-field-select").filter(has_text="Conclusion")
    select.locator(".fjs-select-display").click()
    select.locator(".fjs-dropdownlist-item").filter(has_text="Satisfactory").click()
    expect(complete_button(page)).to_be_enabled()
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={perform["id"]}"]')).to_have_count(0)

    po_chen = as_user("po_chen")
    review = task_of(po_chen, inspection_id, "review_inspection")
    review_context = po_chen.task_variables(review["id"])["review_context"]
    items = am_li_items = api.get(f"/api/v1/inspections/{inspection_id}").json()["items"]
    assert items[-1]["result"] == "not_applicable", am_li_items

    officer = person("po_chen")
    form = open_task(officer, "My groups' tasks", review["id"])
    points = form.locator(".fjs-form-field-table").filter(has_text="Each point and its result")
    last_row = points.locator("tbody tr").filter(has_text=items[-1]["label"])
    expect(last_row).to_contain_text("Not applicable")
    expect(points.locator("tbody tr").first).to_contain_text("In order")
    expect(form).to_contain_text("The conclusion contradicts the record")
    expect(form).to_contain_text('The conclusion is "no concerns" but 1 red signal(s) are open')
    signals = form.locator(".fjs-form-field-table").filter(has_text="Signals")
    expect(signals.first).to_contain_text(red[0]["signal"])
    assert review_context["warnings"], review_context
    screenshot(officer, "form-review-inspection.png")

    wait_for(lambda: admin.tasks(taskId=review["id"]), what="the review to stay open")
