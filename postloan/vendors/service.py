"""Vendors, visit assignments, visit batches and their review (no engine or HTTP here)."""

from __future__ import annotations

import logging
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.bounds import id_taken_message
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.inspections.models import Inspection
from postloan.loans.models import Loan
from postloan.vendors import authenticity, config, quality
from postloan.vendors.models import (
    AssignmentStatus,
    BatchStatus,
    Vendor,
    VisitAssignment,
    VisitBatch,
    VisitReport,
)

log = logging.getLogger(__name__)
OUTSOURCED = "outsourced"


# -- registry ---------------------------------------------------------------------------------


def sync_from_config(session: Session) -> None:
    """Make sure the vendors of ``config/vendors.yaml`` exist (name/active follow the file)."""
    for item in config.load().get("vendors") or []:
        vendor = session.get(Vendor, str(item["id"]))
        if vendor is None:
            session.add(
                Vendor(
                    id=str(item["id"]),
                    name=str(item.get("name", item["id"])),
                    active=bool(item.get("active", True)),
                    quality_score=100.0,
                )
            )
    session.flush()


def register(session: Session, *, vendor_id: str, name: str, active: bool, actor: str) -> Vendor:
    sync_from_config(session)
    stored = session.scalar(select(Vendor.id).where(func.lower(Vendor.id) == vendor_id.lower()))
    if stored is not None:
        raise Conflict(id_taken_message("vendor", vendor_id, stored), field="id")
    vendor = Vendor(id=vendor_id, name=name, active=active, quality_score=100.0)
    session.add(vendor)
    audit.record(
        session,
        actor=actor,
        action="vendor.registered",
        object_type="vendor",
        object_id=vendor_id,
        detail={"name": name, "active": active},
    )
    session.flush()
    return vendor


def get_vendor(session: Session, vendor_id: str) -> Vendor:
    sync_from_config(session)
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound(f"vendor {vendor_id} not found")
    return vendor


def list_vendors(session: Session) -> list[Vendor]:
    sync_from_config(session)
    return list(session.scalars(select(Vendor).order_by(Vendor.id)))


def choose_vendor(session: Session) -> Vendor:
    """Round robin (fewest assignments so far) or best quality score among active vendors."""
    sync_from_config(session)
    active = list(
        session.scalars(select(Vendor).where(Vendor.active.is_(True)).order_by(Vendor.id))
    )
    if not active:
        raise Conflict("no active vendor to assign the visit to")
    if config.load().get("selection", "best_quality") == "round_robin":
        counts = dict(
            session.execute(
                select(VisitAssignment.vendor_id, func.count()).group_by(VisitAssignment.vendor_id)
            ).all()
        )
        return min(active, key=lambda v: (counts.get(v.id, 0), v.id))
    return max(active, key=lambda v: (v.quality_score, -active.index(v)))


# -- assignments ------------------------------------------------------------------------------


