from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, status

from api.deps import EngineDep, Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Identifier, Limit500, Offset, Page, PathId, QueryId, Reason, Strict
from postloan.application import inspections as inspection_cases
from postloan.application.ports import ActivityReader, EngineFailure
from postloan.inspections import service
from postloan.inspections.models import (
    OPEN_STATUSES,
    Inspection,
    InspectionStage,
    InspectionStatus,
)
from postloan.loans import service as loans

log = logging.getLogger("api")
router = APIRouter(prefix="/inspections", tags=["inspections"])


class InspectionIn(Strict):
    """At most one open inspection per loan and kind: a second one is a 409 naming the open
    inspection (the database refuses it too, whatever starts it)."""

    loan_id: Identifier
    reason: Reason
    kind: Literal["special", "routine", "first"] = "special"


class FindingOut(Strict):
    source: str
    code: str
    severity: str
    summary: str
    evidence: dict[str, Any]


class InspectionOut(Strict):
    id: str
    loan_id: str
    kind: str
    reason: str
    status: str
    #: where it stands (the same in the list and the detail): see ``InspectionStage``
    stage: InspectionStage
    rework_count: int
    template: str
    requested_by: str
    requested_at: datetime
    completed_at: datetime | None
    inspector: str | None
    reviewer: str | None
    risk_class: str | None
    process_instance_id: str | None
    findings: list[FindingOut]
    items: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    report: dict[str, Any] | None


class InspectionList(Page):
    items: list[InspectionOut]


HIDDEN_FINDING_SOURCES = {"onsite_verification"}
#: What an open inspection's record says only once its process reaches a step that stores it;
#: the engine knows it at once (a return for rework counts, the reviewer is recorded).
ENGINE_FIELDS = ("rework_count", "reviewer")


@dataclass(frozen=True)
class EngineView:
    """What the engine says of a page of open inspections (None: it could not be asked)."""

    activities: dict[str, list[str]] | None
    variables: dict[str, dict[str, Any]]


def _engine_view(inspections: list[Inspection], engine: ActivityReader) -> EngineView:
    """One read for the whole page (list or detail alike): the activities each open
    inspection's instance waits in, and the fields that follow the engine's truth."""
    pids = [
        i.process_instance_id
        for i in inspections
        if i.process_instance_id and i.status in OPEN_STATUSES
    ]
    if not pids:
        return EngineView({}, {})
    try:
        return EngineView(engine.waiting_in(pids), engine.variables_of(pids, ENGINE_FIELDS))
    except EngineFailure as exc:
        log.warning("stage of %d inspections unknown: %s", len(pids), exc)
        return EngineView(None, {})


def _out(session: SessionDep, inspection: Inspection, view: EngineView) -> InspectionOut:
    pid = inspection.process_instance_id or ""
    activities = None if view.activities is None else view.activities.get(pid, [])
    live = view.variables.get(pid, {})
    return InspectionOut(
        id=inspection.id,
        loan_id=inspection.loan_id,
        kind=inspection.kind,
        reason=inspection.reason,
        status=inspection.status,
        stage=service.stage_of(inspection, activities),
        rework_count=max(int(live.get("rework_count") or 0), inspection.rework_count or 0),
        template="standard",
        requested_by=inspection.requested_by,
        requested_at=inspection.created_at,
        completed_at=inspection.completed_at,
        inspector=inspection.inspector,
        reviewer=live.get("reviewer") or inspection.reviewer,
        risk_class=inspection.risk_class,
        process_instance_id=inspection.process_instance_id,
        findings=[
            FindingOut(
                source=f.source,
                code=f.code,
                severity=f.severity,
                summary=f.summary,
                evidence=f.evidence,
            )
            for f in service.findings(session, inspection.id)
            # the on-site result shows once the inspection is completed (then in the report too)
            if inspection.status == InspectionStatus.COMPLETED
            or f.source not in HIDDEN_FINDING_SOURCES
        ],
        items=service.items_for_form(session, inspection.id),
        signals=service.open_signals(session, loans.get(session, inspection.loan_id)),
        report=inspection.report,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InspectionOut,
    summary="Start an inspection of a loan (special by default)",
)
def start_inspection(
    body: InspectionIn, session: SessionDep, services: ServicesDep, caller: Integrator
) -> InspectionOut:
    inspection = inspection_cases.request_inspection(
        services,
        loan_id=body.loan_id,
        kind=body.kind,
        reason=body.reason,
        actor=caller.actor,
        trigger_ref=f"api:{caller.name}",
    )
    return _out(session, inspection, EngineView({}, {}))


@router.get("/{inspection_id}", response_model=InspectionOut)
def get_inspection(
    inspection_id: PathId, session: SessionDep, engine: EngineDep, caller: Reader
) -> InspectionOut:
    inspection = service.get(session, inspection_id)
    return _out(session, inspection, _engine_view([inspection], engine))


@router.get("", response_model=InspectionList)
def list_inspections(
    session: SessionDep,
    engine: EngineDep,
    caller: Reader,
    loan_id: QueryId = None,
    status: Literal["requested", "in_progress", "completed", "cancelled"] | None = None,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> InspectionList:
    rows, total = service.search(
        session, loan_id=loan_id, status=status, limit=limit, offset=offset
    )
    view = _engine_view(rows, engine)
    return InspectionList(
        total=total, limit=limit, offset=offset, items=[_out(session, r, view) for r in rows]
    )
