"""Restrictions on a customer while a rectification is open: disbursement frozen and/or new
business restricted. What to restrict comes from the DMN ``restriction_policy`` (the process
evaluates it; bulk callers may use :mod:`postloan.decisions`). Lifting needs a second person.
Rows are never deleted: they are the customer's restriction history.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.errors import Conflict, NotFound
from postloan.rectifications.models import (
    Rectification,
    RectificationStatus,
    Restriction,
    RestrictionKind,
)
from postloan.rectifications.service import OPEN_STATUSES

log = logging.getLogger(__name__)

ACTIVE = "active"
LIFT_REQUESTED = "lift_requested"
LIFTED = "lifted"
#: Statuses that still restrict the customer (a requested lift is not a lift).
IN_FORCE = (ACTIVE, LIFT_REQUESTED)


def _in_force_for(session: Session, rectification_id: str) -> list[Restriction]:
    return list(
        session.scalars(
            select(Restriction)
            .where(
                Restriction.rectification_id == rectification_id, Restriction.status.in_(IN_FORCE)
            )
            .order_by(Restriction.id)
        )
    )


def apply_restrictions(
    session: Session,
    rectification: Rectification,
    policy: dict[str, Any] | None,
    actor: str,
) -> list[Restriction]:
    """Restrict the customer as the policy says; idempotent: one restriction in force per
    rectification and kind. Returns the restrictions in force for the rectification."""
    policy = policy or {}
    wanted = []
    if policy.get("freeze_disbursement"):
        wanted.append(RestrictionKind.DISBURSEMENT_FREEZE)
    if policy.get("restrict_new_business"):
        wanted.append(RestrictionKind.NEW_BUSINESS)
    reason = str(policy.get("reason") or f"rectification {rectification.id} open")
    existing = {r.kind for r in _in_force_for(session, rectification.id)}
    for kind in wanted:
        if kind in existing:
            continue
        session.add(
            Restriction(
                customer_id=rectification.customer_id,
                kind=kind,
                reason=f"{reason} (rectification {rectification.id}: {rectification.title})",
                rectification_id=rectification.id,
                status=ACTIVE,
                started_at=utcnow(),
                started_by=actor,
            )
        )
        audit.record(
            session,
            actor=actor,
            action="restriction.applied",
            object_type="customer",
            object_id=rectification.customer_id,
            detail={"kind": str(kind), "rectification_id": rectification.id, "reason": reason},
        )
        log.warning(
            "customer %s restricted (%s) because of rectification %s: %s",
            rectification.customer_id,
            kind,
            rectification.id,
            reason,
        )
    session.flush()
    return _in_force_for(session, rectification.id)


def request_lift(session: Session, rectification_id: str, actor: str) -> list[Restriction]:
    rows = _in_force_for(session, rectification_id)
    for row in rows:
        if row.status == ACTIVE:
            row.status = LIFT_REQUESTED
            row.lift_requested_by = actor
            audit.record(
                session,
                actor=actor,
                action="restriction.lift_requested",
                object_type="customer",
                object_id=row.customer_id,
                detail={
                    "restriction_id": row.id,
                    "kind": row.kind,
                    "rectification_id": rectification_id,
                },
            )
    session.flush()
    return rows


def approve_lift(session: Session, rectification_id: str, approver: str) -> list[Restriction]:
    """Lift every restriction of the rectification; the rectification must be closed."""
    item = session.get(Rectification, rectification_id)
    if item is None:
        raise NotFound(f"rectification {rectification_id!r} does not exist")
    if item.status != RectificationStatus.CLOSED:
        raise Conflict(f"rectification {rectification_id} is not closed; its restrictions stay")
    rows = _in_force_for(session, rectification_id)
    now = utcnow()
    for row in rows:
        row.status = LIFTED
        row.lifted_at = now
        row.lift_approved_by = approver
        audit.record(
            session,
            actor=approver,
            action="restriction.lifted",
            object_type="customer",
            object_id=row.customer_id,
            detail={
                "restriction_id": row.id,
                "kind": row.kind,
                "rectification_id": rectification_id,
            },
        )
        log.info(
            "restriction %s (%s) of customer %s lifted by %s",
            row.id,
            row.kind,
            row.customer_id,
            approver,
        )
    session.flush()
    return rows


def keep(session: Session, rectification_id: str, actor: str, comment: str = "") -> None:
    """The lift was refused: restrictions in force go back to active."""
    for row in _in_force_for(session, rectification_id):
        row.status = ACTIVE
        audit.record(
            session,
            actor=actor,
            action="restriction.lift_refused",
            object_type="customer",
            object_id=row.customer_id,
            detail={
                "restriction_id": row.id,
                "kind": row.kind,
                "comment": comment,
                "rectification_id": rectification_id,
            },
        )
    session.flush()


def credit_status(session: Session, customer_id: str) -> dict[str, Any]:
    """May the customer draw down or take new business? Two indexed queries (restrictions in
    force by customer and status, open rectifications by customer); the customer is looked up
    only when neither finds anything. Raises NotFound for an unknown customer."""
    restrictions = session.execute(
        select(
            Restriction.id,
            Restriction.kind,
            Restriction.reason,
            Restriction.rectification_id,
            Restriction.status,
            Restriction.started_at,
        )
        .where(Restriction.customer_id == customer_id, Restriction.status.in_(IN_FORCE))
        .order_by(Restriction.id)
    ).all()
    rectifications = session.execute(
        select(
            Rectification.id,
            Rectification.severity,
            Rectification.title,
            Rectification.deadline,
            Rectification.status,
        )
        .where(Rectification.customer_id == customer_id, Rectification.status.in_(OPEN_STATUSES))
        .order_by(Rectification.deadline, Rectification.id)
    ).all()
    if not restrictions and not rectifications and session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id!r} does not exist")
    kinds = {r.kind for r in restrictions}
    return {
        "customer_id": customer_id,
        "disbursement_allowed": RestrictionKind.DISBURSEMENT_FREEZE not in kinds,
        "new_business_allowed": RestrictionKind.NEW_BUSINESS not in kinds,
        "restrictions": [
            {
                "id": r.id,
                "kind": r.kind,
                "reason": r.reason,
                "rectification_id": r.rectification_id,
                "status": r.status,
                "started_at": r.started_at.isoformat() if r.started_at else None,
            }
            for r in restrictions
        ],
        "open_rectifications": [
            {
                "id": r.id,
                "severity": r.severity,
                "title": r.title,
                "deadline": r.deadline.isoformat(),
                "status": r.status,
            }
            for r in rectifications
        ],
    }


def history(session: Session, customer_id: str) -> list[Restriction]:
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id!r} does not exist")
    return list(
        session.scalars(
            select(Restriction)
            .where(Restriction.customer_id == customer_id)
            .order_by(Restriction.id)
        )
    )


def of_rectification(session: Session, rectification_id: str) -> list[Restriction]:
    return list(
        session.scalars(
            select(Restriction)
            .where(Restriction.rectification_id == rectification_id)
            .order_by(Restriction.id)
        )
    )
