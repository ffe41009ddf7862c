from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import Field, ValidationInfo, field_validator

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import (
    BOUNDS,
    CollateralValue,
    Currency,
    FactDate,
    Identifier,
    LoanAmount,
    LongText,
    Money,
    MoneyOrZero,
    Name,
    PathId,
    Reason,
    ScheduledDate,
    Strict,
    text,
)
from postloan.application import loans as loan_cases
from postloan.loans import buckets, service
from postloan.loans.models import Loan

log = logging.getLogger("api")
router = APIRouter(tags=["loans"])


CollateralKind = Annotated[str, *text(40, min_length=1)]


class CollateralIn(Strict):
    id: Identifier
    kind: CollateralKind
    value: CollateralValue
    currency: Currency
    description: LongText = ""


class CollateralOut(Strict):
    id: str
    kind: str
    value: Decimal
    currency: str
    description: str


class LoanIn(Strict):
    id: Identifier
    customer_id: Identifier
    product: Identifier
    amount: LoanAmount
    currency: Currency
    disbursed_on: FactDate
    maturity_on: ScheduledDate
    purpose: Name
    approval_conditions: list[Reason] = Field(default_factory=list, max_length=100)
    collaterals: list[CollateralIn] = Field(default_factory=list, max_length=100)


class Classification(Strict):
    risk_class: str
    reason: str


class LoanOut(Strict):
    id: str
    customer_id: str
    product: str
    amount: Decimal
    currency: str
    disbursed_on: date
    maturity_on: date
    purpose: str
    approval_conditions: list[str]
    collaterals: list[CollateralOut]
    classification: Classification
    next_inspection_on: date | None

    @classmethod
    def of(cls, loan: Loan) -> LoanOut:
        return cls(
            id=loan.id,
            customer_id=loan.customer_id,
            product=loan.product,
            amount=loan.amount,
            currency=loan.currency,
            disbursed_on=loan.disbursed_on,
            maturity_on=loan.maturity_on,
            purpose=loan.purpose,
            approval_conditions=[c.text for c in loan.approval_conditions],
            collaterals=[
                CollateralOut(
                    id=c.id,
                    kind=c.kind,
                    value=c.value,
                    currency=c.currency,
                    description=c.description,
                )
                for c in loan.collaterals
            ],
            classification=Classification(
                risk_class=loan.risk_class, reason=loan.risk_class_reason
            ),
            next_inspection_on=loan.next_inspection_on,
        )


class RepaymentIn(Strict):
    """An instalment and what was paid on it. Beyond the field types: ``paid_amount`` at most
    the configured multiple of ``due_amount``; relative to the stored loan (checked by the
    service): neither date before the disbursement, due at most the configured days after
    maturity, ``due_amount`` at most the configured multiple of the loan amount."""

    due_on: ScheduledDate
    due_amount: Money
    paid_on: FactDate | None = None
    paid_amount: MoneyOrZero = Decimal("0")
    #: instalment (principal and interest), principal or interest
    kind: Literal["instalment", "principal", "interest"] = "instalment"

    @field_validator("paid_amount")
    @classmethod
    def _paid_within_bound(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        due = info.data.get("due_amount")
        multiple = BOUNDS.amounts.payment_max_multiple_of_due
        if due is not None and value > due * multiple:
            raise ValueError(f"must be at most {multiple} x due_amount ({due * multiple})")
        return value


class RepaymentOut(Strict):
    loan_id: str
    due_on: date
    due_amount: Decimal
    paid_on: date | None
    paid_amount: Decimal
    kind: str


@router.post("/loans", status_code=status.HTTP_201_CREATED, response_model=LoanOut)
def create_loan(body: LoanIn, services: ServicesDep, caller: Integrator) -> LoanOut:
    """Register a loan; its plan (DMN inspection_plan) and first inspection follow at once, or,
    if the engine cannot decide now, from the inspection scheduler later (logged)."""
    data = service.LoanData(
        **body.model_dump(exclude={"collaterals"}),
        collaterals=[service.CollateralData(**c.model_dump()) for c in body.collaterals],
    )
    return LoanOut.of(loan_cases.register_loan(services, data, actor=caller.actor))


@router.get("/loans/{loan_id}", response_model=LoanOut)
def get_loan(loan_id: PathId, session: SessionDep, caller: Reader) -> LoanOut:
    return LoanOut.of(service.get(session, loan_id))


@router.post(
    "/loans/{loan_id}/repayments", status_code=status.HTTP_201_CREATED, response_model=RepaymentOut
)
def record_repayment(
    loan_id: PathId, body: RepaymentIn, services: ServicesDep, caller: Integrator
) -> RepaymentOut:
    """Record an instalment or a payment; the loan is reclassified at once in the same transaction.

    A downgrade found here (the days-past-due floor rose) applies immediately with source
    ``repayment``: that floor is a regulatory minimum computed from the repayment facts, so it
    needs no credit manager's confirmation (unlike a downgrade proposed by an inspection). A
    loan newly overdue gets its special inspection in the same transaction (its process is
    started by the outbox relay).
    """
    loan_cases.record_repayment(
        services, loan_id, service.RepaymentData(**body.model_dump()), actor=caller.actor
    )
    return RepaymentOut(loan_id=loan_id, **body.model_dump())


class BucketChangeOut(Strict):
    changed_on: date
    from_bucket: str
    to_bucket: str
    days_past_due: int
    recorded_at: datetime


class BucketHistoryOut(Strict):
    loan_id: str
    delinquency_bucket: str
    changes: list[BucketChangeOut]


@router.get("/loans/{loan_id}/bucket-history", response_model=BucketHistoryOut)
def bucket_history(loan_id: PathId, session: SessionDep, caller: Reader) -> BucketHistoryOut:
    """The loan's current delinquency bucket and every move between buckets, oldest first."""
    loan, changes = buckets.history(session, loan_id)
    return BucketHistoryOut(
        loan_id=loan.id,
        delinquency_bucket=loan.delinquency_bucket,
        changes=[
            BucketChangeOut(
                changed_on=c.changed_on,
                from_bucket=c.from_bucket,
                to_bucket=c.to_bucket,
                days_past_due=c.days_past_due,
                recorded_at=c.recorded_at,
            )
            for c in changes
        ],
    )
