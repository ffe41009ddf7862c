"""Camunda Tasklist in a real browser: the forms of bpmn/ as the demo people use them.

Everything is real: the engine jar (its webapps, its four-eyes plugin), the provisioned identities,
authorizations and filters of config/identities.yaml, the workers, the API. Chromium (Debian's
``/usr/bin/chromium``) is driven by Playwright, one fresh browser context per person. The outcome
of every click is checked over REST as well, never only on the screen.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers import new_loan, task_of, wait_for
from helpers import start_inspection as start_inspection_on
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# The demo passwords of config/identities.yaml (embedded default only).
PASSWORDS = {"am_li": "demo-am-li", "lead_hu": "demo-lead-hu", "po_chen": "demo-po-chen"}

#: Screenshots worth keeping for people reading the docs.
DOCS = Path(__file__).resolve().parents[2] / "docs"

FINDINGS = "Visited the workshop; supplier invoices match the drawdown."


# -- data through the API ---------------------------------------------------------------------


def start_inspection(api: Any, account_manager: str) -> str:
    """A customer of ``account_manager``, a performing loan, an inspection started on it."""
    return start_inspection_on(api, new_loan(api, account_manager=account_manager))


# -- Tasklist pages -----------------------------------------------------------------------------


def open_task(page: Any, filter_name: str, task_id: str) -> Any:
    """Select the filter, find the task in the list (newest first), open it; returns its form."""
    link = page.locator(f'ol.tasks-list a[href="#/?task={task_id}"]')
    for attempt in range(3):
        # Selecting the filter (again) reloads its list, as a person would to refresh it.
        page.get_by_role("link", name=re.compile(re.escape(filter_name))).click()
        try:
            expect(link).to_be_visible(timeout=5000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    link.click()
    form = page.locator(".fjs-form")
    # Tasklist shows the form after the task, its form and its variables have loaded: seconds
    # when the machine is busy (measured 4-12 s at a load of 20 on two cores), beyond expect's 5.
    expect(form).to_be_visible(timeout=30_000)
    return form


def complete_button(page: Any) -> Any:
    return page.get_by_role("button", name="Complete", exact=True)


def perform_inspection_in_tasklist(page: Any, task_id: str, inspection_id: str) -> None:
    """Fill bpmn/perform_inspection.form as the account manager and complete the task."""
    form = open_task(page, "My tasks", task_id)
    expect(form).to_contain_text(f"Inspection {inspection_id}")
    checks = {
        "Funds used for the agreed purpose": True,
        "Business operating normally": True,
        "Collateral intact and adequately valued": True,
    }
    # A special inspection has no approval conditions to confirm (the points carry them on a
    # first inspection, the tick only on a routine one): bpmn/perform_inspection.form hides it.
    expect(form.get_by_label("All conditions of the credit approval", exact=False)).to_have_count(0)
    for label in checks:
        expect(form.get_by_label(label, exact=True)).not_to_be_checked()
    for label, ticked in checks.items():
        if ticked:
            form.get_by_label(label, exact=True).check()
    findings = form.get_by_label("Findings")
    expect(findings).to_be_editable()
    findings.fill(FINDINGS)
    # Every inspection point of the checklist (template, use of funds, approval conditions).
    in_order = form.locator(".fjs-form-field-checklist").filter(
        has_text="Points verified and found in order"
    )
    boxes = in_order.get_by_role("checkbox")
    expect(boxes.first).to_be_visible()
    for index in range(boxes.count()):
        boxes.nth(index).check()
    form.get_by_label("Notes on the points").fill("photos 1-4 in the file")
    select = form.locator(".fjs-form-field-select").filter(has_text="Conclusion")
    expect(select).to_contain_text("Conclusion")
    select.locator(".fjs-select-display").click()
    select.locator(".fjs-dropdownlist-item").filter(has_text=re.compile(r"^Concerns$")).click()
    expect(select.locator(".fjs-select-display")).to_have_text("Concerns")
    expect(complete_button(page)).to_be_enabled()
    complete_button(page).click()
    # Completed: Tasklist drops it from the list.
    expect(page.locator(f'ol.tasks-list a[href="#/?task={task_id}"]')).to_have_count(0)


# -- the tests ----------------------------------------------------------------------------------


def test_account_manager_performs_the_inspection_in_tasklist(
    workers, api, as_user, admin, tasklist
) -> None:
    inspection_id = start_inspection(api, "am_li")
    perform = task_of(as_user("am_li"), inspection_id, "perform_inspection")
    assert perform["assignee"] == "am_li"

    page = tasklist("am_li", PASSWORDS["am_li"])
    perform_inspection_in_tasklist(page, perform["id"], inspection_id)

    history = wait_for(
        lambda: [t for t in admin.historic_tasks(taskId=perform["id"]) if t["endTime"]],
        what="perform_inspection to end",
    )
    assert history[0]["deleteReason"] == "completed" and history[0]["assignee"] == "am_li"
    variables = admin.process_variables(perform["processInstanceId"])
    assert variables["inspection_findings"] == FINDINGS
    assert variables["inspection_conclusion"] == "concerns"
    assert variables["funds_used_as_agreed"] is True
    assert variables["collateral_intact"] is True
    assert "approval_conditions_met" not in variables
    assert variables["inspector"] == "am_li"
    codes = [o["value"] for o in variables["inspection_item_options"]]
    assert codes and sorted(variables["items_in_order"]) == sorted(codes)
    task_of(admin, inspection_id, "review_inspection")
    stored = api.get(f"/api/v1/inspections/{inspection_id}").json()["items"]
    assert stored and all(i["result"] == "ok" for i in stored)
    assert "template" in {i["source"] for i in stored}


def test_four_eyes_refusal_is_shown_in_tasklist(workers, api, as_user, admin, tasklist) -> None:
    """lead_hu is in both groups: performs the inspection, then may not take the review."""
    inspection_id = start_inspection(api, "lead_hu")
    lead_hu = as_user("lead_hu")
    perform = task_of(lead_hu, inspection_id, "perform_inspection")

    page = tasklist("lead_hu", PASSWORDS["lead_hu"])
    perform_inspection_in_tasklist(page, perform["id"], inspection_id)

    review = task_of(lead_hu, inspection_id, "review_inspection")
    assert review["assignee"] is None
    form = open_task(page, "My groups' tasks", review["id"])
    expect(form.get_by_label("Performed by")).to_have_value("lead_hu")
    # Unclaimed: Tasklist offers no completion, only the claim.
    expect(complete_button(page)).to_be_disabled()
    page.locator("button.claim").click()

    refusal = page.locator(".page-notifications .alert-danger")
    expect(refusal).to_contain_text("An error happened while claiming the task")
    expect(refusal).to_contain_text(
        "Four-eyes rule: user 'lead_hu' performed this work (inspector)"
    )
    expect(refusal).to_contain_text("assignment refused")
    expect(complete_button(page)).to_be_disabled()

    still_open = admin.tasks(taskId=review["id"])
    assert still_open and still_open[0]["assignee"] is None, still_open
    assert admin.historic_tasks(taskId=review["id"])[0]["endTime"] is None
    # The account manager of the other test is no post-loan officer: the review is not theirs.
    am_li = as_user("am_li")
    assert am_li.tasks(taskId=review["id"]) == []
    assert am_li.tasks(processInstanceBusinessKey=inspection_id) == []


def test_post_loan_officer_reviews_in_tasklist(workers, api, as_user, admin, tasklist) -> None:
    inspection_id = start_inspection(api, "am_li")
    am_li = as_user("am_li")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    am_li.submit_form(
        perform["id"],
        {
            "funds_used_as_agreed": True,
            "business_operating_normally": True,
            "collateral_intact": True,
            "approval_conditions_met": True,
            "inspection_findings": FINDINGS,
            "inspection_conclusion": "satisfactory",
        },
    )
    review = task_of(as_user("po_chen"), inspection_id, "review_inspection")

    page = tasklist("po_chen", PASSWORDS["po_chen"])
    form = open_task(page, "My groups' tasks", review["id"])
    expect(form).to_contain_text(f"Review of inspection {inspection_id}")
    expect(form.get_by_label("Performed by")).to_have_value("am_li")
    expect(form.get_by_label("Findings")).to_have_value(FINDINGS)
    page.locator("button.claim").click()
    expect(page.locator("li.assignee")).to_contain_text("Chen Jie")
    assert wait_for(
        lambda: admin.tasks(taskId=review["id"])[0]["assignee"] == "po_chen",
        what="po_chen to be the assignee",
    )

    form.get_by_label("Approve", exact=True).check()
    expect(form.get_by_label("Reason for rework")).to_have_count(0)
    form.get_by_label("Review comment").fill("Records complete, conclusion sound")
    expect(complete_button(page)).to_be_enabled()
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={review["id"]}"]')).to_have_count(0)

    def completed() -> dict | None:
        body = api.get(f"/api/v1/inspections/{inspection_id}").json()
        return body if body["status"] == "completed" else None

    inspection = wait_for(completed, what="the inspection to complete")
    assert inspection["inspector"] == "am_li" and inspection["reviewer"] == "po_chen"
    assert inspection["report"]["review"] == {
        "reviewer": "po_chen",
        "decision": "approve",
        "comment": "Records complete, conclusion sound",
    }


def review_in_tasklist(page: Any, admin: Any, task_id: str, user: str, decide: Any) -> None:
    """Open the review as a post-loan officer, claim it, let ``decide`` fill it, complete it."""
    form = open_task(page, "My groups' tasks", task_id)
    page.locator("button.claim").click()
    assert wait_for(
        lambda: admin.tasks(taskId=task_id)[0]["assignee"] == user,
        what=f"{user} to be the assignee",
    )
    decide(form)
    expect(complete_button(page)).to_be_enabled()
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={task_id}"]')).to_have_count(0)


def test_officer_returns_for_rework_then_approves_in_tasklist(
    workers, api, as_user, admin, tasklist
) -> None:
    inspection_id = start_inspection(api, "am_li")
    am_li, po_chen = as_user("am_li"), as_user("po_chen")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    am_li.submit_form(
        perform["id"],
        {
            "funds_used_as_agreed": True,
            "business_operating_normally": True,
            "collateral_intact": True,
            "approval_conditions_met": True,
            "inspection_findings": FINDINGS,
            "inspection_conclusion": "satisfactory",
        },
    )
    review = task_of(po_chen, inspection_id, "review_inspection")
    officer = tasklist("po_chen", PASSWORDS["po_chen"])

    def rework(form: Any) -> None:
        # Nothing ticked as in order: the worker computed that prescribed actions are missing.
        expect(form.get_by_label("Points not in order / missing evidence notes")).to_have_value(
            re.compile(r"^Not in order: ")
        )
        expect(
            form.get_by_label("Every prescribed action done, with evidence notes")
        ).not_to_be_checked()
        form.get_by_label("Return for rework", exact=True).check()
        form.get_by_label("Review comment").fill("The points of the template are not verified")
        form.get_by_label("Reason for rework").fill("Verify every point and note the evidence")

    review_in_tasklist(officer, admin, review["id"], "po_chen", rework)

    # The account manager performs again in Tasklist, with the reviewer's reason on the form.
    again = task_of(am_li, inspection_id, "perform_inspection")
    assert am_li.task_variables(again["id"])["rework_count"] == 1
    manager = tasklist("am_li", PASSWORDS["am_li"])
    form = open_task(manager, "My tasks", again["id"])
    expect(form.get_by_label("Returned for rework — reason given by the reviewer")).to_have_value(
        "Verify every point and note the evidence"
    )
    in_order = form.locator(".fjs-form-field-checklist").filter(
        has_text="Points verified and found in order"
    )
    boxes = in_order.get_by_role("checkbox")
    expect(boxes.first).to_be_visible()
    for index in range(boxes.count()):
        boxes.nth(index).check()
    form.get_by_label("Notes on the points").fill("photos 1-4 in the file")
    expect(complete_button(manager)).to_be_enabled()
    complete_button(manager).click()
    expect(manager.locator(f'ol.tasks-list a[href="#/?task={again["id"]}"]')).to_have_count(0)

    review = task_of(po_chen, inspection_id, "review_inspection")

    def approve(form: Any) -> None:
        expect(
            form.get_by_label("Every prescribed action done, with evidence notes")
        ).to_be_checked()
        form.get_by_label("Approve", exact=True).check()
        expect(form.get_by_label("Reason for rework")).to_have_count(0)
        form.get_by_label("Review comment").fill("All points verified now")

    officer.reload()
    review_in_tasklist(officer, admin, review["id"], "po_chen", approve)

    def completed() -> dict | None:
        body = api.get(f"/api/v1/inspections/{inspection_id}").json()
        return body if body["status"] == "completed" else None

    inspection = wait_for(completed, what="the inspection to complete")
    assert inspection["rework_count"] == 1 and inspection["report"]["rework_count"] == 1
    assert inspection["report"]["review"]["decision"] == "approve"
    assert all(i["result"] == "ok" for i in inspection["report"]["items"])


def test_a_supervisor_reassigns_in_tasklist_within_the_candidates_only(
    workers, api, as_user, admin, tasklist
) -> None:
    """am_li is away: the supervisor gives her inspection to am_zhang, not to a post-loan officer."""
    inspection_id = start_inspection(api, "am_li")
    perform = task_of(as_user("am_li"), inspection_id, "perform_inspection")
    assert perform["assignee"] == "am_li"

    page = tasklist("sv_ma", "demo-sv-ma")
    open_task(page, "Team's open tasks", perform["id"])
    header = page.locator(".task-details")

    def reassign(user: str) -> None:
        header.locator("li.assignee span.set-value").click()
        field = header.locator("li.assignee input")
        field.fill(user)
        field.press("Enter")

    reassign("po_chen")
    refusal = page.locator(".page-notifications .alert-danger")
    expect(refusal).to_contain_text("Task ownership: user 'sv_ma'")
    expect(refusal).to_contain_text("user 'po_chen' is not among those who may hold this task")
    page.screenshot(path=str(DOCS / "tasklist-supervisor-reassign-refused.png"))
    assert admin.call("GET", f"/task/{perform['id']}")["assignee"] == "am_li"

    page.reload()
    open_task(page, "Team's open tasks", perform["id"])
    reassign("am_zhang")
    expect(header.locator("li.assignee")).to_contain_text("Zhang Min")
    wait_for(
        lambda: admin.call("GET", f"/task/{perform['id']}")["assignee"] == "am_zhang",
        what="the reassignment",
    )
    page.screenshot(path=str(DOCS / "tasklist-supervisor-reassigned.png"))
    log = admin.call(
        "GET",
        "/history/user-operation",
        params={"taskId": perform["id"], "operationType": "Assign"},
    )
    assert any(e["userId"] == "sv_ma" and e["newValue"] == "am_zhang" for e in log), log
    # The supervisor hands work on but does none: the form offers him no completion.
    expect(complete_button(page)).to_be_disabled()
