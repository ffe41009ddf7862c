"""What each kind of import file becomes: table rows, references to check, keys that must be new.

Rows arrive validated by the API's pydantic input models (duck-typed here: attribute access only),
so a file row obeys the same rules as a REST call. The business rules the services check beyond
field types (maturity after disbursement, paid amount needs a paid date, no instalment before
the loan's disbursement, amounts within the configured bounds) are repeated here, and new ids
may not equal a stored one ignoring case (``nocase``), like the services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, func, select
from sqlalchemy.orm import Session

from postloan.customers import address
from postloan.customers.models import Customer
from postloan.events.models import ExternalEvent
from postloan.financials.models import FinancialStatement
from postloan.loans.models import (
    ApprovalCondition,
    Collateral,
    CollateralValuation,
    Loan,
    Repayment,
)
from postloan.loans.restructuring import (
    LoanRestructuring,
    RestructuringTerms,
)
from postloan.loans.restructuring import problems as restructuring_problems

TableRows = Iterable[tuple[Table, dict[str, Any]]]
Key = tuple[Any, ...]

CUSTOMER: Table = Customer.__table__
LOAN: Table = Loan.__table__
CONDITION: Table = ApprovalCondition.__table__
COLLATERAL: Table = Collateral.__table__
REPAYMENT: Table = Repayment.__table__
STATEMENT: Table = FinancialStatement.__table__
VALUATION: Table = CollateralValuation.__table__
EVENT: Table = ExternalEvent.__table__
RESTRUCTURING: Table = LoanRestructuring.__table__


@dataclass(frozen=True)
class Reference:
    """``field`` of a row names a record of ``column`` that must exist already."""

    field: str
    column: Column


@dataclass(frozen=True)
class FactFeed:
    """Rows of a kind are facts that feed checks (``postloan.application.facts``): after an
    import, one check per ``subject`` (customer, collateral or loan) whose rows it inserted."""

    kind: str
    table: Table
    subject: str
    date: str


@dataclass(frozen=True)
class Kind:
    name: str
    #: Tables in insert order (parents first).
    tables: tuple[Table, ...]
    to_rows: Callable[[Any, datetime], TableRows]
    references: tuple[Reference, ...] = ()
    #: The row's unique key (for duplicates within the file and against the database).
    key: Callable[[Any], Key] = lambda _: ()
    #: Columns of ``key`` in the table of ``tables[0]``; looked up to refuse keys already stored.
    key_columns: tuple[str, ...] = ()
    #: (field, message) when a business rule beyond field types fails.
    check: Callable[[Any], tuple[str, str] | None] = lambda _: None
    #: The field a repeated or already stored key is reported on (default: the key's last).
    duplicate_field: str | None = None
    #: Rows whose key is already stored are skipped instead of refused (events are idempotent).
    skip_existing: bool = False
    #: Extra unique keys a row brings (collateral ids of a loan): (field, column, values).
    extra_keys: Callable[[Any], Iterable[tuple[str, Column, Any]]] = field(default=lambda _: ())
    #: The key (a chosen id) and the extra keys are unique ignoring case.
    nocase: bool = False
    #: Rules relative to stored data: (index in the batch, field, message) per bad row.
    stored_check: Callable[[Session, list[Any]], Iterable[tuple[int, str, str]]] = field(
        default=lambda _session, _models: ()
    )
    #: Called once after the kind's rows are written: (session, actor).
    after_import: Callable[[Session, str], None] | None = None
    #: The checks the kind's rows feed (statements, valuations, events, repayments).
    fact: FactFeed | None = None


def _stamped(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    row["created_at"] = now
    row["modified_at"] = now
    return row


def _customer_rows(m: Any, now: datetime) -> TableRows:
    yield (
        CUSTOMER,
        _stamped(
            {
                "id": m.id,
                "name": m.name,
                "segment": m.segment,
                "industry": m.industry,
                "branch": m.branch,
                "account_manager": m.account_manager,
                "credit_rating": m.credit_rating,
                "registered_address": getattr(m, "registered_address", None),
                "latitude": getattr(m, "latitude", None),
                "longitude": getattr(m, "longitude", None),
                "rating_valid_until": getattr(m, "rating_valid_until", None),
                "annual_review_due_on": getattr(m, "annual_review_due_on", None),
            },
            now,
        ),
    )


def _loan_rows(m: Any, now: datetime) -> TableRows:
    yield (
        LOAN,
        _stamped(
            {
                "id": m.id,
                "customer_id": m.customer_id,
                "product": m.product,
                "amount": m.amount,
                "currency": m.currency,
                "disbursed_on": m.disbursed_on,
                "maturity_on": m.maturity_on,
                "purpose": m.purpose,
                "risk_class": "normal",
                "risk_class_reason": "Not yet classified: new loan",
                "next_inspection_on": None,
                "restructured_on": None,
                "delinquency_bucket": "current",
                "credit_line_expires_on": getattr(m, "credit_line_expires_on", None),
            },
            now,
        ),
    )
    for seq, text in enumerate(m.approval_conditions, start=1):
        yield CONDITION, {"loan_id": m.id, "seq": seq, "text": text}
    for c in m.collaterals:
        yield (
            COLLATERAL,
            _stamped(
                {
                    "id": c.id,
                    "loan_id": m.id,
                    "kind": c.kind,
                    "description": c.description,
                    "value": c.value,
                    "currency": c.currency,
                    "next_valuation_due_on": getattr(c, "next_valuation_due_on", None),
                    "insurance_expires_on": getattr(c, "insurance_expires_on", None),
                },
                now,
            ),
        )


def _loan_check(m: Any) -> tuple[str, str] | None:
    if m.maturity_on < m.disbursed_on:
        return "maturity_on", "maturity_on is before disbursed_on"
    ids = [c.id.lower() for c in m.collaterals]
    if len(set(ids)) != len(ids):
        return "collaterals", "collateral ids repeat (ids may not differ only in case)"
    return None


def _repayment_rows(m: Any, now: datetime) -> TableRows:
    yield (
        REPAYMENT,
        _stamped(
            {
                "loan_id": m.loan_id,
                "due_on": m.due_on,
                "due_amount": m.due_amount,
                "paid_on": m.paid_on,
                "paid_amount": m.paid_amount,
                "kind": m.kind,
            },
            now,
        ),
    )


def _repayment_check(m: Any) -> tuple[str, str] | None:
    if m.paid_on is None and m.paid_amount > 0:
        return "paid_on", "paid_amount given without paid_on"
    return None


def _repayment_stored_check(session: Session, models: list[Any]) -> Iterable[tuple[int, str, str]]:
    """The service's rules relative to the loan (``loans.service.repayment_problem``)."""
    from postloan.loans.service import RepaymentData, repayment_problem

    ids = {m.loan_id for m in models}
    loans = (
        {
            row.id: row
            for row in session.execute(
                select(LOAN.c.id, LOAN.c.disbursed_on, LOAN.c.maturity_on, LOAN.c.amount).where(
                    LOAN.c.id.in_(ids)
                )
            )
        }
        if ids
        else {}
    )
    for index, m in enumerate(models):
        loan = loans.get(m.loan_id)
        if loan is None:
            continue  # the reference check names it
        problem = repayment_problem(
            loan.disbursed_on,
            loan.maturity_on,
            loan.amount,
            RepaymentData(
                due_on=m.due_on,
                due_amount=m.due_amount,
                paid_on=m.paid_on,
                paid_amount=m.paid_amount,
                kind=m.kind,
            ),
        )
        if problem is not None:
            yield index, *problem


