"""A loan's inspection plan, as the ``inspection_plan`` decision gave it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from api.deps import Reader, SessionDep
from api.schemas import PathId, Strict
from postloan.loans.models import Loan
from postloan.plans import service as plans

router = APIRouter(tags=["loans"])


class InspectionPlanOut(Strict):
    loan_id: str
    frequency: int = Field(description="Every this many frequency_unit")
    frequency_unit: Literal["days", "weeks", "months"]
    frequency_text: str = Field(description='In words, e.g. "every 3 months", "every week"')
    frequency_months: int | None = Field(
        description="The frequency in months when the plan is in months (kept for clients of "
        "the first version), else null"
    )
    template: str
    mode: str
    first_inspection_days: int
    first_inspection_due_on: date
    catch_up: bool = Field(
        description="The first-inspection deadline had passed before the loan was registered "
        "here (imported history): the scheduler gives it one catch-up inspection (kind routine, "
        "reason 'Catch-up inspection ...') instead of a first one dated in the past"
    )
    next_due_on: date
    reason: str
    decision_version: str
    computed_at: datetime


@router.get("/loans/{loan_id}/inspection-plan", response_model=InspectionPlanOut)
def get_inspection_plan(loan_id: PathId, session: SessionDep, caller: Reader) -> InspectionPlanOut:
    """How the loan is inspected: frequency (days, weeks or months), template, mode, due dates
    and the rule that said so.
    404 while no plan was decided yet (the scheduler decides missing plans)."""
    plan = plans.get_plan(session, loan_id)
    loan = session.get(Loan, loan_id)
    assert loan is not None  # get_plan checked it
    return InspectionPlanOut(
        loan_id=plan.loan_id,
        frequency=plan.frequency,
        frequency_unit=plan.frequency_unit,
        frequency_text=plans.frequency_text(plan),
        frequency_months=plan.frequency_months,
        template=plan.template,
        mode=plan.mode,
        first_inspection_days=plan.first_inspection_days,
        first_inspection_due_on=plans.first_due_on(loan, plan),
        catch_up=plans.needs_catch_up(loan, plan),
        next_due_on=plan.next_due_on,
        reason=plan.reason,
        decision_version=plan.decision_version,
        computed_at=plan.computed_at,
    )
