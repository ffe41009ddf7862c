"""Inspection plans: what the ``inspection_plan`` decision says for a loan, stored with its dates.

``compute_plan`` gathers the facts (``facts.py``), asks ``decide`` (the deployed DMN, through an
adapter the caller passes in: this module knows no engine) and stores the plan. The next routine
inspection is due ``frequency_months`` after the last completed inspection (or the disbursement);
the first inspection is due ``first_inspection_days`` after the disbursement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
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

log = logging.getLogger(__name__)

Decide = Callable[[dict[str, Any]], dict[str, Any]]
OPEN_STATUSES = (InspectionStatus.REQUESTED, InspectionStatus.IN_PROGRESS)
PLAN_ACTOR = "planner"


class PlanDecisionInvalid(ValueError):
    """The decision answered something a plan cannot be made of (names the output)."""


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


def first_due_on(loan: Loan, plan: InspectionPlan) -> date:
    return loan.disbursed_on + timedelta(days=plan.first_inspection_days)


def _dates(loan: Loan, plan: InspectionPlan, completed: date | None) -> None:
    plan.next_due_on = add_months(completed or loan.disbursed_on, plan.frequency_months)
    loan.next_inspection_on = (
        plan.next_due_on if completed else min(first_due_on(loan, plan), plan.next_due_on)
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

    ``decide(facts)`` returns the decision's single result (frequency_months, template, mode,
    first_inspection_days, reason) and may add ``decision_version``. An empty template means the
    product's template; the stricter of the decision's and the product's first-inspection
    deadline applies.
    """
    cat = cat or catalogue()
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    facts = plan_facts(session, loan_id, as_of=as_of, cat=cat)
    result = decide(facts)
    frequency = _positive_int(result, "frequency_months")
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
            "frequency_months": plan.frequency_months,
            "template": plan.template,
            "mode": plan.mode,
            "first_inspection_days": plan.first_inspection_days,
        }
    plan.frequency_months = frequency
    plan.template = template
    plan.mode = mode
    plan.first_inspection_days = first_days
    plan.reason = reason
    plan.decision_version = str(result.get("decision_version") or "")
    plan.computed_at = utcnow()
    _dates(loan, plan, completed)
    after = {
        "frequency_months": frequency,
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
            "plan for loan %s: every %s month(s), %s, %s (%s)",
            loan_id,
            frequency,
            template,
            mode,
            reason,
        )
    session.flush()
    return plan


def advance_plan(session: Session, loan_id: str, completed_on: date) -> InspectionPlan | None:
    """After an inspection completed: the next one is due ``frequency_months`` later.

    Never moves the due date back (a late-finalized older inspection keeps the later date).
    Returns None when the loan has no plan yet (the scheduler will make one).
    """
    plan = session.get(InspectionPlan, loan_id)
    loan = session.get(Loan, loan_id)
    if plan is None or loan is None:
        return None
    latest = max(completed_on, last_completed_on(session, loan_id) or completed_on)
    plan.next_due_on = add_months(latest, plan.frequency_months)
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


def get_plan(session: Session, loan_id: str) -> InspectionPlan:
    if session.get(Loan, loan_id) is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    plan = session.get(InspectionPlan, loan_id)
    if plan is None:
        raise NotFound(f"loan {loan_id!r} has no inspection plan yet")
    return plan


def loans_without_first_inspection(session: Session, limit: int) -> list[str]:
    """Active loans for which no first inspection was ever started (e.g. engine down)."""
    first = select(Inspection.id).where(
        Inspection.loan_id == Loan.id,
        Inspection.kind == InspectionKind.FIRST,
        Inspection.status != InspectionStatus.CANCELLED,
    )
    return list(
        session.scalars(
            select(Loan.id)
            .where(~exists(first), Loan.maturity_on >= date.today())
            .order_by(Loan.disbursed_on, Loan.id)
            .limit(limit)
        )
    )


def due_loans(session: Session, as_of: date, limit: int) -> list[str]:
    """Loans whose plan is due and that have no open inspection, most overdue first."""
    open_ = select(Inspection.id).where(
        Inspection.loan_id == InspectionPlan.loan_id, Inspection.status.in_(OPEN_STATUSES)
    )
    return list(
        session.scalars(
            select(InspectionPlan.loan_id)
            .join(Loan, Loan.id == InspectionPlan.loan_id)
            .where(InspectionPlan.next_due_on <= as_of, ~exists(open_), Loan.maturity_on >= as_of)
            .order_by(InspectionPlan.next_due_on, InspectionPlan.loan_id)
            .limit(limit)
        )
    )