def assign_visit(
    session: Session,
    inspection: Inspection,
    vendor_id: str | None = None,
    window_days: int | None = None,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> VisitAssignment:
    """Give an outsourced inspection to a vendor (chosen when ``vendor_id`` is None), to visit
    within ``window_days`` (config default). Idempotent: an inspection keeps its assignment."""
    if inspection.mode != OUTSOURCED:
        raise InvalidInput(
            f"inspection {inspection.id} is {inspection.mode}, not outsourced", field="mode"
        )
    existing = session.scalar(
        select(VisitAssignment).where(VisitAssignment.inspection_id == inspection.id)
    )
    if existing is not None:
        return existing
    vendor = get_vendor(session, vendor_id) if vendor_id else choose_vendor(session)
    loan = session.get(Loan, inspection.loan_id)
    if loan is None:
        raise NotFound(f"loan {inspection.loan_id} not found")
    start = now or datetime.now(UTC)
    days = int(window_days or config.load().get("window_days", 10))
    assignment = VisitAssignment(
        inspection_id=inspection.id,
        vendor_id=vendor.id,
        loan_id=loan.id,
        customer_id=loan.customer_id,
        window_start=start,
        window_end=start + timedelta(days=days),
        status=AssignmentStatus.ASSIGNED,
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="visit.assigned",
        object_type="inspection",
        object_id=inspection.id,
        detail={"vendor_id": vendor.id, "window_days": days},
    )
    log.info("inspection %s assigned to vendor %s for %d days", inspection.id, vendor.id, days)
    return assignment


def assignments_of(
    session: Session, vendor_id: str, status: str | None = None
) -> list[VisitAssignment]:
    query = select(VisitAssignment).where(VisitAssignment.vendor_id == vendor_id)
    if status:
        query = query.where(VisitAssignment.status == status)
    return list(session.scalars(query.order_by(VisitAssignment.id)))


# -- batches ----------------------------------------------------------------------------------


def submit_batch(
    session: Session, vendor_id: str, visits: list[dict[str, Any]], actor: str
) -> VisitBatch:
    """Store a batch of visits (flushed, not committed). Every visit must be for an inspection
    assigned to this vendor and not yet submitted: else InvalidInput naming
    ``visits[i].inspection_id``."""
    get_vendor(session, vendor_id)
    if not visits:
        raise InvalidInput("a batch needs at least one visit", field="visits")
    seen: set[str] = set()
    assignments = []
    for i, visit in enumerate(visits):
        field = f"visits[{i}].inspection_id"
        inspection_id = visit["inspection_id"]
        assignment = session.scalar(
            select(VisitAssignment).where(VisitAssignment.inspection_id == inspection_id)
        )
        if assignment is None or assignment.vendor_id != vendor_id:
            raise InvalidInput(
                f"inspection {inspection_id} is not assigned to vendor {vendor_id}", field=field
            )
        if assignment.status != AssignmentStatus.ASSIGNED or inspection_id in seen:
            raise InvalidInput(
                f"the visit of inspection {inspection_id} was already "
                f"submitted ({assignment.status})",
                field=field,
            )
        seen.add(inspection_id)
        assignments.append(assignment)
    batch = VisitBatch(
        id=f"VB-{uuid.uuid4().hex[:12]}",
        vendor_id=vendor_id,
        status=BatchStatus.SUBMITTED,
        submitted_at=datetime.now(UTC),
        submitted_by=actor,
    )
    session.add(batch)
    session.flush()
    for visit, assignment in zip(visits, assignments, strict=True):
        session.add(
            VisitReport(
                assignment_id=assignment.id,
                batch_id=batch.id,
                inspection_id=assignment.inspection_id,
                visited_at=visit["visited_at"],
                latitude=visit["latitude"],
                longitude=visit["longitude"],
                photo_sha256=[h.lower() for h in visit.get("photo_sha256") or []],
                notes=visit.get("notes") or "",
                checklist_answers=dict(visit.get("checklist_answers") or {}),
                flags=[],
            )
        )
        assignment.status = AssignmentStatus.SUBMITTED
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="visit_batch.submitted",
        object_type="visit_batch",
        object_id=batch.id,
        detail={"vendor_id": vendor_id, "visits": len(visits)},
    )
    return batch


def withdraw_batch(session: Session, batch_id: str, reason: str, actor: str) -> None:
    """Undo a submitted batch the engine refused: reports gone, assignments back to assigned."""
    for report in reports_of(session, batch_id):
        assignment = session.get(VisitAssignment, report.assignment_id)
        if assignment is not None:
            assignment.status = AssignmentStatus.ASSIGNED
        session.delete(report)
    batch = session.get(VisitBatch, batch_id)
    if batch is not None:
        session.delete(batch)
    audit.record(
        session,
        actor=actor,
        action="visit_batch.withdrawn",
        object_type="visit_batch",
        object_id=batch_id,
        detail={"reason": reason},
    )


def attach_process(session: Session, batch_id: str, process_instance_id: str) -> None:
    get_batch(session, batch_id).process_instance_id = process_instance_id


def get_batch(session: Session, batch_id: str) -> VisitBatch:
    batch = session.get(VisitBatch, batch_id)
    if batch is None:
        raise NotFound(f"visit batch {batch_id} not found")
    return batch


