"""Risk signals: list them with their handling state, read their history, acknowledge and
resolve them; false positives counted per check."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Actor, Limit500, Offset, Page, PathInt, QueryId, Strict, text
from postloan.application import signals as signal_cases
from postloan.signals import handling, service
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
    #: the customer's signal handling (process risk_signal_handling) this signal is worked in
    handling_id: int | None
    #: awaiting_response, awaiting_confirmation, sent_back, done, closed_by_facts; null when the
    #: signal is below the severity that opens a task
    handling_state: str | None
    #: action, false_positive or rectification
    response_kind: str | None
    response_text: str | None
    responded_by: str | None
    responded_at: datetime | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    confirmation_comment: str | None
    #: the rectification a response raised
    rectification_id: str | None


class SignalList(Page):
    items: list[SignalOut]


class HistoryEntry(Strict):
    #: signal.raised, signal.joined, signal.responded, signal.confirmed, signal.sent_back,
    #: signal.escalated, signal.resolved, signal.closed, signal.rectification_raised, ...
    action: str
    actor: str
    at: datetime
    detail: dict[str, Any]


class SignalHistory(Strict):
    signal_id: int
    events: list[HistoryEntry]


class FalsePositiveCount(Strict):
    #: the check that raised the signals
    source: str
    code: str
    count: int


class FalsePositives(Strict):
    items: list[FalsePositiveCount]


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
        handling_id=s.handling_id,
        handling_state=s.handling_state,
        response_kind=s.response_kind,
        response_text=s.response_text,
        responded_by=s.responded_by,
        responded_at=s.responded_at,
        confirmed_by=s.confirmed_by,
        confirmed_at=s.confirmed_at,
        confirmation_comment=s.confirmation_comment,
        rectification_id=s.rectification_id,
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


@router.get(
    "/false-positives",
    response_model=FalsePositives,
    summary="False-positive responses counted per check and code, to tune thresholds",
)
def false_positives(session: SessionDep, caller: Reader) -> FalsePositives:
    return FalsePositives(
        items=[
            FalsePositiveCount(source=source, code=code, count=count)
            for source, code, count in handling.false_positive_counts(session)
        ]
    )


@router.get("/{signal_id}", response_model=SignalOut)
def get_signal(signal_id: PathInt, session: SessionDep, caller: Reader) -> SignalOut:
    return signal_out(service.get(session, signal_id))


@router.get(
    "/{signal_id}/history",
    response_model=SignalHistory,
    summary="What happened to the signal: raised, joined, responded, confirmed, escalated, "
    "closed — who and when",
)
def signal_history(signal_id: PathInt, session: SessionDep, caller: Reader) -> SignalHistory:
    service.get(session, signal_id)  # 404 for an unknown signal
    return SignalHistory(
        signal_id=signal_id,
        events=[
            HistoryEntry(action=e.action, actor=e.actor, at=e.at, detail=e.detail or {})
            for e in handling.history(session, signal_id)
        ],
    )


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
