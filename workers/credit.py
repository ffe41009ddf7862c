"""Handlers of the ``credit_approval_linkage`` process: dossier, gate, decision, signed push."""

from __future__ import annotations

import logging

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import get_settings
from gateway.engine import EngineGateway
from postloan.credit import dossier as dossiers
from postloan.credit import service as credit
from postloan.credit import webhook
from postloan.customers.models import Customer
from postloan.errors import NotFound
from postloan.rectifications.models import Rectification
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

log = logging.getLogger(__name__)
router = TopicRouter()

POOR_RATING_TITLE = "Post-loan work rated poor by the credit approver"


def engine() -> EngineGateway:
    s = get_settings()
    return EngineGateway(s.engine_url, s.engine_worker_user,
                         s.engine_worker_password.get_secret_value(), s.engine_timeout_seconds)


@router.topic("credit.assemble-dossier")
@in_transaction
def assemble_dossier(session: Session, task: ExternalTask, application_id: str | None) -> dict:
    """Store the customer's post-loan dossier in the application; output the gate inputs."""
    application_id = application_id or task.business_key or ""
    try:
        dossier = credit.assemble_dossier(session, application_id, actor=WORKER_ACTOR)
    except NotFound as exc:
        raise LookupError(f"{exc.detail}: the process refers to a credit application the "
                          "project database does not hold; restore it, then retry the "
                          "incident") from exc
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
def record_gate(session: Session, task: ExternalTask, application_id: str,
                gate: dict | None) -> dict:
    """Store the DMN gate with every reason that applies; a block refuses the application."""
    gate = gate or {}
    application = credit.record_gate(session, application_id, gate.get("gate") or "",
                                     gate.get("reason") or "", actor=WORKER_ACTOR)
    log.info("credit application %s: gate %s (%s)", application_id, application.gate_decision,
             gate.get("reason"))
    return {
        "gate_decision": application.gate_decision,
        "gate_reason": gate.get("reason") or "",
        "gate_reasons_text": "\n".join(f"- {r}" for r in application.gate_reasons) or "None.",
    }


@router.topic("credit.record-decision")
@in_transaction
def record_decision(
    session: Session, task: ExternalTask, application_id: str, credit_decision: str | None,
    credit_comment: str | None, post_loan_quality: str | None,
    post_loan_quality_comment: str | None, credit_approver: str | None,
) -> dict:
    """Store the approver's decision and rating; a poor rating opens a rectification of the
    post-loan work (once per application), owned by the customer's account manager."""
    approver = credit_approver or "unknown"
    application = credit.record_decision(
        session, application_id, decision=credit_decision or "", comment=credit_comment or "",
        rating=post_loan_quality or "", rating_comment=post_loan_quality_comment or "",
        approver=approver)
    rectification_id = None
    if application.quality_rating == "poor":
        existing = session.scalars(select(Rectification.id).where(
            Rectification.source == "approval_rating",
            Rectification.source_ref == application_id)).first()
        if existing is None:
            from gateway.processes import open_rectification

            customer = session.get(Customer, application.customer_id)
            item = open_rectification(
                session, engine(), customer_id=application.customer_id, loan_id=None,
                source="approval_rating", source_ref=application_id, title=POOR_RATING_TITLE,
                description=application.quality_comment or "", severity="major",
                owner=customer.account_manager if customer else "", raised_by=approver)
            rectification_id = item.id
            log.info("credit application %s rated poor by %s: rectification %s opened",
                     application_id, approver, rectification_id)
        else:
            rectification_id = existing
    return {"application_status": application.status,
            "quality_rectification_id": rectification_id}


@router.topic("credit.push-result")
@in_transaction
def push_result(session: Session, task: ExternalTask, application_id: str) -> dict:
    """Push the final result, signed, to the origination system: once per event key.

    A failed POST (connection, timeout, non-2xx) raises after recording the attempt, so the
    runtime retries with the topic's backoff and finally raises an incident.
    """
    settings = get_settings()
    application = credit.get(session, application_id)
    url = settings.origination_webhook_url
    delivery = webhook.prepare(session, application, url)
    if webhook.is_done(delivery):
        log.info("credit application %s: event %s already pushed (%s), nothing to do",
                 application_id, delivery.event_key, delivery.last_error or "delivered")
        return {"webhook_event": delivery.event_key}
    if not url:
        webhook.mark_skipped(delivery)
        log.warning("credit application %s: no origination webhook URL configured; event %s "
                    "recorded as skipped", application_id, delivery.event_key)
        return {"webhook_event": delivery.event_key}
    raw = webhook.body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        webhook.SIGNATURE_HEADER: webhook.signature(
            raw, settings.origination_webhook_secret.get_secret_value()),
        webhook.EVENT_HEADER: delivery.event_key,
    }
    try:
        response = requests.post(url, data=raw, headers=headers,
                                 timeout=settings.origination_webhook_timeout_seconds)
        if response.status_code >= 300:
            raise RuntimeError(f"origination system answered {response.status_code}: "
                               f"{response.text[:200]}")
    except (requests.RequestException, RuntimeError) as exc:
        webhook.mark_failed(delivery, str(exc))
        session.commit()  # keep the attempt on record; the raise rolls back nothing else
        log.warning("credit application %s: push of %s failed (attempt %d): %s",
                    application_id, delivery.event_key, delivery.attempts, exc)
        raise
    webhook.mark_delivered(delivery)
    log.info("credit application %s: event %s pushed to %s", application_id,
             delivery.event_key, url)
    return {"webhook_event": delivery.event_key}