def _statement_rows(m: Any, now: datetime) -> TableRows:
    yield (
        STATEMENT,
        _stamped(
            {
                "customer_id": m.customer_id,
                "period_end": m.period_end,
                "revenue": m.revenue,
                "net_profit": m.net_profit,
                "total_assets": m.total_assets,
                "total_liabilities": m.total_liabilities,
                "operating_cash_flow": m.operating_cash_flow,
                "utility_consumption": m.utility_consumption,
                "current_assets": m.current_assets,
                "current_liabilities": m.current_liabilities,
            },
            now,
        ),
    )


def _valuation_rows(m: Any, now: datetime) -> TableRows:
    yield (
        VALUATION,
        _stamped(
            {
                "collateral_id": m.collateral_id,
                "valued_on": m.valued_on,
                "value": m.value,
                "valuer": m.valuer,
            },
            now,
        ),
    )


def _event_rows(m: Any, now: datetime) -> TableRows:
    yield (
        EVENT,
        _stamped(
            {
                "customer_id": m.customer_id,
                "kind": str(m.kind),
                "occurred_on": m.occurred_on,
                "source": m.source,
                "source_ref": m.source_ref,
                "details": m.details,
            },
            now,
        ),
    )


def _customer_check(m: Any) -> tuple[str, str] | None:
    found = address.problem(getattr(m, "latitude", None), getattr(m, "longitude", None))
    return (found[0], f"{found[0]} {found[1]}") if found else None


