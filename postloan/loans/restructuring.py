"""Restructurings of a loan: the new terms agreed with a debtor in difficulty, and their effect.

A restructuring is a fact with a date and terms (a new maturity, a new instalment, a new rate, the
reason). Recording one sets the loan's ``restructured_on`` (the latest restructuring's date), and
with it the observation period of the five-category rules: the classification table
(``bpmn/risk_classification.dmn``) keeps the loan from an upgrade until the period has passed, and
gives it a floor during it (``postloan/classification/restructuring.yaml`` holds the period's
length; :func:`postloan.classification.rules.in_observation` measures it).

The loan is classified again in the same transaction (source ``restructuring``), so the class the
API answers with already reflects the new terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from postloan import audit
from postloan.bounds import bounds as get_bounds
from postloan.db import Base, Timestamped
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.loans.models import MONEY, Loan

#: An interest rate in percent a year, e.g. ``4.35``.
RATE = Numeric(7, 4)


class LoanRestructuring(Timestamped, Base):
    """One restructuring of a loan. Terms left out did not change.

    ``class_before`` is the loan's class when the restructuring was recorded (the rules compare
    what follows with it); ``recorded_by`` the API key or importer that recorded it.
    """

    __tablename__ = "loan_restructuring"
    __table_args__ = (
        UniqueConstraint("loan_id", "restructured_on"),
        CheckConstraint(
            "new_instalment_amount IS NULL OR new_instalment_amount > 0",
            name="instalment_positive",
        ),
        CheckConstraint(
            "new_interest_rate IS NULL OR new_interest_rate >= 0", name="rate_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loan.id"), index=True)
    restructured_on: Mapped[date] = mapped_column(Date)
    new_maturity_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    new_instalment_amount: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    new_interest_rate: Mapped[Decimal | None] = mapped_column(RATE, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    class_before: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(200))


@dataclass(frozen=True)
class RestructuringTerms:
    """What a caller records; ``None`` terms stay as they were."""

    restructured_on: date
    reason: str
    new_maturity_on: date | None = None
    new_instalment_amount: Decimal | None = None
    new_interest_rate: Decimal | None = None


#: Highest plausible rate (percent a year); above it a figure was keyed wrong (basis points?).
MAX_RATE = Decimal(100)


def problems(loan: Loan, terms: RestructuringTerms, today: date | None = None) -> dict[str, str]:
    """Every field of ``terms`` that is not plausible for ``loan``: field -> why (empty if none)."""
    bounds = get_bounds()
    out: dict[str, str] = {}
    on = terms.restructured_on
    problem = bounds.fact_date_problem(on, today)
    if problem:
        out["restructured_on"] = problem
    elif on < loan.disbursed_on:
        out["restructured_on"] = (
            f"must not be before the loan's disbursement on {loan.disbursed_on.isoformat()}"
        )
    if not terms.reason.strip():
        out["reason"] = "must say why the loan was restructured"
    if terms.new_maturity_on is not None:
        problem = bounds.scheduled_date_problem(terms.new_maturity_on, today)
        if problem:
            out["new_maturity_on"] = problem
        elif terms.new_maturity_on <= on:
            out["new_maturity_on"] = f"must be after the restructuring date {on.isoformat()}"
    if terms.new_instalment_amount is not None:
        if terms.new_instalment_amount <= 0:
            out["new_instalment_amount"] = "must be greater than 0"
        elif terms.new_instalment_amount > loan.amount * bounds.amounts.due_max_multiple_of_loan:
            out["new_instalment_amount"] = (
                f"must be at most {bounds.amounts.due_max_multiple_of_loan} times the loan "
                f"amount {loan.amount}"
            )
    if terms.new_interest_rate is not None and not (
        Decimal(0) <= terms.new_interest_rate <= MAX_RATE
    ):
        out["new_interest_rate"] = f"must be a percentage from 0 to {MAX_RATE}"
    return out


def _loan(session: Session, loan_id: str, *, lock: bool = False) -> Loan:
    query = select(Loan).where(Loan.id == loan_id)
    if lock:
        query = query.with_for_update()
    loan = session.scalars(query).first()
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    return loan


def record(
    session: Session,
    loan_id: str,
    terms: RestructuringTerms,
    *,
    actor: str,
    today: date | None = None,
) -> LoanRestructuring:
    """Store a restructuring and apply its terms to the loan (flushes, never commits).

    Refuses implausible terms (422 naming the first field at fault), a second restructuring on
    the same day (409), and one dated before the loan's latest restructuring (409: history is
    not rewritten). The loan's ``restructured_on`` becomes this date; a new maturity replaces
    the loan's.
    """
    loan = _loan(session, loan_id, lock=True)
    found = problems(loan, terms, today)
    if found:
        field, why = next(iter(found.items()))
        raise InvalidInput(f"{field} {why}", field=field)
    same_day = session.scalars(
        select(LoanRestructuring).where(
            LoanRestructuring.loan_id == loan_id,
            LoanRestructuring.restructured_on == terms.restructured_on,
        )
    ).first()
    if same_day is not None:
        raise Conflict(
            f"loan {loan_id!r} already has a restructuring on "
            f"{terms.restructured_on.isoformat()} (id {same_day.id})",
            field="restructured_on",
        )
    if loan.restructured_on is not None and terms.restructured_on < loan.restructured_on:
        raise Conflict(
            f"loan {loan_id!r} was last restructured on {loan.restructured_on.isoformat()}: "
            "an earlier restructuring cannot be recorded after it",
            field="restructured_on",
        )
    row = LoanRestructuring(
        loan_id=loan_id,
        restructured_on=terms.restructured_on,
        new_maturity_on=terms.new_maturity_on,
        new_instalment_amount=terms.new_instalment_amount,
        new_interest_rate=terms.new_interest_rate,
        reason=terms.reason.strip(),
        class_before=loan.risk_class,
        recorded_by=actor,
    )
    session.add(row)
    before = {
        "maturity_on": loan.maturity_on.isoformat(),
        "restructured_on": loan.restructured_on.isoformat() if loan.restructured_on else None,
    }
    loan.restructured_on = terms.restructured_on
    if terms.new_maturity_on is not None:
        loan.maturity_on = terms.new_maturity_on
    try:
        session.flush()
    except IntegrityError as exc:  # recorded concurrently for the same day
        session.rollback()
        raise Conflict(
            f"loan {loan_id!r} already has a restructuring on {terms.restructured_on.isoformat()}",
            field="restructured_on",
        ) from exc
    audit.record(
        session,
        actor=actor,
        action="loan.restructured",
        object_type="loan",
        object_id=loan_id,
        detail={
            "restructuring_id": row.id,
            "restructured_on": terms.restructured_on.isoformat(),
            "new_maturity_on": _iso(terms.new_maturity_on),
            "new_instalment_amount": _str(terms.new_instalment_amount),
            "new_interest_rate": _str(terms.new_interest_rate),
            "reason": row.reason,
            "class_before": row.class_before,
            "before": before,
        },
    )
    session.flush()
    return row


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _str(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def list_for(session: Session, loan_id: str) -> list[LoanRestructuring]:
    """A loan's restructurings, oldest first (404 for an unknown loan)."""
    _loan(session, loan_id)
    return list(
        session.scalars(
            select(LoanRestructuring)
            .where(LoanRestructuring.loan_id == loan_id)
            .order_by(LoanRestructuring.restructured_on, LoanRestructuring.id)
        )
    )


