"""Inspection plans: what the ``inspection_plan`` decision says for a loan, stored with its dates.

``compute_plan`` gathers the facts (``facts.py``), asks ``decide`` (the deployed DMN, through an
adapter the caller passes in: this module knows no engine) and stores the plan. The next routine
inspection is due ``frequency`` ``frequency_unit`` (days, weeks or months) after the last completed
inspection (or the disbursement), never before the loan was registered here; the first inspection
is due ``first_inspection_days`` after the disbursement.

A decision that cannot be evaluated (the engine refuses it, no single result, an output a plan
cannot be made of) raises :class:`PlanDecisionFailed`; ``plan_for_start`` then keeps the loan's
last good plan, so the portfolio goes on being scheduled while the decision is repaired.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.db import utcnow
from postloan.errors import NotFound
from postloan.inspections.models import Inspection, InspectionKind, InspectionStatus
from postloan.loans.models import Loan
from postloan.plans.catalogue import MODES, Catalogue, CatalogueError, catalogue
from postloan.plans.facts import add_months, plan_facts
from postloan.plans.models import InspectionPlan
from postloan.plans.scheduling import registered_on

log = logging.getLogger(__name__)

Decide = Callable[[dict[str, Any]], dict[str, Any]]
DECISION_UNUSABLE = "inspection_plan.unusable"
DECISION_USABLE = "inspection_plan.usable_again"
OPEN_STATUSES = (InspectionStatus.REQUESTED, InspectionStatus.IN_PROGRESS)
PLAN_ACTOR = "planner"


FREQUENCY_UNITS = ("days", "weeks", "months")


class PlanDecisionFailed(Exception):
    """The ``inspection_plan`` decision gave no usable plan (the message says why)."""


class PlanDecisionInvalid(PlanDecisionFailed, ValueError):
    """The decision answered something a plan cannot be made of (names the output)."""


class PlanDecisionUnavailable(PlanDecisionFailed):
    """The decision could not be evaluated (the engine refused it or gave no single result)."""


def add_frequency(day: date, frequency: int, unit: str) -> date:
    """``day`` plus ``frequency`` days, weeks or months (months clamp to the month's end)."""
    if unit == "days":
        return day + timedelta(days=frequency)
    if unit == "weeks":
        return day + timedelta(weeks=frequency)
    if unit == "months":
        return add_months(day, frequency)
    raise ValueError(f"frequency unit must be one of {', '.join(FREQUENCY_UNITS)}, not {unit!r}")


def frequency_text(plan: InspectionPlan) -> str:
    """``every 3 months``, ``every week``."""
    unit = plan.frequency_unit.removesuffix("s")
    return f"every {unit}" if plan.frequency == 1 else f"every {plan.frequency} {unit}s"


def _frequency(result: dict[str, Any]) -> tuple[int, str]:
    """The decision's ``frequency`` and ``frequency_unit``; a table of the earlier shape
    (``frequency_months`` only) still reads as months."""
    if result.get("frequency") is None and result.get("frequency_months") is not None:
        return _positive_int(result, "frequency_months"), "months"
    frequency = _positive_int(result, "frequency")
    unit = result.get("frequency_unit") or "months"
    if unit not in FREQUENCY_UNITS:
        raise PlanDecisionInvalid(
            f"inspection_plan output frequency_unit must be one of {', '.join(FREQUENCY_UNITS)}, "
            f"got {unit!r}"
        )
    return frequency, str(unit)


def _positive_int(result: dict[str, Any], name: str) -> int:
    value = result.get(name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise PlanDecisionInvalid(
            f"inspection_plan output {name} must be a positive whole number, got {value!r}"
        )
    return value


def last_completed_on(session: Session, loan_id: str) -> date | None:
    at = session.scalar(
        select(func.max(Inspection.completed_at)).where(
            Inspection.loan_id == loan_id, Inspection.status == InspectionStatus.COMPLETED
        )
    )
    return at.date() if at is not None else None


def has_open_inspection(session: Session, loan_id: str, kind: str | None = None) -> bool:
    query = select(Inspection.id).where(
        Inspection.loan_id == loan_id, Inspection.status.in_(OPEN_STATUSES)
    )
    if kind:
        query = query.where(Inspection.kind == kind)
    return session.scalar(select(exists(query))) or False


def has_first_inspection(session: Session, loan_id: str) -> bool:
    """A first inspection was started (and not cancelled) for the loan."""
    return (
        session.scalar(
            select(
                exists(
                    select(Inspection.id).where(
                        Inspection.loan_id == loan_id,
                        Inspection.kind == InspectionKind.FIRST,
                        Inspection.status != InspectionStatus.CANCELLED,
                    )
                )
            )
        )
        or False
    )


def has_planned_inspection(session: Session, loan_id: str) -> bool:
    """A first or routine inspection (a catch-up is one) was started and not cancelled."""
    return (
        session.scalar(
            select(
                exists(
                    select(Inspection.id).where(
                        Inspection.loan_id == loan_id,
                        Inspection.kind.in_((InspectionKind.FIRST, InspectionKind.ROUTINE)),
                        Inspection.status != InspectionStatus.CANCELLED,
                    )
                )
            )
        )
        or False
    )


def first_due_on(loan: Loan, plan: InspectionPlan) -> date:
    return loan.disbursed_on + timedelta(days=plan.first_inspection_days)


def needs_catch_up(loan: Loan, plan: InspectionPlan) -> bool:
    """The first-inspection deadline had passed before the loan was registered here."""
    return first_due_on(loan, plan) < registered_on(loan)


def _dates(loan: Loan, plan: InspectionPlan, completed: date | None) -> None:
    due = add_frequency(completed or loan.disbursed_on, plan.frequency, plan.frequency_unit)
    plan.next_due_on = max(due, registered_on(loan))
    loan.next_inspection_on = (
        plan.next_due_on
        if completed or needs_catch_up(loan, plan)
        else min(first_due_on(loan, plan), plan.next_due_on)
    )


def compute_plan(
    session: Session,
    loan_id: str,
    decide: Decide,
    *,
    as_of: date | None = None,
    cat: Catalogue | None = None,
    actor: str = PLAN_ACTOR,
) -> InspectionPlan:
    """Decide and store the loan's plan; sets ``loan.next_inspection_on``. Caller commits.

    ``decide(facts)`` returns the decision's single result (frequency and frequency_unit,
    template, mode, first_inspection_days, reason) and may add ``decision_version``. An empty
    template means the product's template; the stricter of the decision's and the product's
    first-inspection deadline applies. Raises :class:`PlanDecisionFailed` (nothing written) when
    the decision cannot be evaluated or answers something unusable.
    """
    cat = cat or catalogue()
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    facts = plan_facts(session, loan_id, as_of=as_of, cat=cat)
    try:
        result = decide(facts)
    except Exception as exc:  # noqa: BLE001 - whatever the adapter raised, the plan failed
        raise PlanDecisionUnavailable(f"inspection_plan could not be evaluated: {exc}") from exc
    frequency, unit = _frequency(result)
    first_days = min(
        _positive_int(result, "first_inspection_days"), int(facts["product_first_inspection_days"])
    )
    mode = result.get("mode")
    if mode not in MODES:
        raise PlanDecisionInvalid(
            f"inspection_plan output mode must be one of {', '.join(MODES)}, got {mode!r}"
        )
    template = result.get("template") or facts["product_template"]
    try:
        cat.template(template)
    except CatalogueError as exc:
        raise PlanDecisionInvalid(f"inspection_plan output template: {exc}") from exc
    reason = str(result.get("reason") or "")
    completed = last_completed_on(session, loan_id)
    plan = session.get(InspectionPlan, loan_id)
    before = None
    if plan is None:
        plan = InspectionPlan(loan_id=loan_id)
        session.add(plan)
    else:
        before = {
            "frequency": plan.frequency,
            "frequency_unit": plan.frequency_unit,
            "template": plan.template,
            "mode": plan.mode,
            "first_inspection_days": plan.first_inspection_days,
        }
    plan.frequency = frequency
    plan.frequency_unit = unit
    plan.frequency_months = frequency if unit == "months" else None
    plan.template = template
    plan.mode = mode
    plan.first_inspection_days = first_days
    plan.reason = reason
    plan.decision_version = str(result.get("decision_version") or "")
    plan.computed_at = utcnow()
    _dates(loan, plan, completed)
    after = {
        "frequency": frequency,
        "frequency_unit": unit,
        "template": template,
        "mode": mode,
        "first_inspection_days": first_days,
    }
    if before != after:
        audit.record(
            session,
            actor=actor,
            action="inspection_plan.decided",
            object_type="loan",
            object_id=loan_id,
            detail={
                **after,
                "reason": reason,
                "decision_version": plan.decision_version,
                "facts": facts,
            },
        )
        log.info(
            "plan for loan %s: %s, %s, %s (%s)",
            loan_id,
            frequency_text(plan),
            template,
            mode,
            reason,
        )
    session.flush()
    return plan


def advance_plan(session: Session, loan_id: str, completed_on: date) -> InspectionPlan | None:
    """After an inspection completed: the next one is due ``frequency`` ``frequency_unit`` later.

    Never moves the due date back (a late-finalized older inspection keeps the later date).
    Returns None when the loan has no plan yet (the scheduler will make one).
    """
    plan = session.get(InspectionPlan, loan_id)
    loan = session.get(Loan, loan_id)
    if plan is None or loan is None:
        return None
    latest = max(completed_on, last_completed_on(session, loan_id) or completed_on)
    plan.next_due_on = add_frequency(latest, plan.frequency, plan.frequency_unit)
    loan.next_inspection_on = plan.next_due_on
    audit.record(
        session,
        actor=PLAN_ACTOR,
        action="inspection_plan.advanced",
        object_type="loan",
        object_id=loan_id,
        detail={
            "completed_on": completed_on.isoformat(),
            "next_due_on": plan.next_due_on.isoformat(),
        },
    )
    session.flush()
    return plan


def plan_for_start(
    session: Session,
    loan_id: str,
    decide: Decide,
    *,
    actor: str = PLAN_ACTOR,
    cat: Catalogue | None = None,
) -> tuple[InspectionPlan | None, PlanDecisionFailed | None]:
    """The plan to start an inspection with: decided again now, or, when the decision fails,
    the loan's last good plan (with the failure, which the caller reports). ``(None, failure)``
    when the loan never had a plan."""
    try:
        return compute_plan(session, loan_id, decide, actor=actor, cat=cat), None
    except PlanDecisionFailed as exc:
        plan = session.get(InspectionPlan, loan_id)
        if plan is not None:
            log.warning("loan %s keeps its last good plan: %s", loan_id, exc)
        return plan, exc


def get_plan(session: Session, loan_id: str) -> InspectionPlan:
    if session.get(Loan, loan_id) is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    plan = session.get(InspectionPlan, loan_id)
    if plan is None:
        raise NotFound(f"loan {loan_id!r} has no inspection plan yet")
    return plan


def open_decision_report(session: Session, within: timedelta) -> audit.AuditEvent | None:
    """The report (audit entry) that the plan decision is unusable, when it is the latest word
    on the decision and younger than ``within``: the scheduler's incident it names is open."""
    last = session.scalars(
        select(audit.AuditEvent)
        .where(audit.AuditEvent.action.in_((DECISION_UNUSABLE, DECISION_USABLE)))
        .order_by(audit.AuditEvent.id.desc())
        .limit(1)
    ).first()
    if last is None or last.action != DECISION_UNUSABLE:
        return None
    at = last.at if last.at.tzinfo is not None else last.at.replace(tzinfo=UTC)
    return last if at >= utcnow() - within else None


def report_decision_unusable(session: Session, instance_id: str, error: str, actor: str) -> None:
    audit.record(
        session,
        actor=actor,
        action=DECISION_UNUSABLE,
        object_type="process_instance",
        object_id=instance_id,
        detail={"error": error},
    )


def report_decision_usable(session: Session, decision_version: str, actor: str) -> None:
    """Close an open report: the decision gave plans again."""
    if open_decision_report(session, timedelta(days=36500)) is not None:
        audit.record(
            session,
            actor=actor,
            action=DECISION_USABLE,
            object_type="decision",
            object_id=decision_version[:64] or "inspection_plan",
            detail={},
        )
