"""The signed push of a credit application's result to the origination system.

No HTTP here (domain core): the payload, its signature, and the delivery record that makes each
event owed once. :func:`owe` writes the delivery record and its outbox message in the caller's
transaction; the outbox relay does the POST and counts each attempt (:func:`record_attempt`).

Signature: ``X-Postloan-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes with the
shared secret>``; ``X-Postloan-Event-Id`` is the outbox message id (one per event key:
application id + final status), so the receiver can drop a repeat (a POST that succeeded but
whose record was lost is sent again with the same id).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.credit.models import CreditApplication, WebhookDelivery
from postloan.db import utcnow

SIGNATURE_HEADER = "X-Postloan-Signature"
EVENT_HEADER = "X-Postloan-Event-Id"
SKIPPED = "skipped: no origination webhook URL configured"


def event_key(application: CreditApplication) -> str:
    return f"{application.id}:{application.status}"


def payload(application: CreditApplication) -> dict[str, Any]:
    return {
        "application_id": application.id,
        "customer_id": application.customer_id,
        "status": application.status,
        "gate_decision": application.gate_decision,
        "gate_reasons": list(application.gate_reasons or []),
        "decision": application.decision,
        "quality_rating": application.quality_rating,
        "decided_at": application.decided_at.isoformat() if application.decided_at else None,
    }


def body(data: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def signature(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verify(raw: bytes, secret: str, header: str) -> bool:
    return hmac.compare_digest(signature(raw, secret), header or "")


def prepare(session: Session, application: CreditApplication, url: str) -> WebhookDelivery:
    """The delivery record of the application's current result (created once per event key)."""
    key = event_key(application)
    delivery = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_key == key)
    ).first()
    if delivery is None:
        delivery = WebhookDelivery(
            event_key=key,
            application_id=application.id,
            url=url,
            payload=payload(application),
            attempts=0,
        )
        session.add(delivery)
        session.flush()
    return delivery


def owe(session: Session, application: CreditApplication, url: str) -> WebhookDelivery:
    """The delivery record of the application's current result, and (the first time, when a
    URL is configured) its outbox message; without a URL the event is recorded as skipped."""
    from postloan.outbox import service as outbox

    key = event_key(application)
    existing = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_key == key)
    ).first()
    if existing is not None:
        return existing
    delivery = prepare(session, application, url)
    if not url:
        mark_skipped(delivery)
    else:
        outbox.enqueue_webhook(
            session, business_key=application.id, url=url, body=delivery.payload, delivery_key=key
        )
    session.flush()
    return delivery


def record_attempt(session: Session, key: str, error: str | None) -> None:
    """Count one POST of event ``key``: delivered when ``error`` is None."""
    delivery = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_key == key)
    ).first()
    if delivery is None:
        return
    if error is None:
        mark_delivered(delivery)
    else:
        mark_failed(delivery, error)


def is_done(delivery: WebhookDelivery) -> bool:
    return delivery.delivered_at is not None or delivery.last_error == SKIPPED


def mark_delivered(delivery: WebhookDelivery) -> None:
    delivery.attempts += 1
    delivery.delivered_at = utcnow()
    delivery.last_error = None


def mark_failed(delivery: WebhookDelivery, error: str) -> None:
    delivery.attempts += 1
    delivery.last_error = error[:2000]


def mark_skipped(delivery: WebhookDelivery) -> None:
    delivery.last_error = SKIPPED
