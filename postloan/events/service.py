"""External events about customers (courts, tax office, registry, news), stored once each.

``record_event`` returns the stored event and whether it is new, so a caller (the API, an
early-warning check) can act on new serious events, e.g. start a special inspection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.errors import Conflict, InvalidInput
from postloan.events.models import EventKind, ExternalEvent

log = logging.getLogger("postloan.events")


@dataclass(frozen=True)
class EventData:
    customer_id: str
    kind: str
    occurred_on: date
    source: str
    details: str = ""
    source_ref: str = ""


@dataclass(frozen=True)
class RecordedEvent:
    event: ExternalEvent
    #: False when the same event (customer, kind, date, source, source_ref) was already stored.
    created: bool


def _existing(session: Session, data: EventData) -> ExternalEvent | None:
    return session.scalars(
        select(ExternalEvent).where(
            ExternalEvent.customer_id == data.customer_id,
            ExternalEvent.kind == data.kind,
            ExternalEvent.occurred_on == data.occurred_on,
            ExternalEvent.source == data.source,
            ExternalEvent.source_ref == data.source_ref,
        )
    ).one_or_none()


def record_event(session: Session, data: EventData, *, actor: str) -> RecordedEvent:
    """Store an external event unless the same one is already stored (then return that one)."""
    if data.kind not in set(EventKind):
        raise InvalidInput(f"kind must be one of {', '.join(EventKind)}", field="kind")
    if session.get(Customer, data.customer_id) is None:
        raise InvalidInput(f"customer {data.customer_id!r} does not exist", field="customer_id")
    existing = _existing(session, data)
    if existing is not None:
        return RecordedEvent(existing, created=False)
    event = ExternalEvent(
        customer_id=data.customer_id,
        kind=data.kind,
        occurred_on=data.occurred_on,
        source=data.source,
        source_ref=data.source_ref,
        details=data.details,
    )
    session.add(event)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another request stored the same event between our look-up and this insert. (No
        # savepoint: pysqlite would commit a savepoint opened before the first write.)
        raise Conflict(
            "the same event was stored concurrently; send it again to get it", field="source_ref"
        ) from exc
    audit.record(
        session,
        actor=actor,
        action="external_event.recorded",
        object_type="customer",
        object_id=data.customer_id,
        detail={
            "event_id": event.id,
            "kind": data.kind,
            "occurred_on": data.occurred_on.isoformat(),
            "source": data.source,
        },
    )
    log.info(
        "external event %s (%s) recorded for customer %s", event.id, data.kind, data.customer_id
    )
    session.flush()
    return RecordedEvent(event, created=True)


def events(
    session: Session,
    *,
    customer_id: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ExternalEvent]]:
    """Events, newest first, optionally of one customer or kind; returns (total, page)."""
    query = select(ExternalEvent)
    if customer_id:
        query = query.where(ExternalEvent.customer_id == customer_id)
    if kind:
        query = query.where(ExternalEvent.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(
        query.order_by(ExternalEvent.occurred_on.desc(), ExternalEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return total, list(page)
