"""Handlers of the ``credit_approval_linkage`` process: dossier, gate, decision, signed push."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from config.settings import get_settings
from postloan.application import credit as credit_cases
from postloan.credit import dossier as dossiers
from postloan.credit import service as credit
from postloan.errors import NotFound
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

log = logging.getLogger(__name__)
router = TopicRouter()

POOR_RATING_TITLE = credit_cases.POOR_RATING_TITLE


@router.topic("credit.assemble-dossier")
@in_transaction
def assemble_dossier(session: Session, task: ExternalTask, application_id: str | None) -> dict:
    """Store the customer's post-loan dossier in the application; output the gate inputs."""
    application_id = application_id or task.business_key or ""
    try:
        dossier = credit.assemble_dossier(session, application_id, actor=WORKER_ACTOR)
    except NotFound as exc:
        raise LookupError(
            f"{exc.detail}: the process refers to a credit application the "
            "project database does not hold; restore it, then retry the "
            "incident"
        ) from exc
    application = credit.get(session, application_id)
    return {
        **dossiers.gate_inputs(dossier),
        "account_manager": dossier["customer"]["account_manager"],
        "product": application.product,
        "amount": str(application.amount),
        "currency": application.currency,
        "dossier_summary": dossiers.summary(dossier),
    }


@router.topic("credit.record-gate")
@in_transaction
def record_gate(
    session: Session, task: ExternalTask, application_id: str, gate: dict | None
) -> dict:
    """Store the DMN gate with every reason that applies; a block refuses the application."""
    gate = gate or {}
    application = credit.record_gate(
        session,
        application_id,
        gate.get("gate") or "",
        gate.get("reason") or "",
        actor=WORKER_ACTOR,
    )
    log.info(
        "credit application %s: gate %s (%s)",
        application_id,
        application.gate_decision,
        gate.get("reason"),
    )
    return {
        "gate_decision": application.gate_decision,
        "gate_reason": gate.get("reason") or "",
        "gate_reasons_text": "\n".join(f"- {r}" for r in application.gate_reasons) or "None.",
    }


@router.topic("credit.record-decision")
@in_transaction
def record_decision(
    session: Session,
    task: ExternalTask,
    application_id: str,
    credit_decision: str | None,
    credit_comment: str | None,
    post_loan_quality: str | None,
    post_loan_quality_comment: str | None,
    credit_approver: str | None,
) -> dict:
    """Store the approver's decision and rating; a poor rating raises a rectification of the
    post-loan work (once per application), owned by the customer's account manager."""
    application, rectification_id = credit_cases.record_decision(
        session,
        application_id,
        decision=credit_decision or "",
        comment=credit_comment or "",
        rating=post_loan_quality or "",
        rating_comment=post_loan_quality_comment or "",
        approver=credit_approver or "unknown",
    )
    return {"application_status": application.status, "quality_rectification_id": rectification_id}


@router.topic("credit.push-result")
@in_transaction
def push_result(session: Session, task: ExternalTask, application_id: str) -> dict:
    """Owe the signed push of the final result to the origination system (once per event key):
    the outbox relay POSTs it, retries with backoff and keeps a dead one for the operator."""
    url = get_settings().origination_webhook_url
    delivery = credit_cases.push_result(session, application_id, url)
    if not url:
        log.warning(
            "credit application %s: no origination webhook URL configured; event %s "
            "recorded as skipped",
            application_id,
            delivery.event_key,
        )
    return {"webhook_event": delivery.event_key}
