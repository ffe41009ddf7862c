"""Due-diligence review in Camunda Tasklist, in a real browser: a credit manager deliberates on
the form that shows the evidence and the rules' proposal with its reasons; the same credit
manager is refused the determination by the engine (four eyes) as Tasklist shows it; a second
credit manager determines. Both forms' screenshots go to docs/.

The loan has a history a credit manager can weigh: its first inspection done on time by the
account manager and reviewed by a post-loan officer, the routine inspection after it done 16
days late, an instalment unpaid for 100 days now (the loan turns substandard: the review starts),
in a branch whose other new loans perform (its NPL ratio of new loans is tolerated). The rules
propose reduced accountability, and the credit managers' words say what the evidence shows."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from helpers import DEMO_PASSWORDS, task_of, wait_for
from playwright.sync_api import expect

from postloan.customers import service as customers
from postloan.db import unit_of_work
from postloan.inspections import service as inspections
from postloan.inspections.form_context import day_in_words
from postloan.inspections.models import Inspection
from postloan.loans import service as loans
from postloan.plans.facts import add_months
from postloan.plans.items import create_items
from tests.browser.test_forms import screenshot
from tests.browser.test_tasklist import complete_button, open_task

pytestmark = pytest.mark.browser

TODAY = date.today()
#: A branch no other test lends in: its NPL ratio of new loans is this test's book alone.
BRANCH = "BR-CD-06"
DISBURSED = TODAY - timedelta(days=190)
FIRST_DUE, FIRST_DONE = DISBURSED + timedelta(days=15), DISBURSED + timedelta(days=9)
ROUTINE_DUE = add_months(FIRST_DONE, 3)  # the plan: quarterly after the last inspection
ROUTINE_DONE = ROUTINE_DUE + timedelta(days=16)
UNPAID_DUE = TODAY - timedelta(days=100)


def _customer_and_loan(
    session, suffix: str, *, name: str, account_manager: str, amount: str, disbursed: date
) -> str:
    customer_id, loan_id = f"C-{suffix}", f"L-{suffix}"
    customers.register(
        session,
        customers.CustomerData(
            id=customer_id,
            name=name,
            segment="sme",
            industry="machinery",
            branch=BRANCH,
            account_manager=account_manager,
            credit_rating="BBB",
        ),
        actor="tests",
    )
    loans.register(
        session,
        loans.LoanData(
            id=loan_id,
            customer_id=customer_id,
            product="SME-WORKING-CAPITAL",
            amount=Decimal(amount),
            currency="CNY",
            disbursed_on=disbursed,
            maturity_on=disbursed + timedelta(days=730),
            purpose="purchase of steel for confirmed orders",
            approval_conditions=["Funds paid directly to named suppliers"],
            collaterals=[
                loans.CollateralData(
                    id=f"COL-{suffix}",
                    kind="equipment",
                    value=Decimal(amount) * Decimal("1.4"),
                    currency="CNY",
                    next_valuation_due_on=add_months(disbursed, 12),
                )
            ],
        ),
        actor="tests",
    )
    return loan_id


def _inspected(
    session,
    loan_id: str,
    kind: str,
    *,
    due: date,
    done: date,
    inspector: str,
    reviewer: str,
    notes: str,
    comment: str,
) -> str:
    """An inspection of the past, the domain's way: requested, its checklist, every point in
    order, finalized with the reviewer's approval on the day it was done."""
    row = inspections.request(
        session, loan_id=loan_id, kind=kind, reason=f"{kind} inspection (plan)", actor="plan"
    )
    row.due_on, row.template, row.mode = due, "sme_standard", "on_site"
    row.created_at = datetime.combine(due - timedelta(days=20), time(8), tzinfo=UTC)
    codes = [item.code for item in create_items(session, row, None)]
    inspections.begin(session, row.id, actor="plan")
    inspections.record_item_results(session, row.id, codes, [])
    at = datetime.combine(done, time(16), tzinfo=UTC)
    with mock.patch.object(inspections, "utcnow", lambda: at):
        inspections.finalize(
            session,
            row.id,
            inspections.InspectionOutcome(
                inspector=inspector,
                findings_text=notes,
                conclusion="satisfactory",
                reviewer=reviewer,
                review_decision="approve",
                review_comment=comment,
                risk_class="normal",
                risk_class_reason="performing",
            ),
            actor=reviewer,
        )
    return row.id


