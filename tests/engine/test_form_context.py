"""What the perform and review forms are handed, against the real engine with bpmn/ deployed.

The ``prepare_perform_form`` / ``prepare_review_form`` steps read the database right before each
human task: a first inspection's context lists the approval conditions as points to verify, a
routine one shows where each condition stood at the last inspection, a special one says why it
was started; the findings and signals are those the checks recorded (compared with the API's
own view of the inspection). The review's context says "Not applicable" for such a point and
warns where the conclusion contradicts the record; the report's "conditions met" follows the
points.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from helpers import new_loan, start_inspection, task_of, wait_for

from postloan.plans.catalogue import catalogue

pytestmark = pytest.mark.engine

CONDITION = "Funds paid directly to named suppliers"


def new_onsite_loan(api: Any) -> str:
    """An SME loan of 1.5m CNY disbursed 20 days ago: the plan inspects it on site (a micro loan
    of 500k would go to a vendor), with one approval condition."""
    suffix = uuid.uuid4().hex[:8]
    customer_id, loan_id = f"C-{suffix}", f"L-{suffix}"
    r = api.post(
        "/api/v1/customers",
        json={
            "id": customer_id,
            "name": f"Suzhou Weaving {suffix}",
            "segment": "sme",
            "industry": "textiles",
            "branch": "BR-SH-01",
            "account_manager": "am_li",
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
            "disbursed_on": (today - timedelta(days=20)).isoformat(),
            "maturity_on": (today + timedelta(days=700)).isoformat(),
            "purpose": "purchase of cotton yarn",
            "approval_conditions": [CONDITION],
            "collaterals": [
                {"id": f"COL-{suffix}", "kind": "equipment", "value": "2000000", "currency": "CNY"}
            ],
        },
    )
    assert r.status_code == 201, r.text
    return loan_id


def request(api: Any, loan_id: str, kind: str) -> str:
    """An inspection of ``kind`` on the loan; the open one of that kind if one started already
    (registration or the scheduler may have started it)."""
    r = api.post("/api/v1/inspections", json={"loan_id": loan_id, "kind": kind, "reason": "test"})
    if r.status_code == 409:
        found = api.get("/api/v1/inspections", params={"loan_id": loan_id}).json()["items"]
        return next(
            i["id"]
            for i in found
            if i["kind"] == kind and i["status"] in ("requested", "in_progress")
        )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def perform_context(as_user: Any, inspection_id: str) -> tuple[dict, dict]:
    am_li = as_user("am_li")
    task = task_of(am_li, inspection_id, "perform_inspection")
    return task, am_li.task_variables(task["id"])


def answers(items: list[dict], *, in_order: int, not_applicable: int = 0) -> dict:
    codes = [i["code"] for i in items]
    return {
        "items_in_order": codes[:in_order],
        "items_not_applicable": codes[len(codes) - not_applicable :] if not_applicable else [],
        "item_notes": "photos 1-4 in the file",
    }


def complete_after_review(api: Any, as_user: Any, inspection_id: str) -> dict:
    """Approve the review (and confirm an on-site verification if one is drawn); the report."""
    po_chen, po_wang = as_user("po_chen"), as_user("po_wang")
    review = task_of(po_chen, inspection_id, "review_inspection")
    po_chen.claim(review["id"], "po_chen")
    po_chen.submit_form(review["id"], {"review_decision": "approve", "review_comment": "Sound"})

    def done() -> dict | None:
        for visit in po_wang.tasks(
            processInstanceBusinessKey=inspection_id, taskDefinitionKey="onsite_verification"
        ):
            po_wang.claim(visit["id"], "po_wang")
            po_wang.submit_form(
                visit["id"], {"onsite_result": "confirmed", "onsite_findings": "As recorded"}
            )
        body = api.get(f"/api/v1/inspections/{inspection_id}").json()
        return body if body["status"] == "completed" else None

    return wait_for(done, timeout=60, what=f"inspection {inspection_id} to complete")


def check_common(api: Any, settings: Any, inspection_id: str, variables: dict) -> dict:
    """Customer, loan, links and findings as the database and the API have them."""
    context = variables["form_context"]
    detail = api.get(f"/api/v1/inspections/{inspection_id}").json()
    loan = api.get(f"/api/v1/loans/{detail['loan_id']}").json()
    customer = api.get(f"/api/v1/customers/{loan['customer_id']}").json()
    assert context["inspection_id"] == inspection_id
    assert (context["customer_name"], context["loan_id"]) == (customer["name"], loan["id"])
    assert context["amount"] == f"{Decimal(loan['amount']):,.2f} {loan['currency']}"
    assert context["product"] == catalogue().product(loan["product"]).name
    assert context["risk_class_reason"] == loan["classification"]["reason"]
    recorded = {f["code"] for f in detail["findings"] if f["source"] != "onsite_verification"}
    assert {f["code"] for f in context["findings"]} == recorded and recorded
    assert all(f["evidence"] for f in context["findings"]), context["findings"]
    assert [s["signal"] for s in context["signals"]] == [
        s["summary"]
        for s in sorted(
            detail["signals"],
            key=lambda s: (
                ["red", "orange", "yellow", "blue"].index(s["severity"]),
                s["respond_by"],
            ),
        )
    ]
    base = settings.public_api_base
    assert variables["report_url"] == f"{base}/pages/inspections/{inspection_id}"
    assert variables["dossier_url"] == f"{base}/pages/customers/{customer['id']}/dossier"
    return context


def test_first_then_routine_inspection_show_the_approval_conditions(
    workers, api, as_user, settings
) -> None:
    loan_id = new_onsite_loan(api)
    first_id = request(api, loan_id, "first")
    task, variables = perform_context(as_user, first_id)
    context = check_common(api, settings, first_id, variables)
    assert (context["kind"], context["is_special"]) == ("first", False)
    assert context["kind_words"] == "First inspection after disbursement"
    assert context["approval_conditions"] == [
        {"condition": CONDITION, "status": "Verify it below as a point of this inspection"}
    ]
    assert context["days_past_due"] == 0 and context["signals_count"] == len(context["signals"])
    items = variables["inspection_items"]
    assert "approval_condition" in {i["source"] for i in items}

    # Every point in order, the conditions among them; no separate "conditions met" tick.
    am_li = as_user("am_li")
    am_li.submit_form(
        task["id"],
        {
            **answers(items, in_order=len(items)),
            "funds_used_as_agreed": False,
            "business_operating_normally": True,
            "collateral_intact": True,
            "inspection_findings": "Supplier invoices match the drawdown; workshop operating.",
            "inspection_conclusion": "satisfactory",
        },
    )
    report = complete_after_review(api, as_user, first_id)["report"]
    # The points say the conditions were met and the funds used as agreed: so does the report.
    assert report["inspector"]["checklist"]["approval_conditions_met"] is True
    assert report["inspector"]["checklist"]["funds_used_as_agreed"] is True

    routine_id = request(api, loan_id, "routine")
    _, variables = perform_context(as_user, routine_id)
    context = check_common(api, settings, routine_id, variables)
    assert context["kind"] == "routine" and context["has_conditions"] is True
    [condition] = context["approval_conditions"]
    assert condition["condition"] == CONDITION
    assert condition["status"].startswith("In order at the inspection of ")
    assert "approval_condition" not in {i["source"] for i in variables["inspection_items"]}


def test_special_inspection_says_why_and_the_review_warns_of_contradictions(
    workers, api, as_user, settings
) -> None:
    loan_id = new_loan(api, account_manager="am_li", days_overdue=95)
    inspection_id = start_inspection(api, loan_id)
    task, variables = perform_context(as_user, inspection_id)
    context = check_common(api, settings, inspection_id, variables)
    assert (context["kind"], context["is_special"]) == ("special", True)
    detail = api.get(f"/api/v1/inspections/{inspection_id}").json()
    assert context["trigger"].startswith(detail["reason"]) and "overdue" in context["trigger"]
    assert context["days_past_due"] == 95 and context["overdue_amount"] == "25,000.00 CNY"
    assert context["approval_conditions"] == [] and context["has_conditions"] is False
    assert context["red_signals"] >= 1
    overdue = next(f for f in context["findings"] if f["code"] == "REPAYMENT_OVERDUE")
    assert "days past due 95" in overdue["evidence"] and overdue["severity"] == "Red"
    items = variables["inspection_items"]

    # "No concerns" with every point but the first unverified and a red signal open.
    am_li, po_chen = as_user("am_li"), as_user("po_chen")
    am_li.submit_form(
        task["id"],
        {
            **answers(items, in_order=1),
            "inspection_findings": "All fine, the customer promised to pay next week.",
            "inspection_conclusion": "satisfactory",
        },
    )
    review = task_of(po_chen, inspection_id, "review_inspection")
    review_context = po_chen.task_variables(review["id"])["review_context"]
    warnings = review_context["warnings"]
    assert review_context["has_warnings"] is True
    assert any(
        w.startswith(f'The conclusion is "no concerns" but {len(items) - 1} point(s) are not')
        for w in warnings
    ), warnings
    assert any("red signal(s) are open" in w for w in warnings), warnings
    assert [p["result"] for p in review_context["points"]] == ["In order"] + ["Not in order"] * (
        len(items) - 1
    )
    po_chen.claim(review["id"], "po_chen")
    po_chen.submit_form(
        review["id"],
        {
            "review_decision": "rework",
            "review_comment": "The conclusion contradicts the record",
            "rework_reason": "Verify every point; the loan is 95 days past due",
        },
    )

    # Reworked: the last point does not apply, the rest in order, concerns stated.
    again, variables = perform_context(as_user, inspection_id)
    assert again["id"] != task["id"]
    assert variables["form_context"]["trigger"] == context["trigger"]
    am_li.submit_form(
        again["id"],
        {
            **answers(items, in_order=len(items) - 1, not_applicable=1),
            "inspection_findings": "Workshop idle two days a week; orders down by a third.",
            "inspection_conclusion": "serious_concerns",
        },
    )
    review = wait_for(
        lambda: next(
            (
                t
                for t in po_chen.tasks(
                    processInstanceBusinessKey=inspection_id, taskDefinitionKey="review_inspection"
                )
                if t["id"] != review["id"]
            ),
            None,
        ),
        what="the second review",
    )
    review_context = po_chen.task_variables(review["id"])["review_context"]
    points = review_context["points"]
    assert points[-1]["result"] == "Not applicable" and points[-1]["point"] == items[-1]["label"]
    assert all(p["result"] == "In order" for p in points[:-1])
    assert review_context["points_not_applicable"] == 1
    assert not any("no concerns" in w for w in review_context["warnings"])
    assert review_context["conclusion"] == "Serious concerns"
    assert [s["signal"] for s in review_context["signals"]] == [
        s["signal"] for s in context["signals"]
    ]
