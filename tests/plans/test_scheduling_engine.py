"""Scheduling against the real engine and the real diagrams: the 2,000-loan demo portfolio
imported in bulk and scheduled twice within the configured capacity, a weekly plan from a
redeployed table, and a table redeployed with a mistake: an incident on the scheduler's instance
while every loan with a plan keeps it and is still scheduled."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import wait_for
from sqlalchemy import func, select
from sqlite_template import copy_of

from config.settings import ROOT
from gateway.ports import EngineAdapter
from postloan.application import inspections as inspection_cases
from postloan.application.ports import database_unit
from postloan.application.services import Services
from postloan.customers.models import Customer
from postloan.inspections.models import Inspection
from postloan.loans.models import Loan
from postloan.plans.catalogue import catalogue
from postloan.plans.models import InspectionPlan
from postloan.plans.scheduling import OPEN_STATUSES, load_scheduling
from postloan.plans.service import advance_plan
from postloanctl.demo import load_portfolio

from .support import new_customer, new_plan_loan
from .test_plans_engine import complete_first_inspection, deploy_dmn, inspections_of

DMN = ROOT / "bpmn" / "inspection_plan.dmn"
TODAY = date.today()


def with_rows(xml: str, output: str, value: str, rules: str = r"\w+") -> str:
    """``xml`` with the output entry ``output`` of the matching rules set to ``value``."""
    changed, n = re.subn(
        rf'(<outputEntry id="LiteralExpression_(?:{rules})_{output}">\s*<text>)[^<]*(</text>)',
        rf"\g<1>{value}\g<2>",
        xml,
    )
    assert n, output
    return changed


@pytest.mark.slow
def test_bulk_import_and_two_scheduler_runs_stay_within_capacity(
    tmp_path: Path, sqlite_template: Path, api_engine
):
    uow = database_unit(copy_of(sqlite_template, tmp_path / "portfolio.db"))
    with uow() as session:
        assert load_portfolio(session) == 2000
    services = Services(uow=uow, engine=EngineAdapter(api_engine))
    rules = load_scheduling(ROOT / "config" / "scheduling.yaml")
    batch = catalogue().scheduler.batch_size

    runs = [
        inspection_cases.start_due_inspections(
            services, actor="scheduler", batch_size=batch, rules=rules
        )
        for _ in range(2)  # a run, then another one (the next timer, or after a restart)
    ]

    with uow() as session:
        rows = session.execute(
            select(Inspection, Loan.created_at, Loan.disbursed_on, Customer.account_manager)
            .join(Loan, Loan.id == Inspection.loan_id)
            .join(Customer, Customer.id == Loan.customer_id)
        ).all()
        plans = {p.loan_id: p for p in session.scalars(select(InspectionPlan))}
        active = session.scalar(
            select(func.count()).select_from(Loan).where(Loan.maturity_on >= TODAY)
        )
    assert all(r["plan_decision_error"] is None for r in runs), runs
    open_by_person = Counter(who for i, _c, _d, who in rows if i.status in OPEN_STATUSES)
    new_by_person = Counter(who for i, _c, _d, who in rows if i.kind in ("first", "routine"))
    assert open_by_person and max(open_by_person.values()) <= rules.max_open_per_person, (
        open_by_person
    )
    assert max(new_by_person.values()) <= rules.max_new_per_person_per_day, new_by_person
    assert runs[0]["deferred"] > 0 and sum(open_by_person.values()) < active  # the rest waits
    assert sum(r["started_catch_up"] + r["started_first"] for r in runs) == len(rows)
    for inspection, created_at, disbursed_on, _who in rows:
        imported = created_at.date()
        assert inspection.due_on is not None and inspection.due_on >= imported, (
            inspection.id,
            inspection.due_on,
            imported,
        )
        plan = plans[inspection.loan_id]
        deadline = disbursed_on + timedelta(days=plan.first_inspection_days)
        if deadline < imported:  # imported history: a catch-up, never a first inspection
            assert (inspection.kind, inspection.trigger_ref) == ("routine", "catch-up")
            assert inspection.reason.startswith("Catch-up inspection")
        else:
            assert inspection.kind == "first" and inspection.due_on == deadline
    assert len({i.loan_id for i, *_ in rows}) == len(rows)  # one per loan

    # The next day: more within the limits, the most overdue first; still none over capacity.
    later = inspection_cases.start_due_inspections(
        services, actor="scheduler", batch_size=batch, rules=rules, today=TODAY + timedelta(1)
    )
    with uow() as session:
        open_now = Counter(
            session.scalars(
                select(Customer.account_manager)
                .join(Loan, Loan.customer_id == Customer.id)
                .join(Inspection, Inspection.loan_id == Loan.id)
                .where(Inspection.status.in_(OPEN_STATUSES))
            )
        )
    assert later["started_catch_up"] + later["started_first"] > 0, later
    assert max(open_now.values()) <= rules.max_open_per_person, open_now


def test_a_weekly_plan_from_a_redeployed_table(plan_api, admin, session):
    original = DMN.read_text(encoding="utf-8")
    weekly = with_rows(
        with_rows(original, "Frequency", "1", "MicroSmall"),
        "FrequencyUnit",
        '"weeks"',
        "MicroSmall",
    )
    try:
        deploy_dmn(admin, weekly, "analyst-weekly-watch")
        customer = new_customer(plan_api, segment="micro")
        loan = new_plan_loan(plan_api, customer, product="MICRO-OPERATING", disbursed_days_ago=2)
    finally:
        deploy_dmn(admin, original, "analyst-restore-original")
    plan = plan_api.get(f"/api/v1/loans/{loan['id']}/inspection-plan").json()
    disbursed = date.fromisoformat(loan["disbursed_on"])
    assert (plan["frequency"], plan["frequency_unit"], plan["frequency_months"]) == (
        1,
        "weeks",
        None,
    )
    assert plan["frequency_text"] == "every week" and plan["catch_up"] is False
    assert plan["next_due_on"] == (disbursed + timedelta(days=7)).isoformat()
    due = []
    for done in (TODAY, TODAY + timedelta(days=7)):
        due.append(advance_plan(session, loan["id"], done).next_due_on)
        session.commit()
    assert due[1] - due[0] == timedelta(days=7) and due[0] == TODAY + timedelta(days=7)
    r = plan_api.get(f"/api/v1/loans/{loan['id']}")
    assert r.json()["next_inspection_on"] == due[1].isoformat()


def test_a_table_redeployed_with_a_mistake_raises_an_incident_and_keeps_last_good_plans(
    plan_api, workers, admin, session
):
    from api.deps import get_engine
    from api.main import app
    from gateway.engine import EngineGateway

    customer = new_customer(plan_api, segment="sme")
    planned = new_plan_loan(plan_api, customer, product="SME-WORKING-CAPITAL")["id"]
    first = inspections_of(session, planned, "first")[0]
    wait_for(
        lambda: admin.tasks(
            processInstanceBusinessKey=first.id, taskDefinitionKey="perform_inspection"
        ),
        timeout=60,
        what="the first inspection to reach the inspector",
    )
    complete_first_inspection(session, planned, days_ago=100)
    session.get(InspectionPlan, planned).next_due_on = TODAY - timedelta(days=1)
    session.commit()
    good = session.get(InspectionPlan, planned)
    good_plan = (good.frequency, good.frequency_unit, good.template, good.decision_version)
    # A loan saved while the engine was down: no plan yet, nothing to fall back on.
    other = new_customer(plan_api, segment="sme")
    dead = EngineGateway("http://127.0.0.1:9/engine-rest", "nobody", "nothing", timeout=2)
    app.dependency_overrides[get_engine] = lambda: dead
    try:
        unplanned = new_plan_loan(plan_api, other, product="SME-WORKING-CAPITAL")["id"]
    finally:
        app.dependency_overrides.pop(get_engine, None)

    original = DMN.read_text(encoding="utf-8")
    # The analyst typed the unit into the integer frequency column: no row can be evaluated.
    broken = with_rows(original, "Frequency", '"weekly"')
    deploy_dmn(admin, broken, "analyst-mistake")
    try:
        pid = admin.start_process("inspection_scheduler", f"test-broken-{uuid.uuid4().hex[:6]}")

        def incident_of_the_failure() -> list | None:
            own = admin.call("GET", "/incident", params={"processInstanceId": pid})
            if own:
                return own
            # A timer-started run that met the same broken version first holds the one
            # incident; this run then ends naming it.
            named = admin.call(
                "GET",
                "/history/variable-instance",
                params={"processInstanceId": pid, "variableName": "plan_decision_reported_on"},
            )
            if named:
                return admin.call(
                    "GET", "/incident", params={"processInstanceId": named[0]["value"]}
                )
            return None

        [incident] = wait_for(
            incident_of_the_failure, timeout=90, what="the incident of the scheduler run"
        )
        pid = incident["processInstanceId"]
        assert incident["activityId"] == "plan_decision_unusable"
        assert incident["incidentType"] == "failedExternalTask"
        assert "inspection_plan could not be evaluated" in incident["incidentMessage"]
        variables = admin.call("GET", f"/process-instance/{pid}/variables")
        # the engine's own words, naming the deployed version that failed
        assert (
            "Cannot evaluate decision inspection_plan:" in variables["plan_decision_error"]["value"]
        )
        assert variables["kept_last_plan"]["value"] >= 1

        # The loan with a plan was scheduled on it, unchanged; the other one waits.
        [routine] = inspections_of(session, planned, "routine")
        assert routine.status in ("requested", "in_progress") and routine.template == good.template
        session.expire_all()
        kept = session.get(InspectionPlan, planned)
        assert (kept.frequency, kept.frequency_unit, kept.template, kept.decision_version) == (
            good_plan
        )
        assert inspections_of(session, unplanned) == []
    finally:
        deploy_dmn(admin, original, "analyst-repair")

    # Repaired: the operator retries the incident, the run ends, the next run catches up.
    admin.call("PUT", f"/external-task/{incident['configuration']}/retries", json={"retries": 1})
    wait_for(
        lambda: (
            (admin.historic_process_instances(processInstanceId=pid) or [{}])[0].get("state")
            == "COMPLETED"
        ),
        timeout=60,
        what="the scheduler run to end after the retry",
    )
    assert admin.call("GET", "/incident", params={"processInstanceId": pid}) == []
    pid = admin.start_process("inspection_scheduler", f"test-repaired-{uuid.uuid4().hex[:6]}")
    wait_for(
        lambda: (
            (admin.historic_process_instances(processInstanceId=pid) or [{}])[0].get("state")
            == "COMPLETED"
        ),
        timeout=60,
        what="the next scheduler run",
    )
    [first_of_unplanned] = inspections_of(session, unplanned)
    assert first_of_unplanned.kind == "first"
