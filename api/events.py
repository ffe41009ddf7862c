"""External events about customers: litigation, enforcement, tax arrears, frozen accounts..."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import Field

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import (
    FactDate,
    Identifier,
    Limit500,
    LongText,
    Offset,
    Page,
    QueryId,
    Strict,
    text,
)
from postloan.application import events as event_cases
from postloan.events import service
from postloan.events.models import EventKind, ExternalEvent

router = APIRouter(prefix="/external-events", tags=["external events"])


Source = Annotated[str, *text(100, min_length=1)]
SourceRef = Annotated[str, *text(100)]


class ExternalEventIn(Strict):
    customer_id: Identifier
    kind: EventKind
    occurred_on: FactDate
    source: Source
    details: LongText
    #: the source's own reference (case number, notice id); part of the duplicate check
    source_ref: SourceRef = ""


class ExternalEventOut(Strict):
    id: int
    customer_id: str
    kind: str
    occurred_on: date
    source: str
    source_ref: str
    details: str
    created_at: datetime
    duplicate: bool = False
    #: Special inspections this event started (serious kinds only; none for a duplicate).
    special_inspections: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, e: ExternalEvent, duplicate: bool = False) -> ExternalEventOut:
        return cls(
            id=e.id,
            customer_id=e.customer_id,
            kind=e.kind,
            occurred_on=e.occurred_on,
            source=e.source,
            source_ref=e.source_ref,
            details=e.details,
            created_at=e.created_at,
            duplicate=duplicate,
        )


class ExternalEventPage(Page):
    items: list[ExternalEventOut]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExternalEventOut,
    responses={200: {"description": "already known: the stored event, duplicate=true"}},
)
def record_event(
    body: ExternalEventIn,
    response: Response,
    services: ServicesDep,
    caller: Integrator,
) -> ExternalEventOut:
    """Store an event once: the same customer, kind, date, source and source_ref again answers
    200 with the stored event and ``"duplicate": true``. A serious event (config/
    special_triggers.yaml) starts special inspections of the customer's active loans at once;
    the event is stored whatever happens next."""
    outcome = event_cases.record_event(
        services, service.EventData(**body.model_dump()), actor=caller.actor
    )
    if outcome.duplicate:
        response.status_code = status.HTTP_200_OK
    out = ExternalEventOut.of(outcome.event, duplicate=outcome.duplicate)
    return out.model_copy(update={"special_inspections": outcome.special_inspections})


@router.get("", response_model=ExternalEventPage)
def list_events(
    session: SessionDep,
    caller: Reader,
    customer_id: QueryId = None,
    kind: EventKind | None = None,
    limit: Limit500 = 100,
    offset: Offset = 0,
) -> ExternalEventPage:
    """Events, newest first; filter by customer_id and kind."""
    total, page = service.events(
        session, customer_id=customer_id, kind=kind, limit=limit, offset=offset
    )
    return ExternalEventPage(
        total=total, limit=limit, offset=offset, items=[ExternalEventOut.of(e) for e in page]
    )
