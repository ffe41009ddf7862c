"""Inspections: request, automated checks, finalization into a report."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postloan import audit
from postloan.covenants import service as covenant_tests
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.inspections.models import (
    ACTIVITY_STAGES,
    OPEN_INDEX,
    OPEN_STATUSES,
    STAGE_ORDER,
    Inspection,
    InspectionFinding,
    InspectionItem,
    InspectionKind,
    InspectionStage,
    InspectionStatus,
)
from postloan.loans import service as loans
from postloan.loans.models import Loan
from postloan.signals.models import RiskSignal, SignalStatus

#: Checklist items of the slice's inspection form; the template catalogue replaces this later.
CHECKLIST_ITEMS = (
    "funds_used_as_agreed",
    "business_operating_normally",
    "collateral_intact",
    "approval_conditions_met",
)


def stage_of(inspection: Inspection, activities: list[str] | None) -> InspectionStage:
    """The inspection's stage: its status once closed; while open, from the activities its
    process instance waits in (``None``: the engine could not be asked). The one function the
    list and the detail both use.

    An open inspection without a process yet is ``requested``; one whose instance waits
    nowhere any more is between its last step and the stored status (``finalizing``)."""
    if inspection.status == InspectionStatus.COMPLETED:
        return InspectionStage.COMPLETED
    if inspection.status == InspectionStatus.CANCELLED:
        return InspectionStage.CANCELLED
    if not inspection.process_instance_id:
        return InspectionStage.REQUESTED
    if activities is None:
        return InspectionStage.UNKNOWN
    stages = {ACTIVITY_STAGES.get(a, InspectionStage.AUTOMATED_CHECKS) for a in activities}
    if not stages:
        return InspectionStage.FINALIZING
    return max(stages, key=STAGE_ORDER.index)


def new_inspection_id() -> str:
    return f"INS-{uuid.uuid4().hex[:12].upper()}"


class OpenInspectionExists(Conflict):
    """The loan already has an open inspection of that kind (at most one per loan and kind)."""

    def __init__(self, loan_id: str, kind: str, inspection_id: str | None) -> None:
        which = f" {inspection_id}" if inspection_id else ""
        super().__init__(
            f"loan {loan_id} already has an open {kind} inspection{which}", field="loan_id"
        )
        self.loan_id, self.kind, self.inspection_id = loan_id, kind, inspection_id


def open_inspection(session: Session, loan_id: str, kind: str) -> Inspection | None:
    """The loan's open inspection of ``kind`` (requested or in progress), if any."""
    return session.scalars(
        select(Inspection)
        .where(
            Inspection.loan_id == loan_id,
            Inspection.kind == kind,
            Inspection.status.in_(OPEN_STATUSES),
        )
        .limit(1)
    ).first()


def _is_open_index_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return OPEN_INDEX in text or ("inspection.loan_id, inspection.kind" in text)


def request(session: Session, *, loan_id: str, kind: str, reason: str, actor: str) -> Inspection:
    """Record that an inspection of a loan is wanted; the caller starts its process.

    At most one inspection per loan and kind is open: :class:`OpenInspectionExists` (409,
    naming the open one) when there is one already, also when a concurrent request inserted it
    first (the database's partial unique index refuses the second; the session is rolled back
    then)."""
    if kind not in set(InspectionKind):
        raise InvalidInput(f"kind must be one of {', '.join(InspectionKind)}", field="kind")
    if session.get(Loan, loan_id) is None:
        raise InvalidInput(f"loan {loan_id!r} does not exist", field="loan_id")
    existing = open_inspection(session, loan_id, kind)
    if existing is not None:
        raise OpenInspectionExists(loan_id, kind, existing.id)
    inspection = Inspection(
        id=new_inspection_id(),
        loan_id=loan_id,
        kind=kind,
        reason=reason,
        requested_by=actor,
        status=InspectionStatus.REQUESTED,
    )
    session.add(inspection)
    audit.record(
        session,
        actor=actor,
        action="inspection.requested",
        object_type="inspection",
        object_id=inspection.id,
        detail={"loan_id": loan_id, "kind": kind, "reason": reason},
    )
    try:
        session.flush()
    except IntegrityError as exc:
        if not _is_open_index_violation(exc):
            raise
        # A concurrent request opened one first (committed now, or we would still wait).
        session.rollback()
        existing = open_inspection(session, loan_id, kind)
        raise OpenInspectionExists(loan_id, kind, existing.id if existing else None) from exc
    return inspection


