"""Loans, their approval conditions, collaterals and repayments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from postloan import audit
from postloan.bounds import InputBounds, bounds, id_taken_message
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.loans import buckets
from postloan.loans.arrears import Arrears, arrears_as_of
from postloan.loans.models import (
    ApprovalCondition,
    Collateral,
    Loan,
    Repayment,
    RepaymentAmendment,
)


@dataclass(frozen=True)
class CollateralData:
    id: str
    kind: str
    value: Decimal
    currency: str
    description: str = ""
    next_valuation_due_on: date | None = None
    insurance_expires_on: date | None = None


@dataclass(frozen=True)
class LoanData:
    id: str
    customer_id: str
    product: str
    amount: Decimal
    currency: str
    disbursed_on: date
    maturity_on: date
    purpose: str
    approval_conditions: list[str] = field(default_factory=list)
    collaterals: list[CollateralData] = field(default_factory=list)
    credit_line_expires_on: date | None = None


REPAYMENT_KINDS = ("instalment", "principal", "interest")


@dataclass(frozen=True)
class RepaymentData:
    due_on: date
    due_amount: Decimal
    paid_on: date | None
    paid_amount: Decimal
    #: ``instalment`` (principal and interest), ``principal`` or ``interest``.
    kind: str = "instalment"


def register(session: Session, data: LoanData, *, actor: str) -> Loan:
    """Register a disbursed loan with its approval conditions and collaterals, all or nothing."""
    if session.get(Customer, data.customer_id) is None:
        raise InvalidInput(f"customer {data.customer_id!r} does not exist", field="customer_id")
    stored = session.scalar(select(Loan.id).where(func.lower(Loan.id) == data.id.lower()))
    if stored is not None:
        raise Conflict(id_taken_message("loan", data.id, stored), field="id")
    if data.maturity_on < data.disbursed_on:
        raise InvalidInput("maturity_on is before disbursed_on", field="maturity_on")
    ids = [c.id for c in data.collaterals]
    if len({i.lower() for i in ids}) != len(ids):
        raise InvalidInput(
            "collateral ids repeat (ids may not differ only in case)", field="collaterals"
        )
    taken = session.scalars(
        select(Collateral.id).where(func.lower(Collateral.id).in_([i.lower() for i in ids]))
    ).all()
    if taken:
        wanted = next(i for i in ids if i.lower() == taken[0].lower())
        raise Conflict(id_taken_message("collateral", wanted, taken[0]), field="collaterals")
    loan = Loan(
        id=data.id,
        customer_id=data.customer_id,
        product=data.product,
        amount=data.amount,
        currency=data.currency,
        disbursed_on=data.disbursed_on,
        maturity_on=data.maturity_on,
        purpose=data.purpose,
        credit_line_expires_on=data.credit_line_expires_on,
        approval_conditions=[
            ApprovalCondition(seq=i, text=text)
            for i, text in enumerate(data.approval_conditions, start=1)
        ],
        collaterals=[
            Collateral(
                id=c.id,
                kind=c.kind,
                value=c.value,
                currency=c.currency,
                description=c.description,
                next_valuation_due_on=c.next_valuation_due_on,
                insurance_expires_on=c.insurance_expires_on,
            )
            for c in data.collaterals
        ],
    )
    session.add(loan)
    audit.record(
        session,
        actor=actor,
        action="loan.registered",
        object_type="loan",
        object_id=data.id,
        detail={"customer_id": data.customer_id, "amount": str(data.amount)},
    )
    try:
        session.flush()
    except IntegrityError as exc:  # the same loan or collateral registered concurrently
        session.rollback()
        raise Conflict(
            f"loan {data.id!r} or one of its collaterals was registered concurrently", field="id"
        ) from exc
    return loan


def get(session: Session, loan_id: str) -> Loan:
    """A loan with its conditions and collaterals loaded."""
    loan = session.scalars(
        select(Loan)
        .where(Loan.id == loan_id)
        .options(selectinload(Loan.approval_conditions), selectinload(Loan.collaterals))
    ).one_or_none()
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    return loan


class DuplicateInstalment(Conflict):
    """The loan has this instalment (due date and kind) already: a correction is an amendment."""

    def __init__(self, loan_id: str, data: RepaymentData, repayment_id: int | None) -> None:
        which = f" (repayment {repayment_id})" if repayment_id else ""
        super().__init__(
            f"loan {loan_id} already has the {data.kind} due {data.due_on.isoformat()}{which}; "
            f"correct it with POST /loans/{loan_id}/repayments/{repayment_id or '{id}'}/amendments",
            field="due_on",
        )
        self.repayment_id = repayment_id


def _due_on(r: Repayment) -> date:
    return r.due_on


def schedule(session: Session, loan_id: str) -> list[Repayment]:
    """The loan's repayment rows in due-date order (one read)."""
    return list(
        session.scalars(
            select(Repayment).where(Repayment.loan_id == loan_id).order_by(Repayment.due_on)
        )
    )


