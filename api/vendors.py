"""Vendors (outsourced visits): registry, their assignments and visit batches.

A vendor authenticates with its own API key (role ``vendor:<vendor id>``) and sees and submits
only its own assignments. Nothing tells a vendor whether something of another vendor exists:
another vendor's paths (``/vendors/{other}/...``) answer 403 whether that vendor exists or not,
another vendor's visit batch answers 404 word for word like a batch that does not exist, and a
visit for an inspection not assigned to the vendor is refused the same way whether the
inspection exists or not.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, status
from pydantic import Field, StrictBool

from api.deps import (
    OBJECT_VENDOR,
    Caller,
    ServicesDep,
    SessionDep,
    VendorSelf,
    require,
    require_vendor_or,
)
from api.errors import ApiError
from api.opportunities import BusinessNeedIn
from api.schemas import FactDateTime, Identifier, LongText, Name, PathId, Strict, text
from postloan.application import vendors as vendor_cases
from postloan.errors import NotFound
from postloan.vendors import service as vendors
from postloan.vendors.models import Vendor, VisitAssignment, VisitBatch, VisitReport

log = logging.getLogger("api")
router = APIRouter(tags=["vendors"])

Admin = Annotated[Caller, Depends(require("admin"))]
Staff = Annotated[Caller, Depends(require("integrator", "auditor", "viewer"))]
#: Staff or the vendor of the path's ``{vendor_id}``.
StaffOrVendorSelf = Annotated[Caller, Depends(require_vendor_or("integrator", "auditor", "viewer"))]
#: Staff or a vendor; the handler refuses an object of another vendor.
StaffOrObjectVendor = Annotated[
    Caller, Depends(require("integrator", "auditor", "viewer", OBJECT_VENDOR))
]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
#: A checklist answer: yes/no, a number or a short text (no nested objects).
AnswerKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
AnswerValue = (
    bool
    | Annotated[int, Field(ge=-(10**15), le=10**15)]
    | Annotated[float, Field(allow_inf_nan=False)]
    | Annotated[str, *text(2000, multiline=True)]
    | None
)


class VendorIn(Strict):
    id: Identifier
    name: Name
    active: StrictBool = True  # true or false, not 0 or "no"


class VendorOut(Strict):
    id: str
    name: str
    active: bool
    quality_score: float
    quality: dict[str, Any] | None = None


class AssignmentOut(Strict):
    id: int
    inspection_id: str
    vendor_id: str
    loan_id: str
    customer_id: str
    window_start: datetime
    window_end: datetime
    status: str


class AssignmentList(Strict):
    vendor_id: str
    items: list[AssignmentOut]


class VisitIn(Strict):
    inspection_id: Identifier
    visited_at: FactDateTime
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    photo_sha256: list[Sha256] = Field(default_factory=list, max_length=50)
    notes: LongText = ""
    checklist_answers: dict[AnswerKey, AnswerValue] = Field(default_factory=dict, max_length=100)
    #: Needs the customer mentioned to the visitor: each becomes an opportunity (issue 11).
    business_needs: list[BusinessNeedIn] = Field(default_factory=list, max_length=20)


class BatchIn(Strict):
    visits: list[VisitIn] = Field(min_length=1, max_length=200)


class VisitOut(Strict):
    id: int
    inspection_id: str
    visited_at: datetime
    latitude: float
    longitude: float
    photo_sha256: list[str]
    notes: str
    checklist_answers: dict[str, Any]
    checked: bool
    flags: list[dict[str, Any]]
    decision: str | None
    decision_reason: str | None
    supervision_result: str | None


class BatchOut(Strict):
    id: str
    vendor_id: str
    status: str
    process_instance_id: str | None
    submitted_at: datetime
    visits: list[VisitOut]


def _vendor(row: Vendor, components: dict[str, Any] | None = None) -> VendorOut:
    return VendorOut(
        id=row.id,
        name=row.name,
        active=row.active,
        quality_score=row.quality_score,
        quality=components,
    )


def _assignment(row: VisitAssignment) -> AssignmentOut:
    return AssignmentOut(
        id=row.id,
        inspection_id=row.inspection_id,
        vendor_id=row.vendor_id,
        loan_id=row.loan_id,
        customer_id=row.customer_id,
        window_start=row.window_start,
        window_end=row.window_end,
        status=row.status,
    )


def _visit(row: VisitReport) -> VisitOut:
    return VisitOut(
        id=row.id,
        inspection_id=row.inspection_id,
        visited_at=row.visited_at,
        latitude=row.latitude,
        longitude=row.longitude,
        photo_sha256=list(row.photo_sha256 or []),
        notes=row.notes,
        checklist_answers=dict(row.checklist_answers or {}),
        checked=bool(row.checked),
        flags=list(row.flags or []),
        decision=row.decision,
        decision_reason=row.decision_reason,
        supervision_result=row.supervision_result,
    )


def _batch(session: SessionDep, batch: VisitBatch) -> BatchOut:
    return BatchOut(
        id=batch.id,
        vendor_id=batch.vendor_id,
        status=batch.status,
        process_instance_id=batch.process_instance_id,
        submitted_at=batch.submitted_at,
        visits=[_visit(r) for r in vendors.reports_of(session, batch.id)],
    )


@router.post(
    "/vendors",
    status_code=status.HTTP_201_CREATED,
    response_model=VendorOut,
    summary="Register a vendor (admin)",
)
def register_vendor(body: VendorIn, services: ServicesDep, caller: Admin) -> VendorOut:
    vendor = vendor_cases.register_vendor(
        services, vendor_id=body.id, name=body.name, active=body.active, actor=caller.actor
    )
    return _vendor(vendor)


@router.get("/vendors", response_model=list[VendorOut], summary="Vendors and their scores")
def list_vendors(services: ServicesDep, caller: Staff) -> list[VendorOut]:
    return [_vendor(v) for v in vendor_cases.list_vendors(services)]


@router.get(
    "/vendors/{vendor_id}",
    response_model=VendorOut,
    summary="A vendor with its quality score and the score's components",
)
def get_vendor(vendor_id: PathId, services: ServicesDep, caller: StaffOrVendorSelf) -> VendorOut:
    if caller.role.startswith("vendor:") and caller.role != f"vendor:{vendor_id}":
        raise ApiError(403, "forbidden", f"role {caller.role!r} may not read vendor {vendor_id}")
    if not caller.role.startswith("vendor:") and caller.role not in (
        "admin",
        "integrator",
        "auditor",
        "viewer",
    ):
        raise ApiError(403, "forbidden", f"role {caller.role!r} may not read vendors")
    vendor, components = vendor_cases.vendor_with_quality(services, vendor_id)
    return _vendor(vendor, components)


@router.get(
    "/vendors/{vendor_id}/assignments",
    response_model=AssignmentList,
    summary="The vendor's visit assignments (the vendor itself or admin)",
)
def list_assignments(
    vendor_id: PathId,
    session: SessionDep,
    caller: VendorSelf,
    status: Literal["assigned", "submitted", "accepted", "rejected"] | None = None,
) -> AssignmentList:
    vendors.get_vendor(session, vendor_id)
    return AssignmentList(
        vendor_id=vendor_id,
        items=[_assignment(a) for a in vendors.assignments_of(session, vendor_id, status)],
    )


@router.post(
    "/vendors/{vendor_id}/visit-batches",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchOut,
    summary="Submit a batch of visits; starts its outsourced_visit_batch review",
)
def submit_batch(
    vendor_id: PathId,
    body: BatchIn,
    session: SessionDep,
    services: ServicesDep,
    caller: VendorSelf,
) -> BatchOut:
    batch = vendor_cases.submit_visit_batch(
        services, vendor_id, [v.model_dump() for v in body.visits], actor=caller.actor
    )
    log.info(
        "vendor %s submitted visit batch %s (%d visits)", vendor_id, batch.id, len(body.visits)
    )
    return _batch(session, batch)


@router.get(
    "/visit-batches/{batch_id}",
    response_model=BatchOut,
    summary="A visit batch with its visits, flags and decisions (its vendor or readers)",
)
def get_batch(batch_id: PathId, session: SessionDep, caller: StaffOrObjectVendor) -> BatchOut:
    """Another vendor's batch answers 404, word for word like a batch that does not exist."""
    try:
        batch = vendors.get_batch(session, batch_id)
    except NotFound:
        batch = None
    if batch is None or (
        caller.role.startswith("vendor:") and caller.role != f"vendor:{batch.vendor_id}"
    ):
        raise NotFound(f"visit batch {batch_id} not found")
    return _batch(session, batch)
