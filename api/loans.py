from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import (
    BOUNDS,
    CollateralValue,
    Currency,
    FactDate,
    Identifier,
    Limit500,
    LoanAmount,
    LongText,
    Money,
    MoneyOrZero,
    Name,
    Offset,
    Page,
    PathId,
    PathInt,
    Reason,
    ScheduledDate,
    Strict,
    text,
)
from postloan.application import loans as loan_cases
from postloan.customers import references
from postloan.loans import buckets, service, technical_overdue
from postloan.loans.models import Loan, Repayment, RepaymentAmendment

log = logging.getLogger("api")
router = APIRouter(tags=["loans"])


CollateralKind = Annotated[str, *text(40, min_length=1)]


class CollateralIn(Strict):
    id: Identifier
    kind: CollateralKind
    value: CollateralValue
    currency: Currency
    description: LongText = ""
    #: when the next revaluation is due, when its insurance expires (a prevent_lapse task
    #: opens before each; config/reminders.yaml)
    next_valuation_due_on: ScheduledDate | None = None
    insurance_expires_on: ScheduledDate | None = None


class CollateralOut(Strict):
    id: str
    kind: str
    value: Decimal
    currency: str
    description: str
    next_valuation_due_on: date | None = None
    insurance_expires_on: date | None = None


def _product_known(code: str) -> str:
    why = references.product_problem(code)
    if why is not None:
        raise ValueError(why)
    return code


#: a product of the catalogue (config/products.yaml)
Product = Annotated[Identifier, AfterValidator(_product_known)]


class LoanIn(Strict):
    id: Identifier
    customer_id: Identifier
    product: Product
    amount: LoanAmount
    currency: Currency
    disbursed_on: FactDate
    maturity_on: ScheduledDate
    purpose: Name
    approval_conditions: list[Reason] = Field(default_factory=list, max_length=100)
    collaterals: list[CollateralIn] = Field(default_factory=list, max_length=100)
    #: when the credit line this loan draws on expires (a prevent_lapse task opens before it)
    credit_line_expires_on: ScheduledDate | None = None


class Classification(Strict):
    risk_class: str
    reason: str


class TechnicalOverdues(Strict):
    """Instalments paid in full but 1 to ``max_days_late`` days late (``config/reminders.yaml``),
    due in the last ``window_days`` days up to today."""

    count: int
    max_days_late: int  # the longest delay among them (0: none)
    window_days: int


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
    #: the latest restructuring's date (``GET .../restructurings`` lists them), or null; the
    #: observation period of the five-category rules runs from it
    restructured_on: date | None = None
    #: given by ``GET /loans/{id}`` (null in the other responses)
    technical_overdues: TechnicalOverdues | None = None
    credit_line_expires_on: date | None = None

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
                    next_valuation_due_on=c.next_valuation_due_on,
                    insurance_expires_on=c.insurance_expires_on,
                )
                for c in loan.collaterals
            ],
            classification=Classification(
                risk_class=loan.risk_class, reason=loan.risk_class_reason
            ),
            next_inspection_on=loan.next_inspection_on,
            restructured_on=loan.restructured_on,
            credit_line_expires_on=loan.credit_line_expires_on,
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


class AmendmentIn(RepaymentIn):
    """The instalment's corrected values (all of them, as for a new one) and why."""

    reason: Reason


class AmendmentOut(Strict):
    id: int
    reason: str
    amended_by: str
    amended_at: datetime
    #: the values the amendment replaced (the first amendment's are the original ones)
    before: dict[str, str | None]
    after: dict[str, str | None]

    @classmethod
    def of(cls, a: RepaymentAmendment) -> AmendmentOut:
        return cls(
            id=a.id,
            reason=a.reason,
            amended_by=a.amended_by,
            amended_at=a.amended_at,
            before=a.before,
            after=a.after,
        )


class RepaymentOut(Strict):
    id: int
    loan_id: str
    due_on: date
    due_amount: Decimal
    paid_on: date | None
    paid_amount: Decimal
    kind: str
    #: every correction, oldest first (empty when the instalment stands as first recorded)
    amendments: list[AmendmentOut] = Field(default_factory=list)

    @classmethod
    def of(cls, r: Repayment, amendments: list[RepaymentAmendment] | None = None) -> RepaymentOut:
        return cls(
            id=r.id,
            loan_id=r.loan_id,
            due_on=r.due_on,
            due_amount=r.due_amount,
            paid_on=r.paid_on,
            paid_amount=r.paid_amount,
            kind=r.kind,
            amendments=[AmendmentOut.of(a) for a in amendments or []],
        )


class RepaymentList(Page):
    items: list[RepaymentOut]


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
    """The loan, with its count of technical overdues (instalments paid a few days late)."""
    out = LoanOut.of(service.get(session, loan_id))
    tally, window = technical_overdue.recent_for_loan(session, loan_id, date.today())
    out.technical_overdues = TechnicalOverdues(
        count=tally.count, max_days_late=tally.max_days_late, window_days=window
    )
    return out


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

    The same instalment (loan, due date, kind) posted again is refused with 409 naming the
    stored one: a correction, or a payment arriving later, is an amendment of it.
    """
    repayment = loan_cases.record_repayment(
        services, loan_id, service.RepaymentData(**body.model_dump()), actor=caller.actor
    )
    return RepaymentOut.of(repayment)


@router.get("/loans/{loan_id}/repayments", response_model=RepaymentList)
def list_repayments(
    loan_id: PathId,
    session: SessionDep,
    caller: Reader,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> RepaymentList:
    """The loan's instalments by due date, each with its amendments (oldest first)."""
    rows, total = service.repayments(session, loan_id, limit=limit, offset=offset)
    found = service.amendments(session, [r.id for r in rows])
    return RepaymentList(
        total=total,
        limit=limit,
        offset=offset,
        items=[RepaymentOut.of(r, found[r.id]) for r in rows],
    )


@router.post(
    "/loans/{loan_id}/repayments/{repayment_id}/amendments",
    status_code=status.HTTP_201_CREATED,
    response_model=RepaymentOut,
)
def amend_repayment(
    loan_id: PathId,
    repayment_id: PathInt,
    body: AmendmentIn,
    services: ServicesDep,
    session: SessionDep,
    caller: Integrator,
) -> RepaymentOut:
    """Correct a recorded instalment with a reason (audited): the instalment takes the new
    values, the amendment keeps the ones it replaced, so the original stays on record. The loan
    is reclassified as after a new instalment. Moving it onto another stored instalment (same
    due date and kind) is a 409; an amendment that changes nothing a 422."""
    loan_cases.amend_repayment(
        services,
        loan_id,
        repayment_id,
        service.RepaymentData(**body.model_dump(exclude={"reason"})),
        reason=body.reason,
        actor=caller.actor,
    )
    repayment = service.get_repayment(session, loan_id, repayment_id)
    return RepaymentOut.of(repayment, service.amendments(session, [repayment_id])[repayment_id])


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
