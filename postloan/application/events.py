"""External events about customers: record one; a serious one (``config/special_triggers.yaml``)
also requests special inspections of the customer's active loans."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from postloan.application import facts
from postloan.application import inspections as inspection_cases
from postloan.application.services import Services
from postloan.errors import DomainError
from postloan.events import service
from postloan.events.models import ExternalEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventOutcome:
    event: ExternalEvent
    #: the same event was stored already (nothing else happened)
    duplicate: bool
    #: the special inspections this event requested (their processes are owed)
    special_inspections: list[str] = field(default_factory=list)


def record_event(services: Services, data: service.EventData, *, actor: str) -> EventOutcome:
    """Store an event once (its own transaction: the event is kept whatever follows), then,
    for a serious kind, request the special inspections in a second transaction; one that
    cannot be requested is logged and leaves the event stored."""
    with services.transaction() as session:
        recorded = service.record_event(session, data, actor=actor)
        if recorded.created:  # the external check it feeds, owed with it (fact_checks)
            facts.enqueue_checks(session, facts.FactKind.EXTERNAL_EVENT, recorded.event.id)
    if not recorded.created:
        return EventOutcome(recorded.event, duplicate=True)
    event = recorded.event
    try:
        with services.transaction() as session:
            started = [
                i.id for i in inspection_cases.special_inspections_for_event(session, event, actor)
            ]
    except DomainError as exc:
        log.error(
            "event %s stored, but its special inspections did not start: %s", event.id, exc.detail
        )
        started = []
    return EventOutcome(event, duplicate=False, special_inspections=started)
