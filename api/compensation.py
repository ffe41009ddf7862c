"""Risk compensation: the deferred pay ledger (``POST /compensation/pay-bases``,
``GET /compensation/ledger``, ``GET /compensation/ledger.csv``).

Pay is sensitive: the ledger is read by admins, auditors and the integrator (payroll), not by
viewers; pay bases are imported by the integrator (or an admin).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AfterValidator, Field

from api.deps import Caller, Integrator, ServicesDep, SessionDep, require
from api.schemas import (
    ID_PATTERN,
    Currency,
    Identifier,
    Limit500,
    Offset,
    Page,
    QueryDate,
    Strict,
)
from postloan.application import compensation as compensation_cases
from postloan.compensation import config, export
from postloan.compensation import rules as arithmetic
from postloan.compensation import service as compensation
from postloan.compensation.models import CompensationEntry, EntryKind
from postloan.errors import InvalidInput

router = APIRouter(prefix="/compensation", tags=["compensation"])

# Read (and check) config/compensation.yaml when the API starts: a broken file fails loudly here.
config.rules()

#: Admins, auditors and payroll (the integrator) read the ledger; viewers do not.
PayReader = Annotated[Caller, Depends(require("integrator", "auditor"))]

Kind = Literal["paid_now", "deferred", "release", "hold", "hold_lifted", "clawback"]
assert set(Kind.__args__) == {k.value for k in EntryKind}  # type: ignore[attr-defined]
#: Batches of pay bases: at most this many items per request.
MAX_ITEMS = 5000


def _period(label: str) -> str:
    problem = arithmetic.period_problem(label, config.rules().pay_period)
    if problem:
        raise ValueError(problem)
    return label


Period = Annotated[
    str,
    Field(
        max_length=7,
        examples=["2026"],
        description="the pay period, as config/compensation.yaml `pay_period` says: "
        "2026 (year), 2026-Q3 (quarter) or 2026-07 (month)",
    ),
    AfterValidator(_period),
]
PerformancePay = Annotated[
    Decimal, Field(gt=0, lt=Decimal(10) ** 16, max_digits=18, decimal_places=2)
]
QueryPerson = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)]
QueryPeriod = Annotated[str | None, Query(max_length=7, description="e.g. 2026 or 2026-Q3")]


class PayBaseIn(Strict):
    """One person's performance pay for one period (the figure before deferral)."""

    person: Identifier = Field(description="the person's user id (their Tasklist user)")
    period: Period
    performance_pay: PerformancePay
    currency: Currency


class PayBaseBatch(Strict):
    """All written or none; the same figure imported again is ``unchanged``."""

    items: list[PayBaseIn] = Field(min_length=1, max_length=MAX_ITEMS)


class TrancheOut(Strict):
    tranche: int
    amount: Decimal
    due_on: date


class PayBaseOut(Strict):
    person: str
    period: str
    performance_pay: Decimal
    currency: str
    #: ``created`` (its rows written now) or ``unchanged`` (the same figure was stored)
    status: str
    paid_now: Decimal
    deferred: Decimal
    deferred_share: Decimal
    tranches: list[TrancheOut]
    imported_at: datetime
    imported_by: str


class PayBaseImportOut(Strict):
    created: int
    unchanged: int
    items: list[PayBaseOut]


class EntryOut(Strict):
    id: int
    person: str
    period: str
    #: paid_now, deferred, release, hold, hold_lifted, clawback (amounts are never negative)
    kind: str
    tranche: int | None
    amount: Decimal
    currency: str
    due_on: date | None
    effective_on: date
    review_id: str | None
    loan_id: str | None
    reason: str
    at: datetime
    by: str


class TotalsOut(Strict):
    """A person's balances over their rows that match the filters (all kinds)."""

    person: str
    currency: str
    paid_now: Decimal
    deferred: Decimal
    #: deferred, neither released nor clawed back yet (``held`` is part of it)
    deferred_outstanding: Decimal
    held: Decimal
    released: Decimal
    clawed_back: Decimal


class LedgerPage(Page):
    items: list[EntryOut]
    #: the balances of every person on this page
    totals: list[TotalsOut]


