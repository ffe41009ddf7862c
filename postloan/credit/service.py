"""Credit applications of existing customers: the post-loan side of credit approval.

The row is created here (status ``assessing``), its ``credit_approval_linkage`` process assembles
the dossier, the DMN ``approval_gate`` decides block / conditional / clear, and a credit approver
decides and rates the post-loan work. Every change is audited in the caller's transaction.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.credit import dossier as dossiers
from postloan.credit.models import CreditApplication
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.errors import Conflict, InvalidInput, NotFound

OBJECT = "credit_application"
DECISIONS = {"approve": "approved", "reject": "rejected"}
RATINGS = ("good", "adequate", "poor")


def create(
    session: Session, *, customer_id: str, product: str, amount: Decimal, currency: str, actor: str
) -> CreditApplication:
    """A new application of an existing customer (flushed, not committed)."""
    if session.get(Customer, customer_id) is None:
        raise InvalidInput(
            f"customer {customer_id} does not exist; credit applications are "
            "for existing customers",
            field="customer_id",
        )
    application = CreditApplication(
        id=f"CA-{uuid.uuid4().hex[:12]}",
        customer_id=customer_id,
        product=product,
        amount=amount,
        currency=currency,
        requested_by=actor,
        status="assessing",
        gate_reasons=[],
    )
    session.add(application)
    audit.record(
        session,
        actor=actor,
        action="credit_application.received",
        object_type=OBJECT,
        object_id=application.id,
        detail={
            "customer_id": customer_id,
            "product": product,
            "amount": str(amount),
            "currency": currency,
        },
    )
    session.flush()
    return application


def get(session: Session, application_id: str) -> CreditApplication:
    application = session.get(CreditApplication, application_id)
    if application is None:
        raise NotFound(f"credit application {application_id} does not exist")
    return application


def withdraw(session: Session, application_id: str, why: str, *, actor: str) -> None:
    """Remove an application whose process could not be started (nothing half-written)."""
    application = session.get(CreditApplication, application_id)
    if application is not None:
        session.delete(application)
        audit.record(
            session,
            actor=actor,
            action="credit_application.start_failed",
            object_type=OBJECT,
            object_id=application_id,
            detail={"customer_id": application.customer_id, "why": why},
        )
        session.flush()


def attach_process(session: Session, application_id: str, process_instance_id: str) -> None:
    get(session, application_id).process_instance_id = process_instance_id


def assemble_dossier(session: Session, application_id: str, *, actor: str) -> dict[str, Any]:
    """Assemble and store the customer's dossier; returns it."""
    application = get(session, application_id)
    dossier = dossiers.assemble(session, application.customer_id)
    application.dossier = dossier
    audit.record(
        session,
        actor=actor,
        action="credit_application.dossier_assembled",
        object_type=OBJECT,
        object_id=application_id,
        detail=dossiers.gate_inputs(dossier),
    )
    return dossier


def record_gate(
    session: Session, application_id: str, gate: str, reason: str, *, actor: str
) -> CreditApplication:
    """Store the gate (DMN result) with every reason that applies; blocks the application."""
    if gate not in ("block", "conditional", "clear"):
        raise InvalidInput(f"unknown gate decision {gate!r}", field="gate")
    application = get(session, application_id)
    details = dossiers.gate_reasons(
        application.dossier or dossiers.assemble(session, application.customer_id)
    )
    reasons = [reason] if reason else []
    reasons += [r for r in details if r != reason]
    application.gate_decision = gate
    application.gate_reasons = reasons
    application.status = "blocked" if gate == "block" else "awaiting_approval"
    if gate == "block":
        application.decided_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="credit_application.gate",
        object_type=OBJECT,
        object_id=application_id,
        detail={"gate": gate, "reasons": reasons},
    )
    return application


def record_decision(
    session: Session,
    application_id: str,
    *,
    decision: str,
    comment: str,
    rating: str,
    rating_comment: str,
    approver: str,
) -> CreditApplication:
    """The approver's decision and rating of the post-loan work. Recording the same decision
    again changes nothing; a different one after the first is refused."""
    if decision not in DECISIONS:
        raise InvalidInput(
            f"credit_decision must be one of {', '.join(DECISIONS)}", field="credit_decision"
        )
    if rating not in RATINGS:
        raise InvalidInput(
            f"post_loan_quality must be one of {', '.join(RATINGS)}", field="post_loan_quality"
        )
    if rating == "poor" and not rating_comment.strip():
        raise InvalidInput("a poor rating needs a comment", field="post_loan_quality_comment")
    application = get(session, application_id)
    status = DECISIONS[decision]
    if application.decision is not None:
        if application.decision != status:
            raise Conflict(
                f"credit application {application_id} was already {application.decision}"
            )
        return application
    application.decision = status
    application.status = status
    application.decided_by = approver
    application.decision_comment = comment
    application.quality_rating = rating
    application.quality_comment = rating_comment or None
    application.decided_at = utcnow()
    audit.record(
        session,
        actor=approver or "unknown",
        action=f"credit_application.{status}",
        object_type=OBJECT,
        object_id=application_id,
        detail={"comment": comment, "quality_rating": rating, "quality_comment": rating_comment},
    )
    return application


def applications_of(session: Session, customer_id: str) -> list[CreditApplication]:
    return list(
        session.scalars(
            select(CreditApplication)
            .where(CreditApplication.customer_id == customer_id)
            .order_by(CreditApplication.created_at)
        )
    )