def withdraw(session: Session, inspection_id: str, why: str, *, actor: str) -> None:
    """Remove a request whose process could not be started (its findings cannot exist yet)."""
    inspection = get(session, inspection_id)
    session.delete(inspection)
    audit.record(
        session,
        actor=actor,
        action="inspection.start_failed",
        object_type="inspection",
        object_id=inspection_id,
        detail={"loan_id": inspection.loan_id, "why": why},
    )
    session.flush()


def attach_process(session: Session, inspection_id: str, process_instance_id: str) -> None:
    get(session, inspection_id).process_instance_id = process_instance_id
    session.flush()


def get(session: Session, inspection_id: str) -> Inspection:
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise NotFound(f"inspection {inspection_id!r} does not exist")
    return inspection


def search(
    session: Session,
    *,
    loan_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Inspection], int]:
    """Inspections, newest first, with the total count matching the filter."""
    query = select(Inspection)
    if loan_id:
        query = query.where(Inspection.loan_id == loan_id)
    if status:
        query = query.where(Inspection.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Inspection.created_at.desc(), Inspection.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def findings(session: Session, inspection_id: str) -> list[InspectionFinding]:
    return list(
        session.scalars(
            select(InspectionFinding)
            .where(InspectionFinding.inspection_id == inspection_id)
            .order_by(InspectionFinding.id)
        )
    )


def items(session: Session, inspection_id: str) -> list[InspectionItem]:
    """The checklist of an inspection, in order."""
    return list(
        session.scalars(
            select(InspectionItem)
            .where(InspectionItem.inspection_id == inspection_id)
            .order_by(InspectionItem.seq)
        )
    )


def items_for_form(session: Session, inspection_id: str) -> list[dict[str, Any]]:
    """The checklist as the inspection form shows it (and hands back with results filled in)."""
    return [
        {
            "code": i.code,
            "label": i.label,
            "evidence": i.evidence_required,
            "source": i.source,
            "result": i.result,
            "note": i.note or "",
        }
        for i in items(session, inspection_id)
    ]


def item_options(session: Session, inspection_id: str) -> list[dict[str, str]]:
    """The checklist as options of the form's checklists (value = the item's code)."""
    return [
        {
            "label": f"{i.label} — evidence: {i.evidence_required}"
            if i.evidence_required
            else i.label,
            "value": i.code,
        }
        for i in items(session, inspection_id)
    ]


def record_item_results(
    session: Session,
    inspection_id: str,
    in_order: list[str] | None,
    not_applicable: list[str] | None,
    notes: str | None = None,
) -> list[str]:
    """Store the inspector's result for every checklist item; returns the codes not in order.

    A point ticked as in order is ``ok``; ticked as not applicable, ``not_applicable`` (in order
    wins if both are ticked); neither, ``not_ok`` — an unverified point counts against the work.
    Codes the checklist does not have are ignored: the form cannot add items.
    """
    ok, na = set(in_order or []), set(not_applicable or [])
    not_in_order = []
    for item in items(session, inspection_id):
        if item.code in ok:
            item.result = "ok"
        elif item.code in na:
            item.result = "not_applicable"
        else:
            item.result = "not_ok"
            not_in_order.append(item.code)
        item.note = ((notes or "").strip() or None) if item.result == "not_ok" else None
    session.flush()
    return not_in_order


def prescribed_actions(
    session: Session, inspection_id: str, notes: str | None = None
) -> tuple[bool, str]:
    """Whether every prescribed action of the template was done, and a summary for the reviewer.

    Complete means: every point is in order or does not apply, and where a point demands
    evidence, the inspector wrote evidence notes. The summary names the points not in order and
    the points whose evidence notes are missing.
    """
    checklist = items(session, inspection_id)
    not_in_order = [i.label for i in checklist if i.result not in ("ok", "not_applicable")]
    has_notes = bool((notes or "").strip()) or any((i.note or "").strip() for i in checklist)
    missing_evidence = (
        []
        if has_notes
        else [
            i.label for i in checklist if i.result == "ok" and (i.evidence_required or "").strip()
        ]
    )
    lines = []
    if not_in_order:
        lines.append("Not in order: " + "; ".join(not_in_order))
    if missing_evidence:
        lines.append("Missing evidence notes: " + "; ".join(missing_evidence))
    complete = not not_in_order and not missing_evidence
    return complete, "\n".join(lines) or "All prescribed actions done, with evidence notes."


def checklist_summary(
    items: Iterable[InspectionItem], submitted: Mapping[str, bool | None]
) -> dict[str, bool | None]:
    """The report's summary checklist, taken from the points where the checklist has them.

    ``approval_conditions_met`` and ``funds_used_as_agreed`` follow the approval-condition and
    use-of-funds points: True when every one is in order, False when one is not, None (not
    applicable) when all are marked not applicable. Where the checklist has no such points
    (routine and special inspections), what the inspector submitted stands, else None — so an
    approved inspection no longer reads "conditions met: no" for conditions nobody had to check.
    """
    points = list(items)
    by_source = {
        "approval_conditions_met": [i for i in points if i.source == "approval_condition"],
        "funds_used_as_agreed": [i for i in points if i.source == "use_of_funds"],
    }
    summary: dict[str, bool | None] = {}
    for key in CHECKLIST_ITEMS:
        own = by_source.get(key)
        if own:
            relevant = [i for i in own if i.result != "not_applicable"]
            summary[key] = all(i.result == "ok" for i in relevant) if relevant else None
        else:
            summary[key] = submitted.get(key)
    return summary


def record_rework_count(session: Session, inspection_id: str, rework_count: int) -> None:
    """How often the work was returned (the process counts; the inspection keeps the number)."""
    inspection = get(session, inspection_id)
    inspection.rework_count = max(int(rework_count or 0), inspection.rework_count or 0)
    session.flush()


def record_inspector(session: Session, inspection_id: str, inspector: str, *, actor: str) -> None:
    """Note who performed the inspection (each submission, including after a rework)."""
    inspection = get(session, inspection_id)
    inspection.inspector = inspector or None
    audit.record(
        session,
        actor=inspector or actor,
        action="inspection.performed",
        object_type="inspection",
        object_id=inspection_id,
        detail={"answered": sum(1 for i in items(session, inspection_id) if i.result)},
    )
    session.flush()


@dataclass(frozen=True)
class InspectionContext:
    inspection_id: str
    loan_id: str
    customer_id: str
    account_manager: str
    loan_amount: float
    kind: str
    template: str
    mode: str


def begin(session: Session, inspection_id: str, *, actor: str) -> InspectionContext:
    """Mark the inspection as under way and return what the process needs to route it."""
    inspection = get(session, inspection_id)
    loan = session.get(Loan, inspection.loan_id)
    if loan is None:
        raise NotFound(f"loan {inspection.loan_id!r} of inspection {inspection_id} does not exist")
    customer = session.get(Customer, loan.customer_id)
    if customer is None:
        raise NotFound(f"customer {loan.customer_id!r} of loan {loan.id} does not exist")
    if inspection.status == InspectionStatus.REQUESTED:
        inspection.status = InspectionStatus.IN_PROGRESS
        audit.record(
            session,
            actor=actor,
            action="inspection.started",
            object_type="inspection",
            object_id=inspection_id,
        )
    return InspectionContext(
        inspection_id=inspection.id,
        loan_id=loan.id,
        customer_id=customer.id,
        account_manager=customer.account_manager,
        loan_amount=float(loan.amount),
        kind=inspection.kind,
        template=inspection.template,
        mode=inspection.mode,
    )


def record_finding(
    session: Session,
    inspection_id: str,
    *,
    source: str,
    code: str,
    severity: str,
    summary: str,
    evidence: dict[str, Any],
) -> InspectionFinding:
    """Write a finding once: running the same check again replaces its earlier result."""
    finding = session.scalars(
        select(InspectionFinding).where(
            InspectionFinding.inspection_id == inspection_id,
            InspectionFinding.source == source,
            InspectionFinding.code == code,
        )
    ).one_or_none()
    if finding is None:
        finding = InspectionFinding(inspection_id=inspection_id, source=source, code=code)
        session.add(finding)
    finding.severity = severity
    finding.summary = summary
    finding.evidence = evidence
    # When it was found: also when the check found the same again (no other column changed).
    finding.modified_at = utcnow()
    session.flush()
    return finding


@dataclass(frozen=True)
class InspectionOutcome:
    """What the people in the process decided, as the process hands it over at the end."""

    inspector: str
    findings_text: str
    conclusion: str
    reviewer: str
    review_decision: str
    review_comment: str
    risk_class: str
    risk_class_reason: str
    checklist: dict[str, bool | None] = field(default_factory=dict)
    previous_class: str | None = None
    classification_decision: str | None = None
    classification_decided_by: str | None = None


def onsite_result(session: Session, inspection_id: str) -> dict[str, Any] | None:
    """The unannounced on-site verification's result (None when there was none)."""
    finding = session.scalars(
        select(InspectionFinding).where(
            InspectionFinding.inspection_id == inspection_id,
            InspectionFinding.source == "onsite_verification",
        )
    ).first()
    return dict(finding.evidence) if finding is not None else None


def open_signals(session: Session, loan: Loan) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(RiskSignal)
        .where(
            RiskSignal.customer_id == loan.customer_id,
            RiskSignal.status != SignalStatus.RESOLVED,
            (RiskSignal.loan_id == loan.id) | RiskSignal.loan_id.is_(None),
        )
        .order_by(RiskSignal.respond_by, RiskSignal.id)
    )
    return [
        {
            "id": r.id,
            "code": r.code,
            "severity": r.severity,
            "summary": r.summary,
            "status": r.status,
            "owner_role": r.owner_role,
            "respond_by": r.respond_by.isoformat(),
        }
        for r in rows
    ]


