"""Rectification items: raise, evidence, verification, escalation, reminders and notices.

A ``rectification`` process instance drives each item (business key = the item's id); this
module only changes the database, in the caller's transaction, and writes the audit trail.
Deadlines and reminders come from ``config/rectification.yaml``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.loans.models import Loan
from postloan.rectifications.models import (
    Rectification,
    RectificationEvidence,
    RectificationStatus,
)

log = logging.getLogger(__name__)

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "rectification.yaml"
SOURCES = ("inspection", "review", "audit", "approval_rating")
SEVERITIES = ("minor", "major", "serious", "critical")
OPEN_STATUSES = (
    RectificationStatus.OPEN,
    RectificationStatus.EVIDENCE_SUBMITTED,
    RectificationStatus.REOPENED,
    RectificationStatus.ESCALATED,
)


@dataclass(frozen=True)
class RectificationRules:
    deadline_days: dict[str, int]
    reminder_days_before: int


@lru_cache(maxsize=1)
def rules(path: Path = CONFIG_FILE) -> RectificationRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    days = {str(k): int(v) for k, v in (raw.get("deadline_days") or {}).items()}
    missing = [s for s in SEVERITIES if s not in days]
    if missing:
        raise ValueError(f"{path.name}: deadline_days lacks {', '.join(missing)}")
    return RectificationRules(
        deadline_days=days, reminder_days_before=int(raw.get("reminder_days_before", 3))
    )


def deadline_for(severity: str, today: date) -> date:
    return today + timedelta(days=rules().deadline_days[severity])


def reminder_for(deadline: date) -> date:
    return deadline - timedelta(days=rules().reminder_days_before)


def new_rectification_id() -> str:
    return f"REC-{uuid.uuid4().hex[:12].upper()}"


def _required(value: Any, field: str) -> str:
    text = (value or "").strip() if isinstance(value, str) else value
    if not text:
        raise InvalidInput(f"{field} is required", field=field)
    return str(text)


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
    today: date | None = None,
) -> Rectification:
    """Record a rectification item with its deadline; the caller starts its process."""
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", field="source")
    if severity not in SEVERITIES:
        raise InvalidInput(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
    title = _required(title, "title")
    description = _required(description, "description")
    owner = _required(owner, "owner")
    if session.get(Customer, customer_id or "") is None:
        raise InvalidInput(f"customer {customer_id!r} does not exist", field="customer_id")
    if loan_id:
        loan = session.get(Loan, loan_id)
        if loan is None:
            raise InvalidInput(f"loan {loan_id!r} does not exist", field="loan_id")
        if loan.customer_id != customer_id:
            raise InvalidInput(
                f"loan {loan_id!r} is not a loan of customer {customer_id!r}", field="loan_id"
            )
    today = today or date.today()
    item = Rectification(
        id=new_rectification_id(),
        customer_id=customer_id,
        loan_id=loan_id or None,
        source=source,
        source_ref=source_ref or "",
        title=title[:200],
        description=description,
        severity=severity,
        owner=owner,
        raised_by=raised_by,
        deadline=deadline_for(severity, today),
        status=RectificationStatus.OPEN,
        reopen_count=0,
    )
    session.add(item)
    audit.record(
        session,
        actor=raised_by,
        action="rectification.raised",
        object_type="rectification",
        object_id=item.id,
        detail={
            "customer_id": customer_id,
            "loan_id": loan_id,
            "source": source,
            "source_ref": source_ref,
            "severity": severity,
            "owner": owner,
            "deadline": item.deadline.isoformat(),
        },
    )
    session.flush()
    log.info(
        "rectification %s raised by %s for customer %s (%s, deadline %s)",
        item.id,
        raised_by,
        customer_id,
        severity,
        item.deadline,
    )
    return item


def withdraw(session: Session, rectification_id: str, why: str, *, actor: str) -> None:
    """Remove an item whose process could not be started (nothing else refers to it yet)."""
    item = get(session, rectification_id)
    session.delete(item)
    audit.record(
        session,
        actor=actor,
        action="rectification.start_failed",
        object_type="rectification",
        object_id=rectification_id,
        detail={"customer_id": item.customer_id, "why": why},
    )
    session.flush()


def attach_process(session: Session, rectification_id: str, process_instance_id: str) -> None:
    get(session, rectification_id).process_instance_id = process_instance_id
    session.flush()


def get(session: Session, rectification_id: str) -> Rectification:
    item = session.get(Rectification, rectification_id)
    if item is None:
        raise NotFound(f"rectification {rectification_id!r} does not exist")
    return item


def evidence_of(session: Session, rectification_id: str) -> list[RectificationEvidence]:
    return list(
        session.scalars(
            select(RectificationEvidence)
            .where(RectificationEvidence.rectification_id == rectification_id)
            .order_by(RectificationEvidence.id)
        )
    )


def search(
    session: Session,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    source: str | None = None,
    raised_by: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Rectification]:
    query = select(Rectification)
    if customer_id:
        query = query.where(Rectification.customer_id == customer_id)
    if status:
        if status not in set(RectificationStatus):
            raise InvalidInput(
                f"status must be one of {', '.join(RectificationStatus)}", field="status"
            )
        query = query.where(Rectification.status == status)
    if source:
        if source not in SOURCES:
            raise InvalidInput(f"source must be one of {', '.join(SOURCES)}", field="source")
        query = query.where(Rectification.source == source)
    if raised_by:
        query = query.where(Rectification.raised_by == raised_by)
    query = query.order_by(Rectification.created_at.desc(), Rectification.id)
    return list(session.scalars(query.limit(max(1, min(limit, 500))).offset(max(0, offset))))


def submit_evidence(
    session: Session,
    rectification_id: str,
    *,
    submitted_by: str,
    description: str,
    documents: list[Any] | None = None,
) -> RectificationEvidence:
    item = get(session, rectification_id)
    if item.status == RectificationStatus.CLOSED:
        raise Conflict(f"rectification {rectification_id} is closed; evidence is not accepted")
    description = _required(description, "description")
    evidence = RectificationEvidence(
        rectification_id=item.id,
        submitted_by=submitted_by,
        description=description,
        documents=list(documents or []),
    )
    session.add(evidence)
    item.status = RectificationStatus.EVIDENCE_SUBMITTED
    audit.record(
        session,
        actor=submitted_by,
        action="rectification.evidence_submitted",
        object_type="rectification",
        object_id=item.id,
        detail={"description": description, "documents": list(documents or [])},
    )
    session.flush()
    log.info("evidence for rectification %s submitted by %s", item.id, submitted_by)
    return evidence


def evidence_summary(session: Session, rectification_id: str) -> str:
    rows = evidence_of(session, rectification_id)
    if not rows:
        return "No evidence submitted."
    lines = []
    for row in rows:
        docs = ", ".join(str(d) for d in (row.documents or []))
        lines.append(
            f"{row.submitted_at:%Y-%m-%d %H:%M} {row.submitted_by}: {row.description}"
            + (f" (documents: {docs})" if docs else "")
        )
    return "\n".join(lines)


def verify(
    session: Session,
    rectification_id: str,
    *,
    verifier: str,
    accepted: bool,
    comment: str = "",
) -> Rectification:
    """The verifier's decision: accepted closes the item, rejected reopens it."""
    item = get(session, rectification_id)
    if item.status == RectificationStatus.CLOSED:
        if accepted and item.verified_by == verifier:
            return item  # the same decision delivered again
        raise Conflict(f"rectification {rectification_id} is already closed")
    if accepted:
        item.status = RectificationStatus.CLOSED
        item.closed_at = utcnow()
        item.verified_by = verifier
        action = "rectification.closed"
    else:
        item.status = RectificationStatus.REOPENED
        item.reopen_count = (item.reopen_count or 0) + 1
        action = "rectification.reopened"
    audit.record(
        session,
        actor=verifier,
        action=action,
        object_type="rectification",
        object_id=item.id,
        detail={"accepted": accepted, "comment": comment, "reopen_count": item.reopen_count},
    )
    session.flush()
    log.info("rectification %s %s by %s", item.id, "closed" if accepted else "reopened", verifier)
    return item


