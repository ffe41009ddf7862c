"""Handlers of the ``rectification`` process (business key = the rectification id)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from postloan.application import rectifications as rectification_cases
from postloan.errors import NotFound
from postloan.rectifications import restrictions
from postloan.rectifications import service as rectifications
from postloan.rectifications.models import Rectification, Restriction
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

router = TopicRouter()


def _item(session: Session, task: ExternalTask, rectification_id: str | None) -> Rectification:
    try:
        return rectifications.get(session, rectification_id or task.business_key or "")
    except NotFound as exc:
        raise LookupError(
            f"{exc.detail}: the process refers to a rectification the project "
            "database does not hold; restore it, then retry the incident"
        ) from exc


@router.topic("rectification.notify-customer")
@in_transaction
def notify_customer(session: Session, task: ExternalTask, rectification_id: str | None) -> dict:
    item = _item(session, task, rectification_id)
    notice = rectification_cases.notify_customer(session, item.id, actor=WORKER_ACTOR)
    return {
        "rectification_title": item.title,
        "rectification_description": item.description,
        "customer_notice": notice,
    }


@router.topic("rectification.apply-restrictions")
@in_transaction
def apply_restrictions(
    session: Session,
    task: ExternalTask,
    rectification_id: str | None,
    restriction_policy: dict | None,
) -> dict:
    item = _item(session, task, rectification_id)
    rows = restrictions.apply_restrictions(
        session, item, restriction_policy or {}, actor=WORKER_ACTOR
    )
    return {"restrictions_applied": bool(rows), "restrictions_summary": _summary(rows)}


def _summary(rows: list[Restriction]) -> str:
    return "\n".join(f"{r.kind}: {r.reason}" for r in rows) or "None"


@router.topic("rectification.remind")
@in_transaction
def remind(session: Session, task: ExternalTask, rectification_id: str | None) -> dict:
    item = _item(session, task, rectification_id)
    return {"reminder_text": rectifications.remind(session, item.id, actor=WORKER_ACTOR)}


@router.topic("rectification.escalate")
@in_transaction
def escalate(session: Session, task: ExternalTask, rectification_id: str | None) -> dict:
    item = _item(session, task, rectification_id)
    item = rectifications.escalate(session, item.id, actor=WORKER_ACTOR)
    return {"escalated": item.escalated_at is not None}


@router.topic("rectification.record-evidence")
@in_transaction
def record_evidence(
    session: Session,
    task: ExternalTask,
    rectification_id: str | None,
    evidence_description: str | None,
    evidence_documents: str | None,
    evidence_submitted_by: str | None,
) -> dict:
    """Evidence submitted in Tasklist, stored as POST /rectifications/{id}/evidence stores it."""
    item = _item(session, task, rectification_id)
    documents = [d.strip() for d in (evidence_documents or "").split(",") if d.strip()]
    rectifications.submit_evidence(
        session,
        item.id,
        submitted_by=evidence_submitted_by or WORKER_ACTOR,
        description=evidence_description or "",
        documents=documents,
    )
    return {"evidence_summary": rectifications.evidence_summary(session, item.id)}


@router.topic("rectification.record-verification")
@in_transaction
def record_verification(
    session: Session,
    task: ExternalTask,
    rectification_id: str | None,
    verification_decision: str | None,
    verification_comment: str | None,
    verified_by: str | None,
) -> dict:
    item = _item(session, task, rectification_id)
    accepted = verification_decision == "accept"
    if verification_decision not in ("accept", "reject"):
        raise ValueError(
            f"verification_decision must be accept or reject, not {verification_decision!r}"
        )
    item = rectifications.verify(
        session,
        item.id,
        verifier=verified_by or WORKER_ACTOR,
        accepted=accepted,
        comment=verification_comment or "",
    )
    rows = []
    if accepted:
        rows = restrictions.request_lift(session, item.id, actor=verified_by or WORKER_ACTOR)
    return {
        "verification_accepted": accepted,
        "restrictions_applied": bool(rows),
        "restrictions_summary": _summary(rows),
    }


@router.topic("rectification.lift-restrictions")
@in_transaction
def lift_restrictions(
    session: Session,
    task: ExternalTask,
    rectification_id: str | None,
    lift_decision: str | None,
    lift_comment: str | None,
    lift_approved_by: str | None,
) -> dict:
    item = _item(session, task, rectification_id)
    approver = lift_approved_by or WORKER_ACTOR
    if lift_decision == "approve":
        rows = restrictions.approve_lift(session, item.id, approver)
        return {"restrictions_lifted": len(rows)}
    restrictions.keep(session, item.id, approver, lift_comment or "")
    return {"restrictions_lifted": 0}