def finalize(
    session: Session, inspection_id: str, outcome: InspectionOutcome, *, actor: str
) -> Inspection:
    """Store the report once. Finalizing twice keeps the first report.

    The loan's class is not set here: the classification service applied or settled it before
    (an upgrade at once, a downgrade after a credit manager's confirmation); the report states the
    class the loan has now, the one the rules proposed, and who decided.
    """
    inspection = get(session, inspection_id)
    if inspection.status == InspectionStatus.COMPLETED:
        return inspection
    if inspection.status == InspectionStatus.CANCELLED:
        raise Conflict(f"inspection {inspection_id} was cancelled")
    if outcome.inspector and outcome.inspector == outcome.reviewer:
        # The engine enforces four eyes; this guards the record against any path around it.
        raise Conflict(f"inspector and reviewer are the same person ({outcome.inspector})")
    loan = loans.get(session, inspection.loan_id)
    now = utcnow()
    report = {
        "inspection": {
            "id": inspection.id,
            "kind": inspection.kind,
            "reason": inspection.reason,
            "template": inspection.template,
            "mode": inspection.mode,
            "due_on": inspection.due_on.isoformat() if inspection.due_on else None,
            "requested_by": inspection.requested_by,
            "requested_at": inspection.created_at.isoformat() if inspection.created_at else None,
        },
        "loan": {
            "id": loan.id,
            "customer_id": loan.customer_id,
            "product": loan.product,
            "amount": str(loan.amount),
            "currency": loan.currency,
            "purpose": loan.purpose,
            "approval_conditions": [c.text for c in loan.approval_conditions],
        },
        "checks": [
            {
                "source": f.source,
                "code": f.code,
                "severity": f.severity,
                "summary": f.summary,
                "evidence": f.evidence,
            }
            for f in findings(session, inspection_id)
        ],
        "signals": open_signals(session, loan),
        "covenants": covenant_tests.report_section(session, loan.id),
        "items": items_for_form(session, inspection_id),
        "inspector": {
            "user": outcome.inspector,
            "checklist": checklist_summary(items(session, inspection_id), outcome.checklist),
            "findings": outcome.findings_text,
            "conclusion": outcome.conclusion,
        },
        "review": {
            "reviewer": outcome.reviewer,
            "decision": outcome.review_decision,
            "comment": outcome.review_comment,
        },
        "rework_count": inspection.rework_count or 0,
        "onsite_verification": onsite_result(session, inspection_id),
        "classification": {
            "risk_class": loan.risk_class,
            "reason": loan.risk_class_reason,
            "proposed_class": outcome.risk_class,
            "proposed_reason": outcome.risk_class_reason,
            "previous_class": outcome.previous_class,
            "decision": outcome.classification_decision,
            "decided_by": outcome.classification_decided_by,
        },
        "completed_at": now.isoformat(),
    }
    inspection.status = InspectionStatus.COMPLETED
    inspection.inspector = outcome.inspector
    inspection.reviewer = outcome.reviewer
    inspection.conclusion = outcome.conclusion
    inspection.risk_class = loan.risk_class
    inspection.completed_at = now
    inspection.report = report
    audit.record(
        session,
        actor=actor,
        action="inspection.completed",
        object_type="inspection",
        object_id=inspection_id,
        detail={
            "inspector": outcome.inspector,
            "reviewer": outcome.reviewer,
            "conclusion": outcome.conclusion,
            "risk_class": loan.risk_class,
            # Proves the stored report: ``postloanctl audit verify`` re-computes it.
            "report_sha256": audit.sha256_of(report),
        },
    )
    session.flush()
    return inspection


def cancel(session: Session, inspection_id: str, reason: str, *, actor: str) -> None:
    inspection = session.get(Inspection, inspection_id)
    if inspection is None or inspection.status in (
        InspectionStatus.COMPLETED,
        InspectionStatus.CANCELLED,
    ):
        return
    inspection.status = InspectionStatus.CANCELLED
    inspection.cancel_reason = reason
    audit.record(
        session,
        actor=actor,
        action="inspection.cancelled",
        object_type="inspection",
        object_id=inspection_id,
        detail={"reason": reason},
    )
    session.flush()
