"""Risk signals: list them, acknowledge and resolve them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Actor, Limit500, Offset, Page, PathInt, QueryId, Strict, text
from postloan.application import signals as signal_cases
from postloan.signals import service
from postloan.signals.models import RiskSignal

router = APIRouter(prefix="/signals", tags=["signals"])

Severity = Literal["red", "orange", "yellow", "blue"]
Status = Literal["open", "acknowledged", "resolved", "escalated"]


class SignalOut(Strict):
    id: int
    code: str
    customer_id: str
    loan_id: str | None
    severity: str
    owner_role: str
    status: str
    summary: str
    source: str
    evidence: dict[str, Any]
    respond_by: date
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_by: str | None
    resolved_by: str | None
    resolution: str | None
    escalated_at: datetime | None


class SignalList(Page):
    items: list[SignalOut]


Comment = Annotated[str, *text(2000, multiline=True)]
Resolution = Annotated[str, *text(4000, min_length=1, multiline=True)]


class AcknowledgeIn(Strict):
    #: who acknowledges (a person)
    actor: Actor
    comment: Comment | None = None


class ResolveIn(Strict):
    #: who resolved it (a person)
    actor: Actor
    #: what was done
    resolution: Resolution


def signal_out(s: RiskSignal) -> SignalOut:
    return SignalOut(
        id=s.id,
        code=s.code,
        customer_id=s.customer_id,
        loan_id=s.loan_id,
        severity=s.severity,
        owner_role=s.owner_role,
        status=s.status,
        summary=s.summary,
        source=s.source,
        evidence=s.evidence or {},
        respond_by=s.respond_by,
        occurrences=s.occurrences,
        first_seen_at=s.created_at,
        last_seen_at=s.last_seen_at,
        acknowledged_by=s.acknowledged_by,
        resolved_by=s.resolved_by,
        resolution=s.resolution,
        escalated_at=s.escalated_at,
    )


@router.get("", response_model=SignalList, summary="Risk signals, newest first")
def list_signals(
    session: SessionDep,
    caller: Reader,
    customer_id: QueryId = None,
    loan_id: QueryId = None,
    status: Status | None = None,
    severity: Severity | None = None,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> SignalList:
    rows, total = service.search(
        session,
        customer_id=customer_id,
        loan_id=loan_id,
        status=status,
        severity=severity,
        limit=limit,
        offset=offset,
    )
    return SignalList(total=total, limit=limit, offset=offset, items=[signal_out(r) for r in rows])


@router.get("/{signal_id}", response_model=SignalOut)
def get_signal(signal_id: PathInt, session: SessionDep, caller: Reader) -> SignalOut:
    return signal_out(service.get(session, signal_id))


@router.post(
    "/{signal_id}/acknowledge",
    response_model=SignalOut,
    summary="The owner has taken the signal up",
)
def acknowledge(
    signal_id: PathInt, body: AcknowledgeIn, services: ServicesDep, caller: Integrator
) -> SignalOut:
    signal = signal_cases.acknowledge_signal(
        services, signal_id, actor=f"{caller.actor}/{body.actor}"[:100], comment=body.comment
    )
    return signal_out(signal)


@router.post(
    "/{signal_id}/resolve",
    response_model=SignalOut,
    summary="Close the signal, saying how it was resolved",
)
def resolve(
    signal_id: PathInt, body: ResolveIn, services: ServicesDep, caller: Integrator
) -> SignalOut:
    signal = signal_cases.resolve_signal(
        services,
        signal_id,
        resolution=body.resolution,
        actor=f"{caller.actor}/{body.actor}"[:100],
    )
    return signal_out(signal)