def unfold_texts(page) -> None:
    """Tasklist's text areas scroll beyond a height; for the documentation's screenshot each is
    made as tall as its text, so the whole evidence shows."""
    page.evaluate(
        "document.querySelectorAll('.fjs-form textarea').forEach(t => {"
        " t.style.maxHeight = 'none'; t.style.height = 'auto';"
        " t.style.height = (t.scrollHeight + 4) + 'px'; })"
    )


def seed_history(database: str) -> tuple[str, str, str]:
    """The loan under review (am_li's) with its inspections, and the branch's performing new
    loans (am_zhang's, each with its first inspection done); (loan, first, routine)."""
    suffix = uuid.uuid4().hex[:8]
    with unit_of_work(database) as session:
        for n in range(5):
            book = _customer_and_loan(
                session,
                f"{suffix}-{n}",
                name=f"Jinjiang Trading Co {n + 1}",
                account_manager="am_zhang",
                amount="6000000",
                disbursed=TODAY - timedelta(days=60 + 70 * n),
            )
            disbursed = TODAY - timedelta(days=60 + 70 * n)
            _inspected(
                session,
                book,
                "first",
                due=disbursed + timedelta(days=15),
                done=disbursed + timedelta(days=8),
                inspector="am_zhang",
                reviewer="po_chen",
                notes="Business operating normally; funds paid to the named suppliers.",
                comment="Complete.",
            )
        loan_id = _customer_and_loan(
            session,
            suffix,
            name="Hongda Machinery Co.",
            account_manager="am_li",
            amount="800000",
            disbursed=DISBURSED,
        )
        first = _inspected(
            session,
            loan_id,
            "first",
            due=FIRST_DUE,
            done=FIRST_DONE,
            inspector="am_li",
            reviewer="po_chen",
            notes="Workshop visited; steel delivered as invoiced; three payment orders to the "
            "named suppliers checked against the contracts.",
            comment="Evidence complete; payment orders on file.",
        )
        routine = _inspected(
            session,
            loan_id,
            "routine",
            due=ROUTINE_DUE,
            done=ROUTINE_DONE,
            inspector="am_li",
            reviewer="po_wang",
            notes=f"Visit held {day_in_words(ROUTINE_DONE)}, after the customer moved it twice. "
            f"Operations normal, but the instalment of {day_in_words(UNPAID_DUE)} is unpaid: the "
            "main buyer pays 60 days late.",
            comment="Approved; the visit was late.",
        )
        for seq, row_id in enumerate((first, routine)):
            row = session.get(Inspection, row_id)
            assert row is not None and row.status == "completed", (seq, row_id)
    return loan_id, first, routine