def _instalment(
    session: Session,
    loan_id: str,
    due_on: date,
    kind: str,
    schedule: list[Repayment] | None = None,
) -> Repayment | None:
    """The stored instalment (due date, kind) of the loan: from ``schedule`` when the caller read
    it in this transaction, else from the database."""
    if schedule is not None:
        return next((r for r in schedule if (r.due_on, r.kind) == (due_on, kind)), None)
    return session.scalars(
        select(Repayment).where(
            Repayment.loan_id == loan_id, Repayment.due_on == due_on, Repayment.kind == kind
        )
    ).one_or_none()


def _checked(loan: Loan, data: RepaymentData) -> None:
    if data.kind not in REPAYMENT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(REPAYMENT_KINDS)}", field="kind")
    problem = repayment_problem(loan.disbursed_on, loan.maturity_on, loan.amount, data)
    if problem is not None:
        raise InvalidInput(problem[1], field=problem[0])


def record_repayment(
    session: Session,
    loan_id: str,
    data: RepaymentData,
    *,
    actor: str,
    schedule: list[Repayment] | None = None,
) -> Repayment:
    """Record an instalment of the schedule with what was paid on it.

    The same instalment (loan, due date, kind) posted twice is refused with
    :class:`DuplicateInstalment` (409, naming the stored one), also when a concurrent request
    stored it first; what changes on a recorded instalment (a payment arriving, a correction) is
    an explicit :func:`amend_repayment`.

    ``schedule``: the loan's schedule as the caller read it in this transaction
    (:func:`schedule`). It is searched instead of the database and brought up to date in place
    (the new row in due-date order), so the caller's later steps need not read it again."""
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    _checked(loan, data)
    stored = _instalment(session, loan_id, data.due_on, data.kind, schedule)
    if stored is not None:
        raise DuplicateInstalment(loan_id, data, stored.id)
    repayment = Repayment(
        loan_id=loan_id,
        due_on=data.due_on,
        due_amount=data.due_amount,
        paid_on=data.paid_on,
        paid_amount=data.paid_amount,
        kind=data.kind,
    )
    session.add(repayment)
    try:
        session.flush()
    except IntegrityError as exc:  # the same instalment stored concurrently
        session.rollback()
        again = _instalment(session, loan_id, data.due_on, data.kind)
        raise DuplicateInstalment(loan_id, data, again.id if again else None) from exc
    audit.record(
        session,
        actor=actor,
        action="repayment.recorded",
        object_type="loan",
        object_id=loan_id,
        detail={
            "repayment_id": repayment.id,
            "due_on": data.due_on.isoformat(),
            "kind": data.kind,
            "paid_amount": str(data.paid_amount),
        },
    )
    session.flush()
    if schedule is not None:
        schedule.append(repayment)
        schedule.sort(key=_due_on)
    # Days past due change with every repayment: keep the bucket and its history current.
    buckets.update_bucket(session, loan, date.today(), schedule)
    return repayment


def _values(r: Repayment | RepaymentData) -> dict[str, str | None]:
    return {
        "due_on": r.due_on.isoformat(),
        "due_amount": f"{Decimal(r.due_amount):.2f}",
        "paid_on": r.paid_on.isoformat() if r.paid_on else None,
        "paid_amount": f"{Decimal(r.paid_amount):.2f}",
        "kind": r.kind,
    }


def get_repayment(session: Session, loan_id: str, repayment_id: int) -> Repayment:
    repayment = session.get(Repayment, repayment_id)
    if repayment is None or repayment.loan_id != loan_id:
        raise NotFound(f"repayment {repayment_id} of loan {loan_id!r} does not exist")
    return repayment


