"""Rectifications: raise an item (its ``rectification`` process owed in the same transaction),
submit evidence (the process's ``evidence`` message owed likewise), notify the customer."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from postloan.application import task_context
from postloan.application.services import Services
from postloan.outbox import service as outbox
from postloan.rectifications import service as rectifications
from postloan.rectifications.models import Rectification, RectificationStatus

log = logging.getLogger(__name__)

RECTIFICATION_PROCESS = "rectification"
#: Ends the process's evidence wait (a boundary event of the call activity, same business key).
EVIDENCE_MESSAGE = "rectification_evidence_submitted"


def request_rectification_process(
    session: Session,
    item: Rectification,
    *,
    deadline_at: datetime | None = None,
    reminder_at: datetime | None = None,
) -> None:
    """Owe the ``rectification`` process of a raised (flushed) item: business key = its id.
    ``deadline_at`` / ``reminder_at`` default to the end of the deadline day and the reminder
    day (UTC)."""
    deadline_day = datetime.combine(item.deadline, time.min, tzinfo=UTC)
    deadline_at = deadline_at or deadline_day + timedelta(days=1)
    reminder_at = reminder_at or datetime.combine(
        rectifications.reminder_for(item.deadline), time.min, tzinfo=UTC
    )
    outbox.enqueue_process_start(
        session,
        process_key=RECTIFICATION_PROCESS,
        business_key=item.id,
        attach_to="rectification",
        variables={
            "rectification_id": item.id,
            "customer_id": item.customer_id,
            "severity": item.severity,
            "source": item.source,
            "raised_by": item.raised_by,
            "owner": item.owner,
            "deadline_at": deadline_at.isoformat(),
            "reminder_at": reminder_at.isoformat(),
            "deadline": item.deadline.isoformat(),
            "__dates__": ["deadline_at", "reminder_at"],
            **task_context.for_rectification(session, item),
        },
    )
    log.info("rectification %s raised; its process is owed (deadline %s)", item.id, deadline_at)


def raise_rectification(
    session: Session,
    *,
    customer_id: str,
    loan_id: str | None,
    source: str,
    source_ref: str,
    title: str,
    description: str,
    severity: str,
    owner: str,
    raised_by: str,
    deadline_at: datetime | None = None,
    reminder_at: datetime | None = None,
) -> Rectification:
    """Raise an item and owe its process, in the caller's transaction. Raises InvalidInput for
    bad fields."""
    item = rectifications.raise_rectification(
        session,
        customer_id=customer_id,
        loan_id=loan_id,
        source=source,
        source_ref=source_ref,
        title=title,
        description=description,
        severity=severity,
        owner=owner,
        raised_by=raised_by,
        today=date.today(),
    )
    request_rectification_process(session, item, deadline_at=deadline_at, reminder_at=reminder_at)
    return item


def notify_customer(session: Session, rectification_id: str, *, actor: str) -> str:
    """Record the notice (audit) and owe its delivery to the customer; returns its text."""
    text = rectifications.notify_customer(session, rectification_id, actor=actor)
    item = rectifications.get(session, rectification_id)
    outbox.enqueue_customer_notice(
        session, business_key=item.id, customer_id=item.customer_id, text=text
    )
    return text


def open_rectification(services: Services, **fields: Any) -> Rectification:
    """``POST /rectifications``: raise an item with its process owed, in one transaction (the
    fields of :func:`raise_rectification`). Raises InvalidInput for bad fields."""
    with services.transaction() as session:
        item_id = raise_rectification(session, **fields).id
    with services.uow() as session:
        return rectifications.get(session, item_id)


def submit_evidence(
    services: Services,
    rectification_id: str,
    *,
    submitted_by: str,
    description: str,
    documents: list[Any] | None = None,
) -> Rectification:
    """Store the evidence and, unless the item is with its verifier already (then the further
    evidence is only stored and listed), owe the process's evidence message with the summary
    of all evidence, in the same transaction. The relay delivers it right after the commit and
    retries while the process is not at its evidence wait yet (a just-raised item). Raises
    ``Conflict`` for a closed item."""
    with services.transaction() as session:
        previous_status = rectifications.get(session, rectification_id).status
        rectifications.submit_evidence(
            session,
            rectification_id,
            submitted_by=submitted_by,
            description=description,
            documents=documents,
        )
        if previous_status != RectificationStatus.EVIDENCE_SUBMITTED:
            outbox.enqueue_message(
                session,
                message_name=EVIDENCE_MESSAGE,
                business_key=rectification_id,
                variables={
                    "evidence_summary": rectifications.evidence_summary(session, rectification_id)
                },
            )
    with services.uow() as session:
        return rectifications.get(session, rectification_id)