#: ``class_before`` and ``recorded_by`` of a restructuring row until :func:`_settle_restructurings`
#: fills them in (the loan's class and the importer's actor are not known to ``to_rows``).
_UNSETTLED = ""


def _restructuring_rows(m: Any, now: datetime) -> TableRows:
    yield (
        RESTRUCTURING,
        _stamped(
            {
                "loan_id": m.loan_id,
                "restructured_on": m.restructured_on,
                "new_maturity_on": m.new_maturity_on,
                "new_instalment_amount": m.new_instalment_amount,
                "new_interest_rate": m.new_interest_rate,
                "reason": m.reason.strip(),
                "class_before": _UNSETTLED,
                "recorded_by": _UNSETTLED,
            },
            now,
        ),
    )


def _restructuring_stored_check(
    session: Session, models: list[Any]
) -> Iterable[tuple[int, str, str]]:
    """The service's rules relative to the loan (``loans.restructuring.problems``), and no
    restructuring dated before the loan's latest one (as over REST)."""
    ids = {m.loan_id for m in models}
    loans = {loan.id: loan for loan in session.scalars(select(Loan).where(Loan.id.in_(ids)))}
    for index, m in enumerate(models):
        loan = loans.get(m.loan_id)
        if loan is None:
            continue  # the reference check names it
        terms = RestructuringTerms(
            restructured_on=m.restructured_on,
            reason=m.reason,
            new_maturity_on=m.new_maturity_on,
            new_instalment_amount=m.new_instalment_amount,
            new_interest_rate=m.new_interest_rate,
        )
        for name, why in restructuring_problems(loan, terms).items():
            yield index, name, f"{name} {why}"
        if loan.restructured_on is not None and m.restructured_on < loan.restructured_on:
            yield (
                index,
                "restructured_on",
                f"loan {loan.id!r} was last restructured on {loan.restructured_on.isoformat()}: "
                "an earlier restructuring cannot be recorded after it",
            )


