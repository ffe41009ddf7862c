"""An account manager's inbox in Camunda Tasklist: each card says which inspection of which
customer's loan it is, with its due date (the names, due dates and priorities of
config/tasks.yaml and bpmn/, the filters of config/identities.yaml).

Real engine, workers, API and Chromium; what the screen shows is checked against the engine's
tasks over REST. The screenshot is kept in docs/ for readers of the documentation.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import task_of
from playwright.sync_api import expect

from gateway import processes
from gateway.variables import parse_date
from postloan.db import unit_of_work

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCREENSHOT = DOCS / "tasklist-account-manager-inbox.png"
#: Tasklist under load answers in seconds, not milliseconds
WAIT = 15_000
PASSWORD = {"am_zhang": "demo-am-zhang"}

#: an account manager's customers: name, disbursed days ago, and any inspection besides the
#: first one that registering the loan starts (kind, due in days: negative is overdue)
CUSTOMERS = [
    ("Wuxi Textile Co.", 20, ("special", 0)),
    ("Suzhou Precision Parts Ltd.", 10, None),
    ("Hangzhou Tea Traders", 25, None),
    ("Nantong Logistics Ltd.", 40, ("routine", -3)),
]


def customer_with_loan(api: Any, name: str, account_manager: str, disbursed_ago: int) -> str:
    """An SME customer of ``account_manager`` and a loan inspected on site (balance 1m-3m CNY):
    registering it requests its first inspection."""
    suffix = uuid.uuid4().hex[:6].upper()
    customer_id, loan_id = f"C-{suffix}", f"L-{suffix}"
    r = api.post(
        "/api/v1/customers",
        json={
            "id": customer_id,
            "name": name,
            "segment": "sme",
            "industry": "textiles",
            "branch": "BR-SH-01",
            "account_manager": account_manager,
            "credit_rating": "BBB",
        },
    )
    assert r.status_code == 201, r.text
    today = date.today()
    r = api.post(
        "/api/v1/loans",
        json={
            "id": loan_id,
            "customer_id": customer_id,
            "product": "SME-WORKING-CAPITAL",
            "amount": "1500000.00",
            "currency": "CNY",
            "disbursed_on": (today - timedelta(days=disbursed_ago)).isoformat(),
            "maturity_on": (today + timedelta(days=500)).isoformat(),
            "purpose": "working capital",
            "approval_conditions": ["Funds paid directly to named suppliers"],
            "collaterals": [],
        },
    )
    assert r.status_code == 201, r.text
    return loan_id


def select_filter(page: Any, name: str) -> None:
    """Click a filter in the list; the description tooltip of the one clicked before (shown
    above it while the pointer rests there) must be gone first, or it takes the click."""
    page.mouse.move(900, 700)
    expect(page.locator(".tooltip.in")).to_have_count(0, timeout=WAIT)
    page.get_by_role("link", name=re.compile(re.escape(name))).click()


def card_of(page: Any, task: dict) -> Any:
    return page.locator("ol.tasks-list > li").filter(
        has=page.locator(f'a[href="#/?task={task["id"]}"]')
    )


def test_account_manager_sees_what_each_task_is_and_when_it_is_due(
    workers, api, admin, as_user, database, tasklist
) -> None:
    # am_zhang: the other tests of the session leave their tasks with am_li
    loans = []
    extra = {}
    for name, disbursed_ago, more in CUSTOMERS:
        loan_id = customer_with_loan(api, name, "am_zhang", disbursed_ago)
        loans.append((name, loan_id))
        if more is not None:
            kind, due_in = more
            with unit_of_work(database) as session:
                extra[kind] = processes.start_planned_inspection(
                    session,
                    admin,
                    loan_id=loan_id,
                    kind=kind,
                    reason="Serious external event: litigation" if kind == "special" else "plan",
                    actor="test",
                    due_on=date.today() + timedelta(days=due_in),
                    mode="on_site",
                ).id
    am_zhang = as_user("am_zhang")
    inspections = [
        (name, loan_id, i["id"])
        for name, loan_id in loans
        for i in api.get("/api/v1/inspections", params={"loan_id": loan_id}).json()["items"]
    ]
    assert len(inspections) >= len(CUSTOMERS) + len(extra)
    tasks = {i: task_of(am_zhang, i, "perform_inspection") for *_, i in inspections}

    page = tasklist("am_zhang", PASSWORD["am_zhang"])
    select_filter(page, "My tasks")
    for name, loan_id, inspection_id in inspections:
        task = tasks[inspection_id]
        assert name in task["name"] and loan_id in task["name"], task["name"]
        card = card_of(page, task)
        expect(card).to_contain_text(task["name"], timeout=WAIT)
        # every card carries its due date (the engine's, from the inspection's due day)
        assert task["due"], task
        expect(card.locator(".due-date")).to_be_visible(timeout=WAIT)
    special = tasks[extra["special"]]
    assert special["name"].startswith("Special inspection · Wuxi Textile Co.")
    assert special["priority"] == max(t["priority"] for t in tasks.values())
    assert parse_date(special["due"]).date() == date.today()
    overdue = tasks[extra["routine"]]
    assert overdue["name"].startswith("Routine inspection · Nantong Logistics Ltd.")
    # Tasklist marks the overdue one (its due date is past), not the one due tonight
    overdue_due = card_of(page, overdue).locator(".due-date")
    expect(overdue_due).to_have_class(re.compile(r"\boverdue\b"), timeout=WAIT)
    expect(overdue_due).to_contain_text("ago", timeout=WAIT)
    expect(card_of(page, special).locator(".due-date")).not_to_have_class(
        re.compile(r"\boverdue\b"), timeout=WAIT
    )

    # the overdue one is in "Overdue", the special one (due tonight) in "Due this week"
    select_filter(page, "Overdue")
    expect(card_of(page, overdue)).to_be_visible(timeout=WAIT)
    expect(card_of(page, special)).to_have_count(0, timeout=WAIT)
    select_filter(page, "Due this week")
    expect(card_of(page, special)).to_be_visible(timeout=WAIT)
    expect(card_of(page, overdue)).to_have_count(0, timeout=WAIT)

    select_filter(page, "My tasks")
    expect(card_of(page, special)).to_be_visible(timeout=WAIT)
    page.locator(f'ol.tasks-list a[href="#/?task={special["id"]}"]').click()
    expect(page.locator(".fjs-form")).to_be_visible(timeout=WAIT)
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
