"""Business opportunities captured in inspections and vendor visits: list them, record the
outcome (``GET /opportunities``, ``GET /opportunities/{id}``, ``POST /opportunities/{id}/outcome``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Actor, Limit500, Offset, Page, PathInt, QueryId, Strict, text
from postloan.application import opportunities as opportunity_cases
from postloan.opportunities import config
from postloan.opportunities import service as opportunities
from postloan.opportunities.models import Opportunity

router = APIRouter(prefix="/opportunities", tags=["opportunities"])

#: A kind of business need (the kinds of ``config/opportunities.yaml``; checked against it).
Kind = Annotated[str, *text(40, min_length=1)]
Note = Annotated[str, *text(2000, multiline=True)]
Outcome = Literal["open", "won", "lost", "not_pursued"]


class BusinessNeedIn(Strict):
    """A need the customer mentioned: ``kind`` one of config/opportunities.yaml's kinds."""

    kind: Kind
    note: Note = ""


class OpportunityOut(Strict):
    id: int
    customer_id: str
    loan_id: str | None
    kind: str
    kind_label: str
    note: str
    source: str
    source_ref: str
    captured_by: str
    captured_on: date
    owner: str
    follow_up_on: date
    outcome: str
    outcome_note: str
    outcome_by: str | None
    outcome_at: datetime | None


class OpportunityList(Page):
    items: list[OpportunityOut]


class OutcomeIn(Strict):
    """``won``, ``lost``, ``not_pursued``; or ``open`` with a new ``follow_up_on``."""

    outcome: Outcome
    note: Note = ""
    follow_up_on: date | None = None
    recorded_by: Actor


def opportunity_out(row: Opportunity) -> OpportunityOut:
    return OpportunityOut(
        id=row.id,
        customer_id=row.customer_id,
        loan_id=row.loan_id,
        kind=row.kind,
        kind_label=config.load().label(row.kind),
        note=row.note,
        source=row.source,
        source_ref=row.source_ref,
        captured_by=row.captured_by,
        captured_on=row.captured_on,
        owner=row.owner,
        follow_up_on=row.follow_up_on,
        outcome=row.outcome,
        outcome_note=row.outcome_note,
        outcome_by=row.outcome_by,
        outcome_at=row.outcome_at,
    )


@router.get("", response_model=OpportunityList, summary="Business opportunities, newest first")
def list_opportunities(
    session: SessionDep,
    caller: Reader,
    customer_id: QueryId = None,
    owner: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")] = None,
    kind: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9_]+$")] = None,
    outcome: Outcome | None = None,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> OpportunityList:
    rows, total = opportunities.search(
        session,
        customer_id=customer_id,
        owner=owner,
        kind=kind,
        outcome=outcome,
        limit=limit,
        offset=offset,
    )
    return OpportunityList(
        total=total, limit=limit, offset=offset, items=[opportunity_out(r) for r in rows]
    )


@router.get("/{opportunity_id}", response_model=OpportunityOut, summary="One opportunity")
def get_opportunity(opportunity_id: PathInt, session: SessionDep, caller: Reader) -> OpportunityOut:
    return opportunity_out(opportunities.get(session, opportunity_id))


@router.post(
    "/{opportunity_id}/outcome",
    response_model=OpportunityOut,
    summary="Record the outcome (won, lost, not pursued) or a new follow-up date",
)
def record_outcome(
    opportunity_id: PathInt, body: OutcomeIn, services: ServicesDep, caller: Integrator
) -> OpportunityOut:
    """A settled opportunity answers 409; its follow-up task in Tasklist goes (or, for a new
    date, comes back on that date)."""
    row = opportunity_cases.record_outcome(
        services,
        opportunity_id,
        outcome=body.outcome,
        note=body.note,
        actor=f"{caller.actor}/{body.recorded_by}"[:100],
        follow_up_on=body.follow_up_on,
    )
    return opportunity_out(row)