def entry_out(e: CompensationEntry) -> EntryOut:
    return EntryOut(
        id=e.id,
        person=e.person,
        period=e.period,
        kind=e.kind,
        tranche=e.tranche,
        amount=e.amount,
        currency=e.currency,
        due_on=e.due_on,
        effective_on=e.effective_on,
        review_id=e.review_id,
        loan_id=e.loan_id,
        reason=e.reason,
        at=e.at,
        by=e.by,
    )


def _filter(
    person: QueryPerson = None,
    period: QueryPeriod = None,
    kind: Kind | None = None,
    effective_from: QueryDate = None,
    effective_to: QueryDate = None,
) -> compensation.LedgerFilter:
    """The ledger's filters (query parameters of ``/ledger`` and ``/ledger.csv``)."""
    if period is not None:
        problem = arithmetic.period_problem(period, config.rules().pay_period)
        if problem:
            raise InvalidInput(problem, field="period")
    if effective_from and effective_to and effective_from > effective_to:
        raise InvalidInput("effective_from is after effective_to", field="effective_from")
    return compensation.LedgerFilter(
        person=person,
        period=period,
        kind=kind,
        effective_from=effective_from,
        effective_to=effective_to,
    )


LedgerQuery = Annotated[compensation.LedgerFilter, Depends(_filter)]


@router.post(
    "/pay-bases",
    response_model=PayBaseImportOut,
    status_code=status.HTTP_201_CREATED,
    summary="Import performance pay per person and period: paid now and deferred tranches",
    responses={
        200: {
            "model": PayBaseImportOut,
            "description": "Every item was already stored with the same figure: nothing written",
        }
    },
)
def import_pay_bases(
    body: PayBaseBatch, services: ServicesDep, caller: Integrator, response: Response
) -> PayBaseImportOut:
    """Each item's pay is split as config/compensation.yaml says (default: 60% now, 40%
    deferred in three yearly tranches due on the anniversaries of the period's end). 201 when
    something was written, 200 when every item was already stored with the same figure; a
    stored person and period with another figure is 409 and nothing of the batch is written."""
    results = compensation_cases.import_pay_bases(
        services,
        [
            compensation.PayBaseItem(i.person, i.period, i.performance_pay, i.currency)
            for i in body.items
        ],
        actor=caller.actor,
    )
    created = sum(1 for r in results if r.status == "created")
    if not created:
        response.status_code = status.HTTP_200_OK
    return PayBaseImportOut(
        created=created,
        unchanged=len(results) - created,
        items=[
            PayBaseOut(
                person=r.pay_base.person,
                period=r.pay_base.period,
                performance_pay=r.pay_base.performance_pay,
                currency=r.pay_base.currency,
                status=r.status,
                paid_now=r.split.paid_now,
                deferred=r.split.deferred,
                deferred_share=r.pay_base.deferred_share,
                tranches=[
                    TrancheOut(tranche=t.number, amount=t.amount, due_on=t.due_on)
                    for t in r.split.tranches
                ],
                imported_at=r.pay_base.imported_at,
                imported_by=r.pay_base.imported_by,
            )
            for r in results
        ],
    )


@router.get(
    "/ledger",
    response_model=LedgerPage,
    summary="The deferred pay ledger: rows by person and period, with each person's balances",
)
def ledger(
    session: SessionDep,
    caller: PayReader,
    where: LedgerQuery,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> LedgerPage:
    """Rows ordered by person, period, then as written. ``totals``: for each person on the page,
    the balances over all their rows matching the filters other than ``kind``."""
    rows, total = compensation.search(session, where, limit=limit, offset=offset)
    balances = compensation.person_totals(session, where, {r.person for r in rows})
    return LedgerPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[entry_out(r) for r in rows],
        totals=[TotalsOut(**b.__dict__) for b in balances],
    )


@router.get(
    "/ledger.csv",
    summary="The ledger as CSV for payroll: a header row, one row per ledger row",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8, header row"}},
)
def ledger_csv(session: SessionDep, caller: PayReader, where: LedgerQuery) -> Response:
    """``payable`` is what payroll pays for the row: the amount of ``paid_now`` and ``release``
    rows, 0.00 for the others (deferred, held, clawed back pay is not paid). Filter by
    ``effective_from`` / ``effective_to`` for one payroll run."""
    text = export.ledger_csv(compensation.entries(session, where))
    name = "-".join(["ledger", *(p for p in (where.person, where.period, where.kind) if p)])
    name += ".csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
