"""The scheduler's use case on a fresh migrated database, the real ``inspection_plan`` table
evaluated in Python in place of the engine: catch-up instead of stale first inspections,
capacity per person, spread over days, frequency units, a decision that cannot be evaluated.
The same against the real engine and the 2,000-loan portfolio: test_scheduling_engine.py."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlite_template import copy_of

from config.settings import ROOT
from postloan.application import inspections as inspection_cases
from postloan.application.ports import EngineFailure, database_unit
from postloan.application.services import Services
from postloan.customers import service as customers
from postloan.decisions import load_tables
from postloan.inspections import service as inspections
from postloan.inspections.models import Inspection
from postloan.loans import service as loans
from postloan.loans.models import Loan
from postloan.plans import scheduling
from postloan.plans import service as plans
from postloan.plans.catalogue import CatalogueError
from postloan.plans.facts import add_months
from postloan.plans.models import InspectionPlan

DMN = ROOT / "bpmn" / "inspection_plan.dmn"
TODAY = date.today()


def weekly_dmn(rule: str = "MicroSmall", weeks: int = 1) -> str:
    """The real table with one row changed to a weekly frequency (an analyst's edit)."""
    xml = DMN.read_text(encoding="utf-8")
    for output, value in (("Frequency", str(weeks)), ("FrequencyUnit", '"weeks"')):
        xml, n = re.subn(
            rf'(<outputEntry id="LiteralExpression_{rule}_{output}">\s*<text>)[^<]*(</text>)',
            rf"\g<1>{value}\g<2>",
            xml,
        )
        assert n == 1, output
    return xml


class Decisions:
    """The engine's decision port over the real table, evaluated in Python; ``broken`` makes
    every evaluation fail the way the engine answers a table it cannot evaluate."""

    def __init__(self, xml: str | bytes | None = None) -> None:
        self.deploy(xml or DMN.read_bytes())
        self.broken: str | None = None
        self.calls = 0

    def deploy(self, xml: str | bytes) -> None:
        self.table = load_tables(xml)["inspection_plan"]

    def decider(self, key: str) -> Any:
        assert key == "inspection_plan"

        def decide(facts: dict[str, Any]) -> dict[str, Any]:
            self.calls += 1
            if self.broken:
                raise EngineFailure(500, self.broken)
            return {**self.table.single(facts), "decision_version": "inspection_plan:test"}

        return decide


def rules(**over: Any) -> scheduling.SchedulingRules:
    base = {
        "max_open_per_person": 8,
        "max_new_per_person_per_day": 3,
        "catch_up_lead_days": 7,
        "max_due_per_person_per_day": 1,
        "catch_up_reason": "Catch-up inspection (deadline {deadline}, registered "
        "{registered_on}): {plan_reason}",
    }
    return scheduling.SchedulingRules(**(base | over))


@pytest.fixture
def services(tmp_path: Path, sqlite_template: Path) -> Services:
    return Services(
        uow=database_unit(copy_of(sqlite_template, tmp_path / "plans.db")), engine=Decisions()
    )


def add_loan(
    services: Services,
    *,
    manager: str = "am_li",
    disbursed_days_ago: int = 3,
    segment: str = "micro",
    product: str = "MICRO-OPERATING",
) -> str:
    """A customer and a loan written as the importer writes them: no inspection started."""
    suffix = uuid.uuid4().hex[:8]
    with services.uow() as session:
        customers.register(
            session,
            customers.CustomerData(
                id=f"C-{suffix}",
                name=f"Scheduling Co {suffix}",
                segment=segment,
                industry="textiles",
                branch=f"BR-{suffix}",
                account_manager=manager,
                credit_rating="BB",
            ),
            actor="tests",
        )
        loans.register(
            session,
            loans.LoanData(
                id=f"L-{suffix}",
                customer_id=f"C-{suffix}",
                product=product,
                amount=Decimal("300000"),
                currency="CNY",
                disbursed_on=TODAY - timedelta(days=disbursed_days_ago),
                maturity_on=TODAY + timedelta(days=2000),
                purpose="working capital",
            ),
            actor="tests",
        )
    return f"L-{suffix}"


def run(services: Services, rules_: scheduling.SchedulingRules, **kw: Any) -> dict[str, Any]:
    return inspection_cases.start_due_inspections(
        services, actor="scheduler", batch_size=kw.pop("batch_size", 200), rules=rules_, **kw
    )


def inspections_of(services: Services, loan_id: str) -> list[Inspection]:
    with services.uow() as session:
        return list(
            session.scalars(
                select(Inspection).where(Inspection.loan_id == loan_id).order_by(Inspection.id)
            )
        )


def test_frequency_in_days_weeks_or_months():
    day = date(2026, 1, 31)
    assert plans.add_frequency(day, 10, "days") == date(2026, 2, 10)
    assert plans.add_frequency(day, 2, "weeks") == date(2026, 2, 14)
    assert plans.add_frequency(day, 1, "months") == add_months(day, 1) == date(2026, 2, 28)
    with pytest.raises(ValueError, match="fortnights"):
        plans.add_frequency(day, 1, "fortnights")


def test_the_scheduling_file_is_read_and_checked(tmp_path: Path):
    real = scheduling.load_scheduling(ROOT / "config" / "scheduling.yaml")
    assert real.max_open_per_person >= 1 and real.max_new_per_person_per_day >= 1
    assert "{plan_reason}" in real.catch_up_reason
    bad = tmp_path / "scheduling.yaml"
    bad.write_text(
        (ROOT / "config" / "scheduling.yaml")
        .read_text(encoding="utf-8")
        .replace("max_open_per_person: 8", "max_open_per_person: eight"),
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match=r"scheduling.yaml: capacity.max_open_per_person"):
        scheduling.load_scheduling(bad)
    bad.write_text(
        "capacity: {max_open_per_person: 1, max_new_per_person_per_day: 1}\n"
        "catch_up: {lead_days: 0, max_due_per_person_per_day: 1, reason: 'x {who}'}\n"
    )
    with pytest.raises(CatalogueError, match="catch_up.reason"):
        scheduling.load_scheduling(bad)


def test_a_weekly_plan_gives_due_dates_seven_days_apart(services: Services):
    services.engine.deploy(weekly_dmn())
    loan_id = add_loan(services, disbursed_days_ago=3)
    with services.uow() as session:
        plan = plans.compute_plan(session, loan_id, services.engine.decider("inspection_plan"))
        assert (plan.frequency, plan.frequency_unit, plan.frequency_months) == (1, "weeks", None)
        assert plans.frequency_text(plan) == "every week"
        disbursed = session.get(Loan, loan_id).disbursed_on
        assert plan.next_due_on == disbursed + timedelta(days=7)
    due = []
    for done in (TODAY, TODAY + timedelta(days=7)):
        with services.uow() as session:
            due.append(plans.advance_plan(session, loan_id, done).next_due_on)
    assert due == [TODAY + timedelta(days=7), TODAY + timedelta(days=14)]
    assert due[1] - due[0] == timedelta(days=7)


def test_an_imported_loan_gets_one_catch_up_and_a_new_loan_its_first(services: Services):
    old = add_loan(services, disbursed_days_ago=900)
    new = add_loan(services, manager="am_zhang", disbursed_days_ago=3)

    counts = run(services, rules())

    assert (counts["started_catch_up"], counts["started_first"]) == (1, 1), counts
    assert counts["plan_decision_error"] is None
    [catch_up] = inspections_of(services, old)
    assert (catch_up.kind, catch_up.trigger_ref) == ("routine", "catch-up")
    assert (
        catch_up.reason.startswith("Catch-up inspection") and "Micro enterprise" in catch_up.reason
    )
    assert catch_up.template == "micro_standard"  # the plan's
    assert catch_up.due_on == TODAY + timedelta(days=7)  # lead days, never before the import
    with services.uow() as session:
        loan = session.get(Loan, old)
        assert catch_up.due_on >= loan.created_at.date()
        assert loan.next_inspection_on == catch_up.due_on
        assert plans.needs_catch_up(loan, session.get(InspectionPlan, old))
    [first] = inspections_of(services, new)
    assert first.kind == "first" and first.due_on == TODAY - timedelta(days=3) + timedelta(days=15)

    # Later runs: nothing more for either (one open each; the catch-up counts as planned work).
    assert run(services, rules(), today=TODAY + timedelta(days=1))["started_catch_up"] == 0
    assert [len(inspections_of(services, x)) for x in (old, new)] == [1, 1]


def test_capacity_counts_what_is_open_and_takes_the_most_overdue_first(services: Services):
    held = add_loan(services, disbursed_days_ago=100)
    with services.uow() as session:  # a special inspection someone else started is open
        inspections.request(
            session, loan_id=held, kind="special", reason="litigation", actor="tests"
        )
    waiting = [add_loan(services, disbursed_days_ago=d) for d in (400, 900, 600, 700)]
    other = add_loan(services, manager="lead_hu", disbursed_days_ago=300)

    counts = run(services, rules(max_open_per_person=3, max_new_per_person_per_day=10))

    started = {x for x in waiting if inspections_of(services, x)}
    # am_li held one: two more reach the limit of three, the two most overdue of the four.
    assert started == {waiting[1], waiting[3]}, counts
    assert counts["deferred"] == 2 and len(inspections_of(services, other)) == 1
    assert len(inspections_of(services, held)) == 1  # never a second open one on a loan

    # The daily limit: another day with more room takes the next most overdue, one a day.
    counts = run(
        services,
        rules(max_open_per_person=10, max_new_per_person_per_day=1),
        today=TODAY + timedelta(days=1),
    )
    assert {x for x in waiting if inspections_of(services, x)} == {
        waiting[1],
        waiting[3],
        waiting[2],
    }, counts


def test_catch_ups_are_spread_over_days(services: Services):
    loan_ids = [add_loan(services, disbursed_days_ago=500 + i) for i in range(3)]
    run(services, rules(catch_up_lead_days=2, max_due_per_person_per_day=1))
    due = sorted(inspections_of(services, x)[0].due_on for x in loan_ids)
    assert due == [TODAY + timedelta(days=2 + i) for i in range(3)]


def test_a_decision_that_cannot_be_evaluated_keeps_the_last_good_plan(services: Services):
    planned = add_loan(services, disbursed_days_ago=900)
    run(services, rules())  # its catch-up, decided by the good table
    [catch_up] = inspections_of(services, planned)
    with services.uow() as session:
        inspection = session.get(Inspection, catch_up.id)
        inspection.status = "completed"
        inspection.report = {"test": "completed outside the process"}
        inspection.completed_at = inspection.created_at
        plan = session.get(InspectionPlan, planned)
        plan.next_due_on = TODAY - timedelta(days=1)
        good = (plan.frequency, plan.frequency_unit, plan.template, plan.decision_version)
    never_planned = add_loan(services, manager="am_zhang", disbursed_days_ago=5)
    services.engine.broken = (
        "Cannot evaluate decision inspection_plan:6:c015: "
        "Exception while evaluating decision with key 'null'"
    )
    services.engine.calls = 0

    counts = run(services, rules())

    assert counts["kept_last_plan"] == 1 and counts["started_routine"] == 1, counts
    assert counts["failed"] == 1  # the new loan never had a plan: it waits
    assert "Cannot evaluate decision inspection_plan:6" in counts["plan_decision_error"]
    assert counts["plan_decision_loan"] in (planned, never_planned)
    assert services.engine.calls == 1  # not asked again in the run once it could not answer
    routine = [i for i in inspections_of(services, planned) if i.status == "requested"]
    assert len(routine) == 1 and routine[0].kind == "routine"
    with services.uow() as session:
        kept = session.get(InspectionPlan, planned)
        assert (kept.frequency, kept.frequency_unit, kept.template, kept.decision_version) == good
    assert inspections_of(services, never_planned) == []

    # The process's check holds the incident while it fails (its retries, the same run), the
    # next runs raise none while that one is open, and it passes once the table is repaired.
    def check(instance_id: str) -> dict[str, Any]:
        return inspection_cases.check_plan_decision(
            services, never_planned, "scheduler", instance_id=instance_id
        )

    for instance_id in ("run-1", "run-1"):
        with pytest.raises(plans.PlanDecisionFailed, match="could not be evaluated"):
            check(instance_id)
    assert check("run-2") == {"plan_decision_reported_on": "run-1"}
    # another broken deployment while that incident is open: its own incident, not hidden
    # behind the one about the earlier version
    services.engine.broken = "Cannot evaluate decision inspection_plan:7:e9: no rule matched"
    with pytest.raises(plans.PlanDecisionFailed):
        check("run-4")
    assert check("run-5") == {"plan_decision_reported_on": "run-4"}
    services.engine.broken = None
    assert check("run-1")["plan_decision_version"] == "inspection_plan:test"
    assert run(services, rules())["started_first"] == 1
    services.engine.broken = "Cannot evaluate decision inspection_plan:7:d2"  # broken again
    with pytest.raises(plans.PlanDecisionFailed):
        check("run-3")  # a new incident: the earlier one was resolved


def test_an_output_the_code_cannot_use_is_a_decision_failure(services: Services):
    loan_id = add_loan(services)
    xml = DMN.read_text(encoding="utf-8").replace(
        '<text>"months"</text>', '<text>"fortnights"</text>'
    )
    services.engine.deploy(xml)
    with services.uow() as session, pytest.raises(plans.PlanDecisionInvalid, match="fortnights"):
        plans.compute_plan(session, loan_id, services.engine.decider("inspection_plan"))