def test_credit_managers_deliberate_and_determine_in_tasklist_four_eyes_holds(
    workers, api, admin, as_user, tasklist, database
) -> None:
    loan_id, first, routine = seed_history(database)
    for due in (DISBURSED + timedelta(days=30), DISBURSED + timedelta(days=60)):
        r = api.post(
            f"/api/v1/loans/{loan_id}/repayments",
            json={
                "due_on": due.isoformat(),
                "due_amount": "40000",
                "paid_on": due.isoformat(),
                "paid_amount": "40000",
            },
        )
        assert r.status_code == 201, r.text
    # the instalment unpaid for 100 days: the loan turns substandard, its review starts
    r = api.post(
        f"/api/v1/loans/{loan_id}/repayments",
        json={"due_on": UNPAID_DUE.isoformat(), "due_amount": "40000"},
    )
    assert r.status_code == 201, r.text
    review_id = wait_for(
        lambda: next(
            iter(
                api.get("/api/v1/due-diligence-reviews", params={"loan_id": loan_id}).json()[
                    "items"
                ]
            ),
            None,
        ),
        what="the review",
    )["id"]
    deliberate = task_of(admin, str(review_id), "deliberate_exemption")
    review = api.get(f"/api/v1/due-diligence-reviews/{review_id}").json()
    shown = {i["id"]: i for i in review["evidence"]["inspections"]}
    assert (shown[first]["timeliness"], shown[first]["inspector"], shown[first]["reviewer"]) == (
        "on_time",
        "am_li",
        "po_chen",
    )
    assert (shown[routine]["timeliness"], shown[routine]["days_late"]) == ("late", 16)
    assert review["evidence"]["branch_npl_new_loans"]["band"] == "tolerated"
    assert review["proposal"]["outcome"] == "reduced", review["proposal"]

    page = tasklist("cm_liu", DEMO_PASSWORDS["cm_liu"])
    form = open_task(page, "My groups' tasks", deliberate["id"])
    expect(form).to_contain_text("Account manager under review: am_li")
    expect(form.get_by_label("Proposal of the exemption rules, with every reason")).to_have_value(
        re.compile(r"^Proposed: reduced accountability\n[\s\S]*LATE by 16 days")
    )
    evidence = form.get_by_label("Evidence: prescribed actions with their dates")
    expect(evidence).to_have_value(re.compile(f"Loan {loan_id}"))
    expect(evidence).to_have_value(
        re.compile(
            f"First inspection {first} .*: done {day_in_words(FIRST_DONE)} by Li Wei \\(am_li\\), "
            "reviewed by Chen Jie \\(po_chen\\): on time"
        )
    )
    expect(evidence).to_have_value(re.compile(f"Routine inspection {routine} .*LATE by 16 days"))
    page.locator("button.claim").click()
    assert wait_for(
        lambda: admin.tasks(taskId=deliberate["id"])[0]["assignee"] == "cm_liu",
        what="cm_liu to hold the deliberation",
    )
    form.get_by_label("Reduced accountability", exact=True).check()
    form.get_by_label("Deliberation: what the evidence shows and why").fill(
        f"First inspection done on time ({day_in_words(FIRST_DONE)}, reviewed by Chen Jie). The "
        f"routine inspection due {day_in_words(ROUTINE_DUE)} was done 16 days late, when the "
        f"instalment of {day_in_words(UNPAID_DUE)} was already unpaid; its notes and review are "
        "complete. No fraud, collusion or serious breach of procedure found; the branch's NPL "
        "ratio of new loans is tolerated. One minor lapse: reduced accountability."
    )
    unfold_texts(page)
    screenshot(page, "form-deliberate-exemption.png")
    expect(complete_button(page)).to_be_enabled()
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={deliberate["id"]}"]')).to_have_count(0)

    # The deliberator opens the determination: Tasklist shows it, the engine refuses the claim.
    determine = task_of(admin, str(review_id), "determine_exemption")
    form = open_task(page, "My groups' tasks", determine["id"])
    expect(form).to_contain_text("Deliberated by cm_liu")
    page.locator("button.claim").click()
    refusal = page.locator(".page-notifications .alert-danger")
    expect(refusal).to_contain_text("An error happened while claiming the task")
    expect(refusal).to_contain_text(
        "Four-eyes rule: user 'cm_liu' performed this work (deliberator)"
    )
    expect(complete_button(page)).to_be_disabled()
    assert admin.tasks(taskId=determine["id"])[0]["assignee"] is None

    # A second credit manager determines.
    other = tasklist("cm_gao", DEMO_PASSWORDS["cm_gao"])
    form = open_task(other, "My groups' tasks", determine["id"])
    expect(form.get_by_label("Deliberation", exact=True)).to_have_value(
        re.compile("recommends reduced accountability")
    )
    other.locator("button.claim").click()
    assert wait_for(
        lambda: admin.tasks(taskId=determine["id"])[0]["assignee"] == "cm_gao",
        what="cm_gao to hold the determination",
    )
    form.get_by_label("Reduced accountability", exact=True).check()
    form.get_by_label("Reasons of the determination").fill(
        "As deliberated: the routine inspection came 16 days late; the first inspection, its "
        "review and the approval condition were on time and in order. Reduced accountability."
    )
    unfold_texts(other)
    screenshot(other, "form-determine-exemption.png")
    complete_button(other).click()
    expect(other.locator(f'ol.tasks-list a[href="#/?task={determine["id"]}"]')).to_have_count(0)

    review = wait_for(
        lambda: (lambda b: b if b["status"] == "appeal_window" else None)(
            api.get(f"/api/v1/due-diligence-reviews/{review_id}").json()
        ),
        what="the determination",
    )
    assert (review["deliberation"]["by"], review["determination"]["by"]) == ("cm_liu", "cm_gao")
    assert review["determination"]["outcome"] == "reduced"
    # leave nothing waiting: the account manager accepts
    appeal = task_of(admin, str(review_id), "appeal_exemption")
    am_li = as_user("am_li")
    am_li.submit_form(appeal["id"], {"appeal_choice": "accept", "appeal_grounds": "Accepted."})