def escalate(
    session: Session, rectification_id: str, now: datetime | None = None, *, actor: str = "system"
) -> Rectification:
    """The deadline passed without a verified rectification: mark it escalated."""
    item = get(session, rectification_id)
    if item.status == RectificationStatus.CLOSED:
        log.info("rectification %s closed before its deadline: no escalation", item.id)
        return item
    if item.escalated_at is None:
        item.escalated_at = now or utcnow()
    item.status = RectificationStatus.ESCALATED
    audit.record(
        session,
        actor=actor,
        action="rectification.escalated",
        object_type="rectification",
        object_id=item.id,
        detail={
            "deadline": item.deadline.isoformat(),
            "owner": item.owner,
            "severity": item.severity,
        },
    )
    session.flush()
    log.warning(
        "rectification %s of customer %s escalated: deadline %s passed (owner %s)",
        item.id,
        item.customer_id,
        item.deadline,
        item.owner,
    )
    return item


def remind(session: Session, rectification_id: str, *, actor: str = "system") -> str:
    """Remind the owner of an approaching deadline; returns the notice text."""
    item = get(session, rectification_id)
    if item.status == RectificationStatus.CLOSED:
        return ""
    text = (
        f"Reminder: rectification {item.id} '{item.title}' ({item.severity}) is due on "
        f"{item.deadline.isoformat()}; owner {item.owner}."
    )
    audit.record(
        session,
        actor=actor,
        action="rectification.reminded",
        object_type="rectification",
        object_id=item.id,
        detail={"owner": item.owner, "text": text},
    )
    session.flush()
    log.info("%s", text)
    return text


def notify_customer(session: Session, rectification_id: str, *, actor: str = "system") -> str:
    """Record the notice to the customer (no external mail): an audit event with its text."""
    item = get(session, rectification_id)
    customer = session.get(Customer, item.customer_id)
    name = customer.name if customer else item.customer_id
    text = (
        f"Dear {name}, the bank requires rectification of: {item.title}. "
        f"{item.description} Severity: {item.severity}. Please rectify and submit evidence "
        f"by {item.deadline.isoformat()}."
    )
    audit.record(
        session,
        actor=actor,
        action="rectification.customer_notified",
        object_type="rectification",
        object_id=item.id,
        detail={"customer_id": item.customer_id, "text": text},
    )
    session.flush()
    log.info("customer %s notified of rectification %s", item.customer_id, item.id)
    return text