def reports_of(session: Session, batch_id: str) -> list[VisitReport]:
    return list(
        session.scalars(
            select(VisitReport).where(VisitReport.batch_id == batch_id).order_by(VisitReport.id)
        )
    )


def check_batch(session: Session, batch_id: str) -> list[VisitReport]:
    """Authenticity flags of every visit of the batch (idempotent: checked visits keep theirs)."""
    batch = get_batch(session, batch_id)
    reports = reports_of(session, batch_id)
    for report in reports:
        if not report.checked:
            report.flags = authenticity.check_visit(session, report)
            report.checked = True
            session.flush()
    batch.status = BatchStatus.UNDER_REVIEW
    return reports


def visit_options(reports: list[VisitReport]) -> list[dict[str, Any]]:
    """The review form's checklist options: one per visit, its flags in the label."""
    options = []
    for r in reports:
        flags = "; ".join(f["reason"] for f in r.flags or []) or "none"
        options.append({"label": f"{r.inspection_id} — flags: {flags}", "value": str(r.id)})
    return options


def record_decisions(
    session: Session, batch_id: str, accepted_ids: list[str | int], reasons: str, reviewer: str
) -> tuple[list[VisitReport], list[VisitReport]]:
    """Accepted = ticked, rejected = the rest; rejected assignments go back to ``assigned`` (the
    vendor visits again). Returns (accepted, rejected). Updates the vendor's quality score."""
    batch = get_batch(session, batch_id)
    wanted = {str(i) for i in accepted_ids or []}
    accepted, rejected = [], []
    for report in reports_of(session, batch_id):
        assignment = session.get_one(VisitAssignment, report.assignment_id)  # a foreign key
        if report.decision is None:
            report.decision = "accepted" if str(report.id) in wanted else "rejected"
            report.decision_reason = (
                None if report.decision == "accepted" else (reasons or "rejected in batch review")
            )
            report.decided_by = reviewer
        if report.decision == "accepted":
            accepted.append(report)
            assignment.status = AssignmentStatus.ACCEPTED
        else:
            rejected.append(report)
            assignment.status = AssignmentStatus.ASSIGNED
    batch.status = BatchStatus.REVIEWED
    score = quality.recompute(session, batch.vendor_id)
    audit.record(
        session,
        actor=reviewer,
        action="visit_batch.reviewed",
        object_type="visit_batch",
        object_id=batch_id,
        detail={
            "accepted": [r.id for r in accepted],
            "rejected": [r.id for r in rejected],
            "reasons": reasons,
            "vendor_score": score,
        },
    )
    return accepted, rejected


def sample_for_supervision(
    accepted: list[VisitReport], rate: float | None = None, rng: random.Random | None = None
) -> list[VisitReport]:
    """A share of the accepted visits (at least one when the rate is > 0 and any accepted)."""
    share = float(config.section("supervision").get("sample_rate", 0.1) if rate is None else rate)
    if share <= 0 or not accepted:
        return []
    count = min(len(accepted), max(1, round(len(accepted) * share)))
    return sorted((rng or random.Random()).sample(accepted, count), key=lambda r: r.id)


def record_supervision(
    session: Session, report_id: int, result: str, notes: str, actor: str
) -> float:
    """The re-visit's result (matches | mismatch); returns the vendor's new score."""
    if result not in ("matches", "mismatch"):
        raise InvalidInput("revisit_result must be matches or mismatch", field="revisit_result")
    report = session.get(VisitReport, int(report_id))
    if report is None:
        raise NotFound(f"visit report {report_id} not found")
    report.supervision_result = result
    report.supervision_notes = notes
    assignment = session.get_one(VisitAssignment, report.assignment_id)  # a foreign key
    score = quality.recompute(session, assignment.vendor_id)
    audit.record(
        session,
        actor=actor,
        action="visit.supervised",
        object_type="visit_report",
        object_id=str(report.id),
        detail={"result": result, "vendor_score": score},
    )
    return score