def amend_repayment(
    session: Session,
    loan_id: str,
    repayment_id: int,
    data: RepaymentData,
    *,
    reason: str,
    actor: str,
    schedule: list[Repayment] | None = None,
) -> RepaymentAmendment:
    """Correct a recorded instalment: the repayment takes the new values, the amendment keeps
    the ones it replaced (the first amendment's ``before`` is the original), the reason and who;
    audited. The same rules as a new instalment apply; moving it onto another stored instalment
    (due date and kind) is a conflict, and an amendment that changes nothing is invalid.

    ``schedule``: as for :func:`record_repayment` (kept in due-date order after the change)."""
    if session.get(Loan, loan_id) is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    repayment = get_repayment(session, loan_id, repayment_id)
    loan = session.get(Loan, loan_id)
    assert loan is not None
    _checked(loan, data)
    before, after = _values(repayment), _values(data)
    if before == after:
        raise InvalidInput("the amendment changes nothing", field="due_amount")
    other = _instalment(session, loan_id, data.due_on, data.kind, schedule)
    if other is not None and other.id != repayment.id:
        raise DuplicateInstalment(loan_id, data, other.id)
    repayment.due_on = data.due_on
    repayment.due_amount = data.due_amount
    repayment.paid_on = data.paid_on
    repayment.paid_amount = data.paid_amount
    repayment.kind = data.kind
    amendment = RepaymentAmendment(
        repayment_id=repayment.id,
        loan_id=loan_id,
        reason=reason,
        amended_by=actor,
        amended_at=utcnow(),
        before=before,
        after=after,
    )
    session.add(amendment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="repayment.amended",
        object_type="loan",
        object_id=loan_id,
        detail={
            "repayment_id": repayment.id,
            "amendment_id": amendment.id,
            "reason": reason,
            "before": before,
            "after": after,
        },
    )
    session.flush()
    if schedule is not None:  # the session's one object for the row: it is in the list
        schedule.sort(key=_due_on)
    buckets.update_bucket(session, loan, date.today(), schedule)
    return amendment


def amendments(session: Session, repayment_ids: list[int]) -> dict[int, list[RepaymentAmendment]]:
    """The amendments of these repayments, oldest first (one query)."""
    found: dict[int, list[RepaymentAmendment]] = {i: [] for i in repayment_ids}
    if repayment_ids:
        for a in session.scalars(
            select(RepaymentAmendment)
            .where(RepaymentAmendment.repayment_id.in_(repayment_ids))
            .order_by(RepaymentAmendment.id)
        ):
            found[a.repayment_id].append(a)
    return found


def repayments(
    session: Session, loan_id: str, *, limit: int = 50, offset: int = 0
) -> tuple[list[Repayment], int]:
    """The loan's instalments by due date (then kind), with the total count."""
    if session.get(Loan, loan_id) is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    total = (
        session.scalar(
            select(func.count()).select_from(Repayment).where(Repayment.loan_id == loan_id)
        )
        or 0
    )
    rows = session.scalars(
        select(Repayment)
        .where(Repayment.loan_id == loan_id)
        .order_by(Repayment.due_on, Repayment.kind, Repayment.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def repayment_problem(
    disbursed_on: date,
    maturity_on: date,
    loan_amount: Decimal,
    data: RepaymentData,
    limits: InputBounds | None = None,
) -> tuple[str, str] | None:
    """(field, why) when an instalment is implausible for its loan, else None: paid without a
    date, due or paid before the disbursement, due too long after maturity, an amount due
    beyond the configured multiple of the loan, a payment beyond the configured multiple of
    the amount due. The bulk import applies the same rules (``postloan.importer.kinds``)."""
    limits = limits or bounds()
    if data.paid_on is None and data.paid_amount > 0:
        return "paid_on", "paid_amount given without paid_on"
    if data.due_on < disbursed_on:
        return "due_on", f"due_on is before the loan's disbursement ({disbursed_on.isoformat()})"
    latest_due = maturity_on + timedelta(days=limits.dates.due_after_maturity_max_days)
    if data.due_on > latest_due:
        return "due_on", (
            f"due_on is more than {limits.dates.due_after_maturity_max_days} days "
            f"after the loan's maturity ({maturity_on.isoformat()})"
        )
    if data.paid_on is not None and data.paid_on < disbursed_on:
        return "paid_on", (
            f"paid_on is before the loan's disbursement ({disbursed_on.isoformat()})"
        )
    due_max = loan_amount * limits.amounts.due_max_multiple_of_loan
    if data.due_amount > due_max:
        return "due_amount", (
            f"due_amount is more than {limits.amounts.due_max_multiple_of_loan}"
            f" x the loan amount ({due_max})"
        )
    paid_max = data.due_amount * limits.amounts.payment_max_multiple_of_due
    if data.paid_amount > paid_max:
        return "paid_amount", (
            f"paid_amount is more than "
            f"{limits.amounts.payment_max_multiple_of_due} x due_amount "
            f"({paid_max})"
        )
    return None


def arrears(session: Session, loan_id: str, as_of: date) -> tuple[Arrears, list[Repayment]]:
    """The loan's arrears on ``as_of`` and the schedule rows they were computed from."""
    rows = schedule(session, loan_id)
    return arrears_as_of(rows, as_of), rows
