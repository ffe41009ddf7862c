"""Restructurings of a loan: ``POST /loans/{id}/restructurings`` records one, ``GET`` lists them.

Recording one sets the loan's restructuring date and starts its observation period: the loan is
reclassified at once (DMN ``risk_classification``, source ``restructuring``) and the answer carries
the class it was given.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import Field

from api.deps import Integrator, Reader, ServicesDep
from api.loans import Classification
from api.schemas import FactDate, Money, PathId, Reason, ScheduledDate, Strict
from postloan.application import restructurings as cases
from postloan.loans.models import Loan
from postloan.loans.restructuring import MAX_RATE, LoanRestructuring, RestructuringTerms

router = APIRouter(tags=["loans"])

#: Interest rate in percent a year (``4.35`` is 4.35 %).
Rate = Annotated[Decimal, Field(ge=0, le=MAX_RATE, max_digits=7, decimal_places=4)]


class RestructuringIn(Strict):
    """A restructuring and its new terms; a term left out did not change. Beyond the field
    types (checked against the stored loan): ``restructured_on`` not before the disbursement,
    ``new_maturity_on`` after ``restructured_on``, the new instalment at most the configured
    multiple of the loan amount."""

    restructured_on: FactDate
    reason: Reason
    new_maturity_on: ScheduledDate | None = None
    new_instalment_amount: Money | None = None
    new_interest_rate: Rate | None = None


class RestructuringOut(Strict):
    id: int
    loan_id: str
    restructured_on: date
    reason: str
    new_maturity_on: date | None
    new_instalment_amount: Decimal | None
    new_interest_rate: Decimal | None
    class_before: str
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, row: LoanRestructuring) -> RestructuringOut:
        return cls(
            id=row.id,
            loan_id=row.loan_id,
            restructured_on=row.restructured_on,
            reason=row.reason,
            new_maturity_on=row.new_maturity_on,
            new_instalment_amount=row.new_instalment_amount,
            new_interest_rate=row.new_interest_rate,
            class_before=row.class_before,
            recorded_by=row.recorded_by,
            recorded_at=row.created_at,
        )


class RecordedRestructuringOut(RestructuringOut):
    """The restructuring and the loan as it now stands."""

    maturity_on: date
    classification: Classification

    @classmethod
    def of_loan(cls, row: LoanRestructuring, loan: Loan) -> RecordedRestructuringOut:
        return cls(
            **RestructuringOut.of(row).model_dump(),
            maturity_on=loan.maturity_on,
            classification=Classification(
                risk_class=loan.risk_class, reason=loan.risk_class_reason
            ),
        )


@router.post(
    "/loans/{loan_id}/restructurings",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordedRestructuringOut,
)
def record_restructuring(
    loan_id: PathId, body: RestructuringIn, services: ServicesDep, caller: Integrator
) -> RecordedRestructuringOut:
    """Record a restructuring of the loan (audited). The loan's restructuring date becomes this
    one and a new maturity replaces the loan's; the loan is reclassified at once: during the
    observation period (config: ``postloan/classification/restructuring.yaml``) it is at least
    special mention, at least substandard with an instalment overdue, and never upgraded."""
    row, loan = cases.record_restructuring(
        services, loan_id, RestructuringTerms(**body.model_dump()), actor=caller.actor
    )
    return RecordedRestructuringOut.of_loan(row, loan)


@router.get("/loans/{loan_id}/restructurings", response_model=list[RestructuringOut])
def list_restructurings(
    loan_id: PathId, services: ServicesDep, caller: Reader
) -> list[RestructuringOut]:
    """The loan's restructurings, oldest first."""
    return [RestructuringOut.of(r) for r in cases.list_restructurings(services, loan_id)]