def _settle_restructurings(session: Session, actor: str) -> None:
    """After the rows are in: each imported restructuring gets its loan's class and the actor,
    is audited, and its loan's restructuring date (and new maturity) become the latest one's.
    The loans are reclassified by the next classification scan, as after imported repayments."""
    from postloan.loans.restructuring import settle_imported

    settle_imported(session, actor=actor, unsettled=_UNSETTLED)


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "customers",
            (CUSTOMER,),
            _customer_rows,
            check=_customer_check,
            key=lambda m: (m.id,),
            key_columns=("id",),
            nocase=True,
        ),
        Kind(
            "loans",
            (LOAN, CONDITION, COLLATERAL),
            _loan_rows,
            references=(Reference("customer_id", CUSTOMER.c.id),),
            key=lambda m: (m.id,),
            key_columns=("id",),
            check=_loan_check,
            extra_keys=lambda m: (("collaterals", COLLATERAL.c.id, c.id) for c in m.collaterals),
            nocase=True,
        ),
        Kind(
            "repayments",
            (REPAYMENT,),
            _repayment_rows,
            references=(Reference("loan_id", LOAN.c.id),),
            # one instalment per loan, due date and kind (a second one is refused, as over REST)
            key=lambda m: (m.loan_id, m.due_on, m.kind),
            key_columns=("loan_id", "due_on", "kind"),
            duplicate_field="due_on",
            check=_repayment_check,
            stored_check=_repayment_stored_check,
            fact=FactFeed("repayment", REPAYMENT, "loan_id", "due_on"),
        ),
        Kind(
            "restructurings",
            (RESTRUCTURING,),
            _restructuring_rows,
            references=(Reference("loan_id", LOAN.c.id),),
            key=lambda m: (m.loan_id, m.restructured_on),
            key_columns=("loan_id", "restructured_on"),
            stored_check=_restructuring_stored_check,
            after_import=_settle_restructurings,
        ),
        Kind(
            "financial-statements",
            (STATEMENT,),
            _statement_rows,
            references=(Reference("customer_id", CUSTOMER.c.id),),
            key=lambda m: (m.customer_id, m.period_end),
            key_columns=("customer_id", "period_end"),
            fact=FactFeed("financial_statement", STATEMENT, "customer_id", "period_end"),
        ),
        Kind(
            "valuations",
            (VALUATION,),
            _valuation_rows,
            references=(Reference("collateral_id", COLLATERAL.c.id),),
            key=lambda m: (m.collateral_id, m.valued_on),
            key_columns=("collateral_id", "valued_on"),
            fact=FactFeed("collateral_valuation", VALUATION, "collateral_id", "valued_on"),
        ),
        Kind(
            "external-events",
            (EVENT,),
            _event_rows,
            references=(Reference("customer_id", CUSTOMER.c.id),),
            key=lambda m: (m.customer_id, str(m.kind), m.occurred_on, m.source, m.source_ref),
            key_columns=("customer_id", "kind", "occurred_on", "source", "source_ref"),
            skip_existing=True,
            fact=FactFeed("external_event", EVENT, "customer_id", "occurred_on"),
        ),
    )
}

#: The order a whole portfolio must be imported in (references point backwards).
ORDER = (
    "customers",
    "loans",
    "repayments",
    "restructurings",
    "financial-statements",
    "valuations",
    "external-events",
)


def existing_ids(
    session: Session, column: Column, values: Iterable[Any], *, nocase: bool = False
) -> set[Any]:
    """Which of ``values`` are stored in ``column``; with ``nocase``, which equal a stored value
    ignoring case (found through the ``lower(id)`` indexes)."""
    wanted = set(values)
    if not wanted:
        return set()
    if nocase:
        stored = {
            v.lower()
            for v in session.scalars(
                select(column).where(func.lower(column).in_({w.lower() for w in wanted}))
            )
        }
        return {w for w in wanted if w.lower() in stored}
    return set(session.scalars(select(column).where(column.in_(wanted))))


def existing_keys(session: Session, kind: Kind, keys: Iterable[Key]) -> set[Key]:
    """Which of ``keys`` are stored already (one query per batch)."""
    wanted = set(keys)
    if not wanted or not kind.key_columns:
        return set()
    table = kind.tables[0]
    columns = [table.c[name] for name in kind.key_columns]
    if len(columns) == 1:
        if kind.nocase:
            return {
                (v,) for v in existing_ids(session, columns[0], (k[0] for k in wanted), nocase=True)
            }
        return {
            (v,)
            for v in session.scalars(
                select(columns[0]).where(columns[0].in_([k[0] for k in wanted]))
            )
        }
    # Narrow by the first column (indexed), compare whole keys in Python.
    firsts = {k[0] for k in wanted}
    rows = session.execute(select(*columns).where(columns[0].in_(firsts)))
    return {tuple(r) for r in rows} & wanted
