"""Rectification items (audit findings, evidence) and the customer's credit status.

``GET /customers/{id}/credit-status`` is what core banking calls before every disbursement: two
indexed queries on the project database, no engine call.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, status
from pydantic import Field

from api.deps import Integrator, Reader, ServicesDep, SessionDep, require
from api.schemas import (
    Actor,
    Identifier,
    Limit500,
    Name,
    NonEmptyLongText,
    Offset,
    Page,
    PathId,
    QueryId,
    Strict,
    text,
)
from postloan.application import rectifications as rectification_cases
from postloan.rectifications import restrictions, service
from postloan.rectifications.models import Rectification, RectificationEvidence, Restriction

log = logging.getLogger("api")
router = APIRouter(tags=["rectifications"])

Auditor = Annotated[Any, Depends(require("auditor"))]


SourceRef = Annotated[str, *text(100)]
#: A document reference (file name, archive number, URL) of the evidence.
Document = Annotated[str, *text(500, min_length=1)]


class RectificationIn(Strict):
    customer_id: Identifier
    loan_id: Identifier | None = None
    title: Name
    description: NonEmptyLongText
    severity: Literal["minor", "major", "serious", "critical"]
    owner: Actor
    source: Literal["inspection", "review", "audit", "approval_rating"] = "audit"
    source_ref: SourceRef = ""


class EvidenceIn(Strict):
    description: NonEmptyLongText
    documents: list[Document] = Field(default_factory=list, max_length=100)
    submitted_by: Actor | None = None


class EvidenceOut(Strict):
    id: int
    submitted_by: str
    submitted_at: datetime
    description: str
    documents: list[Any]


class RestrictionOut(Strict):
    id: int
    customer_id: str
    kind: str
    reason: str
    rectification_id: str | None
    status: str
    started_at: datetime
    started_by: str
    lift_requested_by: str | None
    lifted_at: datetime | None
    lift_approved_by: str | None


class RectificationOut(Strict):
    id: str
    customer_id: str
    loan_id: str | None
    source: str
    source_ref: str
    title: str
    description: str
    severity: str
    owner: str
    raised_by: str
    deadline: date
    status: str
    verified_by: str | None
    closed_at: datetime | None
    escalated_at: datetime | None
    reopen_count: int
    process_instance_id: str | None
    created_at: datetime
    evidence: list[EvidenceOut]
    restrictions: list[RestrictionOut]


class RectificationList(Page):
    items: list[RectificationOut]


class CreditStatusOut(Strict):
    customer_id: str
    disbursement_allowed: bool
    new_business_allowed: bool
    restrictions: list[dict[str, Any]]
    open_rectifications: list[dict[str, Any]]


class RestrictionHistory(Strict):
    customer_id: str
    items: list[RestrictionOut]


def _evidence(row: RectificationEvidence) -> EvidenceOut:
    return EvidenceOut(
        id=row.id,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        description=row.description,
        documents=list(row.documents or []),
    )


def _restriction(row: Restriction) -> RestrictionOut:
    return RestrictionOut(
        id=row.id,
        customer_id=row.customer_id,
        kind=row.kind,
        reason=row.reason,
        rectification_id=row.rectification_id,
        status=row.status,
        started_at=row.started_at,
        started_by=row.started_by,
        lift_requested_by=row.lift_requested_by,
        lifted_at=row.lifted_at,
        lift_approved_by=row.lift_approved_by,
    )


def _out(session: SessionDep, item: Rectification, details: bool = True) -> RectificationOut:
    return RectificationOut(
        id=item.id,
        customer_id=item.customer_id,
        loan_id=item.loan_id,
        source=item.source,
        source_ref=item.source_ref,
        title=item.title,
        description=item.description,
        severity=item.severity,
        owner=item.owner,
        raised_by=item.raised_by,
        deadline=item.deadline,
        status=item.status,
        verified_by=item.verified_by,
        closed_at=item.closed_at,
        escalated_at=item.escalated_at,
        reopen_count=item.reopen_count or 0,
        process_instance_id=item.process_instance_id,
        created_at=item.created_at,
        evidence=[_evidence(e) for e in service.evidence_of(session, item.id)] if details else [],
        restrictions=[_restriction(r) for r in restrictions.of_rectification(session, item.id)]
        if details
        else [],
    )


@router.post(
    "/rectifications",
    status_code=status.HTTP_201_CREATED,
    response_model=RectificationOut,
    summary="Raise a rectification item (an audit finding by default) and start its process",
)
def raise_rectification(
    body: RectificationIn, session: SessionDep, services: ServicesDep, caller: Auditor
) -> RectificationOut:
    item = rectification_cases.open_rectification(
        services,
        customer_id=body.customer_id,
        loan_id=body.loan_id,
        source=body.source,
        source_ref=body.source_ref,
        title=body.title,
        description=body.description,
        severity=body.severity,
        owner=body.owner,
        raised_by=caller.actor,
    )
    return _out(session, item)


@router.get("/rectifications/{rectification_id}", response_model=RectificationOut)
def get_rectification(
    rectification_id: PathId, session: SessionDep, caller: Reader
) -> RectificationOut:
    return _out(session, service.get(session, rectification_id))


@router.get("/rectifications", response_model=RectificationList)
def list_rectifications(
    session: SessionDep,
    caller: Reader,
    customer_id: QueryId = None,
    status: Literal["open", "evidence_submitted", "closed", "reopened", "escalated"] | None = None,
    source: Literal["inspection", "review", "audit", "approval_rating"] | None = None,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> RectificationList:
    rows = service.search(
        session, customer_id=customer_id, status=status, source=source, limit=limit, offset=offset
    )
    return RectificationList(
        total=offset + len(rows), limit=limit, offset=offset, items=[_out(session, r) for r in rows]
    )


@router.post(
    "/rectifications/{rectification_id}/evidence",
    status_code=status.HTTP_201_CREATED,
    response_model=RectificationOut,
    summary="Submit evidence of rectification; the process moves on to verification",
)
def submit_evidence(
    rectification_id: PathId,
    body: EvidenceIn,
    session: SessionDep,
    services: ServicesDep,
    caller: Integrator,
) -> RectificationOut:
    """The evidence and the process's evidence message are stored together; the message is
    delivered right after (retried by the relay while the process is not waiting yet)."""
    item = rectification_cases.submit_evidence(
        services,
        rectification_id,
        submitted_by=body.submitted_by or caller.actor,
        description=body.description,
        documents=body.documents,
    )
    return _out(session, item)


@router.get(
    "/customers/{customer_id}/credit-status",
    response_model=CreditStatusOut,
    summary="May the customer draw down or take new business? (called before every disbursement)",
)
def credit_status(customer_id: PathId, session: SessionDep, caller: Reader) -> dict[str, Any]:
    return restrictions.credit_status(session, customer_id)


@router.get(
    "/customers/{customer_id}/restrictions",
    response_model=RestrictionHistory,
    summary="Every restriction the customer ever had, lifted ones included",
)
def restriction_history(
    customer_id: PathId, session: SessionDep, caller: Reader
) -> RestrictionHistory:
    return RestrictionHistory(
        customer_id=customer_id,
        items=[_restriction(r) for r in restrictions.history(session, customer_id)],
    )
