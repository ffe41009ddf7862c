"""Session-and-gateway entry to the use cases, for callers that own a session and an engine
client (postloanctl's demo and scan, tests, benchmarks); routes and handlers use
:mod:`postloan.application` through their ``Services``.

Each function runs the use case in the given session, commits it (the business rows and their
outbox messages together), then hands the outbox messages to a relay at once; what the engine
refuses stays pending and the workers' relay retries it. So nothing here calls the engine
before the commit, and nothing is withdrawn: a stored request always gets its process, and
``process_instance_id`` is null only until the relay has started it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from gateway.engine import EngineGateway
from gateway.ports import EngineAdapter
from postloan.application import credit as credit_cases
from postloan.application import inspections as inspection_cases
from postloan.application import rectifications as rectification_cases
from postloan.application.ports import bound_unit
from postloan.application.relay import OutboxRelay
from postloan.application.services import Services, owed
from postloan.events.models import ExternalEvent
from postloan.inspections.models import Inspection


def services_for(session: Session, engine: Any) -> Services:
    """The use cases' services on the session's database and this engine (a gateway, or
    anything implementing the application's engine port)."""
    adapter = EngineAdapter(engine) if isinstance(engine, EngineGateway) else engine
    uow = bound_unit(session.get_bind())
    return Services(uow=uow, engine=adapter, dispatch=OutboxRelay(uow, adapter))


def _commit(session: Session, engine: Any, *objects: Any) -> None:
    """Commit the business change with its outbox messages, deliver them, re-read ``objects``
    (their ``process_instance_id`` is filled once delivered)."""
    ids = owed(session)
    session.commit()
    services_for(session, engine).deliver(ids)
    for obj in objects:
        if obj is not None:
            session.refresh(obj)


def start_planned_inspection(
    session: Session,
    engine: Any,
    *,
    loan_id: str,
    kind: str,
    reason: str,
    actor: str,
    due_on: date | None = None,
    trigger_ref: str | None = None,
    mode: str | None = None,
) -> Inspection:
    """An inspection with the plan's template and mode, its items and its process. Commits;
    raises ``OpenInspectionExists`` when one of that kind is open."""
    inspection = inspection_cases.request_planned_inspection(
        session,
        loan_id=loan_id,
        kind=kind,
        reason=reason,
        actor=actor,
        due_on=due_on,
        trigger_ref=trigger_ref,
        mode=mode,
    )
    _commit(session, engine, inspection)
    return inspection


def start_routine_inspection(
    session: Session, engine: Any, loan_id: str, actor: str
) -> Inspection | None:
    session.rollback()
    return inspection_cases.start_routine_inspection(services_for(session, engine), loan_id, actor)


def start_special_inspection(
    session: Session, engine: Any, loan_id: str, reason: str, trigger_ref: str, actor: str
) -> Inspection | None:
    inspection = inspection_cases.request_special_inspection(
        session, loan_id, reason, trigger_ref, actor
    )
    _commit(session, engine, inspection)
    return inspection


def special_inspections_for_event(
    session: Session,
    engine: Any,
    event: ExternalEvent,
    actor: str = inspection_cases.TRIGGER_ACTOR,
) -> list[Inspection]:
    started = inspection_cases.special_inspections_for_event(session, event, actor)
    _commit(session, engine, *started)
    return started


def special_inspection_for_repayment(
    session: Session,
    engine: Any,
    loan_id: str,
    previous_dpd: int,
    dpd: int,
    interest_unpaid_days: int,
    actor: str = inspection_cases.TRIGGER_ACTOR,
) -> Inspection | None:
    inspection = inspection_cases.special_inspection_for_repayment(
        session, loan_id, previous_dpd, dpd, interest_unpaid_days, actor
    )
    _commit(session, engine, inspection)
    return inspection


def open_rectification(session: Session, engine: Any, **fields: Any) -> Any:
    """Raise a rectification item and its process (commits). Raises InvalidInput for bad
    fields."""
    item = rectification_cases.raise_rectification(session, **fields)
    _commit(session, engine, item)
    return item


def start_credit_application(session: Session, engine: Any, application: Any) -> Any:
    credit_cases.request_credit_process(session, application)
    _commit(session, engine, application)
    return application
