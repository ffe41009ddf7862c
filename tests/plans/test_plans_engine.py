"""Inspection plans against the real engine: the deployed DMN decides, analysts change it by
redeploying, the scheduler starts due inspections exactly once, special inspections start at once.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from pathlib import Path

from helpers import wait_for
from sqlalchemy import select

from gateway.decisions import single_result_decider
from gateway.engine import EngineGateway
from gateway.processes import (
    special_inspection_for_repayment,
    special_inspections_for_event,
    start_routine_inspection,
)
from postloan.db import utcnow
from postloan.events.models import ExternalEvent
from postloan.inspections.models import Inspection, InspectionItem
from postloan.loans.models import Loan
from postloan.plans.catalogue import catalogue
from postloan.plans.facts import add_months
from postloan.plans.models import InspectionPlan
from postloan.plans.service import advance_plan, compute_plan

from .support import new_customer, new_plan_loan

DMN = Path(__file__).resolve().parents[2] / "bpmn" / "inspection_plan.dmn"


def inspections_of(session, loan_id: str, kind: str | None = None) -> list[Inspection]:
    session.expire_all()
    query = select(Inspection).where(Inspection.loan_id == loan_id)
    if kind:
        query = query.where(Inspection.kind == kind)
    return list(session.scalars(query.order_by(Inspection.created_at)))


def deploy_dmn(admin: EngineGateway, xml: str, name: str) -> dict:
    return admin.call(
        "POST",
        "/deployment/create",
        data={"deployment-name": name, "deployment-source": "tests"},
        files=[
            (
                "inspection_plan.dmn",
                ("inspection_plan.dmn", xml.encode(), "application/octet-stream"),
            )
        ],
    )


def run_scheduler(admin: EngineGateway, runs: int = 1) -> None:
    """Start the scheduler process (as its timer would) and wait until every run has ended."""
    pids = [
        admin.start_process("inspection_scheduler", f"test-run-{uuid.uuid4().hex[:6]}")
        for _ in range(runs)
    ]
    for pid in pids:
        wait_for(
            lambda pid=pid: (
                (admin.historic_process_instances(processInstanceId=pid) or [{}])[0].get("state")
                == "COMPLETED"
            ),
            timeout=60,
            what=f"scheduler run {pid} to complete",
        )


def complete_first_inspection(session, loan_id: str, days_ago: int) -> None:
    """Pretend the first inspection was done ``days_ago`` (its process is removed)."""
    for inspection in inspections_of(session, loan_id, "first"):
        inspection.status = "completed"
        inspection.report = {"test": "completed outside the process"}
        inspection.completed_at = utcnow() - timedelta(days=days_ago)
    session.commit()


def test_micro_loan_gets_the_template_frequency_and_mode_the_dmn_says(plan_api, admin, session):
    customer = new_customer(plan_api, segment="micro")
    loan = new_plan_loan(plan_api, customer, product="MICRO-OPERATING", disbursed_days_ago=5)

    r = plan_api.get(f"/api/v1/loans/{loan['id']}/inspection-plan")
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (
        plan["template"],
        plan["frequency"],
        plan["frequency_unit"],
        plan["frequency_months"],
        plan["mode"],
        plan["first_inspection_days"],
    ) == ("micro_standard", 3, "months", 3, "outsourced", 15)
    assert plan["frequency_text"] == "every 3 months" and plan["catch_up"] is False
    assert "Micro enterprise" in plan["reason"]
    assert plan["decision_version"].startswith("inspection_plan:")
    disbursed = date.fromisoformat(loan["disbursed_on"])
    assert loan["next_inspection_on"] == (disbursed + timedelta(days=15)).isoformat()
    assert plan["next_due_on"] == add_months(disbursed, 3).isoformat()

    # The first inspection started at registration, with its items written.
    [first] = inspections_of(session, loan["id"])
    assert (first.kind, first.template, first.mode) == ("first", "micro_standard", "outsourced")
    assert first.due_on == disbursed + timedelta(days=15)
    assert first.process_instance_id
    assert (
        admin.call("GET", f"/process-instance/{first.process_instance_id}")["businessKey"]
        == first.id
    )
    items = list(
        session.scalars(
            select(InspectionItem)
            .where(InspectionItem.inspection_id == first.id)
            .order_by(InspectionItem.seq)
        )
    )
    points = catalogue().template("micro_standard").points
    assert [i.source for i in items] == (
        ["template"] * len(points) + ["use_of_funds", "approval_condition"]
    )
    assert all(i.evidence_required for i in items)
    assert "raw materials" in items[len(points)].label
    assert "named suppliers" in items[-1].label

    assert plan_api.get("/api/v1/loans/NO-SUCH-LOAN/inspection-plan").status_code == 404


def test_an_analyst_edits_a_row_and_redeploys_without_a_code_change(
    plan_api, admin, api_engine, session
):
    customer = new_customer(plan_api, segment="micro")
    loan = new_plan_loan(plan_api, customer, product="MICRO-OPERATING")
    decide = single_result_decider(api_engine)
    original = DMN.read_text(encoding="utf-8")
    changed = original
    for output, old, new in (("Mode", '"outsourced"', '"on_site"'), ("Frequency", "3", "1")):
        pattern = (
            rf'(<outputEntry id="LiteralExpression_MicroSmall_{output}">\s*<text>)'
            rf"{re.escape(old)}(</text>)"
        )
        changed, n = re.subn(pattern, rf"\g<1>{new}\g<2>", changed)
        assert n == 1, output
    before = compute_plan(session, loan["id"], decide)
    session.commit()
    assert (before.mode, before.frequency_months) == ("outsourced", 3)
    version_before = before.decision_version
    try:
        deploy_dmn(admin, changed, "analyst-edit-micro-row")
        after = compute_plan(session, loan["id"], decide)
        session.commit()
        assert (after.mode, after.frequency_months) == ("on_site", 1)
        assert after.decision_version not in ("", version_before)
        assert (
            plan_api.get(f"/api/v1/loans/{loan['id']}/inspection-plan").json()["mode"] == "on_site"
        )
    finally:
        deploy_dmn(admin, original, "analyst-restore-original")
    restored = compute_plan(session, loan["id"], decide)
    session.commit()
    assert (restored.mode, restored.frequency_months) == ("outsourced", 3)


def test_scheduler_starts_exactly_one_routine_inspection_per_due_loan(
    plan_api, workers, admin, api_engine, session
):
    loan_ids = []
    for _ in range(3):
        customer = new_customer(plan_api, segment="sme")
        loan_ids.append(
            new_plan_loan(
                # disbursed days ago: a first inspection whichever starts it (the registration,
                # or a timer run of the scheduler that meets the loan between its two steps)
                plan_api,
                customer,
                product="SME-WORKING-CAPITAL",
                disbursed_days_ago=5,
            )["id"]
        )
    for loan_id in loan_ids:
        # Let each first inspection's automated checks finish first: the signals they raise
        # are facts of the plan (simplified eligibility), so the plan must not change under us.
        first = inspections_of(session, loan_id, "first")[0]
        wait_for(
            lambda first=first: admin.tasks(
                processInstanceBusinessKey=first.id, taskDefinitionKey="perform_inspection"
            ),
            timeout=60,
            what=f"the first inspection of {loan_id} to reach the inspector",
        )
        complete_first_inspection(session, loan_id, days_ago=100)
        session.get(InspectionPlan, loan_id).next_due_on = date.today() - timedelta(days=1)
        session.commit()

    run_scheduler(admin, runs=2)  # two overlapping runs: never a loan started twice
    for loan_id in loan_ids:
        assert len(inspections_of(session, loan_id, "routine")) <= 1, loan_id
    # A loan the two runs deferred to each other under contention is taken by the next run:
    # after it, every due loan has exactly one routine inspection.
    run_scheduler(admin)

    for loan_id in loan_ids:
        routine = inspections_of(session, loan_id, "routine")
        session.expire_all()
        plan = session.get(InspectionPlan, loan_id)
        assert len(routine) == 1, (
            loan_id,
            plan.next_due_on,
            plan.reason,
            [
                (i.kind, i.status)
                for i in session.scalars(select(Inspection).where(Inspection.loan_id == loan_id))
            ],
        )
        assert routine[0].process_instance_id and routine[0].template == "sme_standard"
        # decided again at the start: 3 months after the first inspection, 100 days ago, but
        # never dated before the loan was registered (today)
        completed = (utcnow() - timedelta(days=100)).date()
        assert routine[0].due_on == max(add_months(completed, 3), date.today()) <= date.today()
        sources = set(
            session.scalars(
                select(InspectionItem.source).where(InspectionItem.inspection_id == routine[0].id)
            )
        )
        assert sources == {"template"}

    # Registered 400 days after disbursement: the plan says its first deadline had passed.
    late = new_plan_loan(plan_api, new_customer(plan_api, segment="sme"), disbursed_days_ago=400)
    plan = plan_api.get(f"/api/v1/loans/{late['id']}/inspection-plan").json()
    assert plan["catch_up"] is True and plan["next_due_on"] >= date.today().isoformat()

    run_scheduler(admin)  # again: nothing new
    for loan_id in loan_ids:
        assert len(inspections_of(session, loan_id, "routine")) == 1
        assert start_routine_inspection(session, api_engine, loan_id, "tests") is None


def test_engine_down_at_registration_the_scheduler_starts_the_first_inspection(
    plan_api, workers, admin, session
):
    from api.deps import get_engine
    from api.main import app

    customer = new_customer(plan_api, segment="sme")
    dead = EngineGateway("http://127.0.0.1:9/engine-rest", "nobody", "nothing", timeout=2)
    app.dependency_overrides[get_engine] = lambda: dead
    try:
        loan = new_plan_loan(plan_api, customer, product="SME-WORKING-CAPITAL")
    finally:
        app.dependency_overrides.pop(get_engine, None)
    assert session.get(Loan, loan["id"]) is not None  # the loan is saved
    assert inspections_of(session, loan["id"]) == []
    assert plan_api.get(f"/api/v1/loans/{loan['id']}/inspection-plan").status_code == 404

    run_scheduler(admin)

    [first] = inspections_of(session, loan["id"])
    assert first.kind == "first" and first.process_instance_id
    plan = plan_api.get(f"/api/v1/loans/{loan['id']}/inspection-plan").json()
    assert plan["template"] == "sme_standard"


def test_litigation_starts_a_special_inspection_of_every_active_loan(
    plan_api, admin, api_engine, session
):
    customer = new_customer(plan_api, segment="corporate", rating="A")
    loans = {
        new_plan_loan(plan_api, customer, product="CORP-TERM", amount="4000000")["id"]
        for _ in range(2)
    }
    event = ExternalEvent(
        customer_id=customer,
        kind="litigation",
        occurred_on=date.today(),
        source="court-registry",
        source_ref=uuid.uuid4().hex,
        details="Sued by a supplier for 2m CNY",
    )
    session.add(event)
    session.commit()

    started = special_inspections_for_event(session, api_engine, event)

    assert {i.loan_id for i in started} == loans
    for inspection in started:
        assert (inspection.kind, inspection.mode, inspection.trigger_ref) == (
            "special",
            "on_site",
            f"event:{event.id}",
        )
        assert inspection.due_on == date.today() and "litigation" in inspection.reason
        wait_for(
            lambda i=inspection: admin.historic_process_instances(
                processInstanceId=i.process_instance_id
            ),
            timeout=5,
            what="the special inspection's process instance",
        )
    # The same event again (or another serious one) while they are open: no duplicates.
    assert special_inspections_for_event(session, api_engine, event) == []
    news = ExternalEvent(
        customer_id=customer,
        kind="negative_news",
        occurred_on=date.today(),
        source="press",
        source_ref=uuid.uuid4().hex,
        details="rumours",
    )
    session.add(news)
    session.commit()
    assert special_inspections_for_event(session, api_engine, news) == []


def test_new_overdue_and_unpaid_interest_start_special_inspections(plan_api, api_engine, session):
    customer = new_customer(plan_api, segment="sme")
    loan = new_plan_loan(plan_api, customer, product="SME-WORKING-CAPITAL")["id"]
    other = new_plan_loan(plan_api, customer, product="SME-WORKING-CAPITAL")["id"]

    assert special_inspection_for_repayment(session, api_engine, loan, 3, 10, 0) is None
    overdue = special_inspection_for_repayment(session, api_engine, loan, 0, 5, 0)
    assert overdue is not None and "New overdue" in overdue.reason
    assert overdue.trigger_ref == f"repayment:{loan}" and overdue.process_instance_id
    # Open special inspection already there: deduplicated.
    assert special_inspection_for_repayment(session, api_engine, loan, 0, 0, 61) is None
    interest = special_inspection_for_repayment(session, api_engine, other, 0, 0, 61)
    assert interest is not None and "Interest unpaid" in interest.reason


def test_completing_an_inspection_moves_the_next_due_date(plan_api, session):
    customer = new_customer(plan_api, segment="sme")
    loan_id = new_plan_loan(plan_api, customer, product="SME-WORKING-CAPITAL")["id"]
    plan = session.get(InspectionPlan, loan_id)
    done = date.today()
    advance_plan(session, loan_id, done)
    session.commit()
    assert plan.next_due_on == add_months(done, plan.frequency_months)
    assert session.get(Loan, loan_id).next_inspection_on == plan.next_due_on
    r = plan_api.get(f"/api/v1/loans/{loan_id}")
    assert r.json()["next_inspection_on"] == plan.next_due_on.isoformat()


def test_engine_and_python_evaluation_of_the_plan_agree(api_engine):
    """The deployed table and postloan.decisions give the same row for a grid of facts, so a
    bulk re-plan may evaluate the table in Python."""
    from itertools import product

    from gateway.decisions import evaluate
    from postloan.decisions import load_tables

    table = load_tables(DMN.read_bytes())["inspection_plan"]
    for segment, balance, top, new, simplified in product(
        ("corporate", "sme", "micro", "retail"),
        (300_000.0, 1_000_000.0, 2_500_000.0, 3_000_001.0),
        (False, True),
        (False, True),
        (False, True),
    ):
        facts = {
            "segment": segment,
            "product_template": "sme_standard",
            "balance": balance,
            "is_top_borrower": top,
            "is_new_customer": new,
            "simplified_eligible": simplified,
            "credit_rating": "BBB",
        }
        assert evaluate(api_engine, "inspection_plan", facts) == table.evaluate(facts), facts


def test_the_scheduler_timer_is_suspended_for_the_tests(admin):
    """The deployed scheduler keeps its 10-minute cycle, but in the test session its timer job is
    suspended (tests/conftest.py ``provisioned``), so no run starts inspections of the shared
    database in the middle of another test; the runs above are started by the tests."""
    jobs = admin.call("GET", "/job", params={"processDefinitionKey": "inspection_scheduler"})
    assert len(jobs) == 1, jobs
    assert jobs[0]["suspended"] is True
    definition = admin.call("GET", f"/job-definition/{jobs[0]['jobDefinitionId']}")
    assert definition["jobConfiguration"] == "CYCLE: R/PT10M"
    assert definition["suspended"] is True