def settle_imported(session: Session, *, actor: str, unsettled: str) -> int:
    """Finish restructurings the bulk importer inserted (``class_before`` and ``recorded_by``
    still ``unsettled``): each gets its loan's class and the actor and is audited as over REST,
    and every loan concerned takes its latest restructuring's date (and the latest new maturity
    given). Returns how many were settled."""
    rows = list(
        session.scalars(
            select(LoanRestructuring)
            .where(LoanRestructuring.recorded_by == unsettled)
            .order_by(LoanRestructuring.loan_id, LoanRestructuring.restructured_on)
        )
    )
    loans = {
        loan.id: loan
        for loan in session.scalars(select(Loan).where(Loan.id.in_({r.loan_id for r in rows})))
    }
    for row in rows:
        loan = loans[row.loan_id]
        row.class_before, row.recorded_by = loan.risk_class, actor
        before = {
            "maturity_on": loan.maturity_on.isoformat(),
            "restructured_on": _iso(loan.restructured_on),
        }
        if loan.restructured_on is None or row.restructured_on >= loan.restructured_on:
            loan.restructured_on = row.restructured_on
            if row.new_maturity_on is not None:
                loan.maturity_on = row.new_maturity_on
        audit.record(
            session,
            actor=actor,
            action="loan.restructured",
            object_type="loan",
            object_id=row.loan_id,
            detail={
                "restructuring_id": row.id,
                "restructured_on": row.restructured_on.isoformat(),
                "new_maturity_on": _iso(row.new_maturity_on),
                "new_instalment_amount": _str(row.new_instalment_amount),
                "new_interest_rate": _str(row.new_interest_rate),
                "reason": row.reason,
                "class_before": row.class_before,
                "before": before,
                "source": "bulk_import",
            },
        )
    session.flush()
    return len(rows)
