"""Credit applications of existing customers: apply (the ``credit_approval_linkage`` process
owed with the row), the approver's decision (a poor rating raises a rectification), and the
signed push of the result (a webhook owed through the outbox)."""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.application import rectifications as rectification_cases
from postloan.application import task_context
from postloan.application.services import Services
from postloan.credit import service as credit
from postloan.credit import webhook
from postloan.credit.models import CreditApplication, WebhookDelivery
from postloan.customers.models import Customer
from postloan.outbox import service as outbox
from postloan.rectifications.models import Rectification

log = logging.getLogger(__name__)

CREDIT_PROCESS = "credit_approval_linkage"
POOR_RATING_TITLE = "Post-loan work rated poor by the credit approver"


def request_credit_process(session: Session, application: CreditApplication) -> None:
    outbox.enqueue_process_start(
        session,
        process_key=CREDIT_PROCESS,
        business_key=application.id,
        attach_to="credit_application",
        variables={
            "application_id": application.id,
            "customer_id": application.customer_id,
            **task_context.for_credit_application(session, application),
        },
    )


def apply_for_credit(
    session: Session, *, customer_id: str, product: str, amount: Decimal, currency: str, actor: str
) -> CreditApplication:
    application = credit.create(
        session,
        customer_id=customer_id,
        product=product,
        amount=amount,
        currency=currency,
        actor=actor,
    )
    request_credit_process(session, application)
    return application


def create_application(
    services: Services,
    *,
    customer_id: str,
    product: str,
    amount: Decimal,
    currency: str,
    actor: str,
) -> CreditApplication:
    """``POST /credit-applications``: the application and its owed process in one transaction,
    read back once delivered (``process_instance_id`` null until the relay started it)."""
    with services.transaction() as session:
        application_id = apply_for_credit(
            session,
            customer_id=customer_id,
            product=product,
            amount=amount,
            currency=currency,
            actor=actor,
        ).id
    with services.uow() as session:
        return credit.get(session, application_id)


def record_decision(
    session: Session,
    application_id: str,
    *,
    decision: str,
    comment: str,
    rating: str,
    rating_comment: str,
    approver: str,
) -> tuple[CreditApplication, str | None]:
    """Store the approver's decision and rating; a poor rating raises a rectification of the
    post-loan work (once per application), owned by the customer's account manager. Returns
    the application and that rectification's id."""
    application = credit.record_decision(
        session,
        application_id,
        decision=decision,
        comment=comment,
        rating=rating,
        rating_comment=rating_comment,
        approver=approver,
    )
    if application.quality_rating != "poor":
        return application, None
    existing = session.scalars(
        select(Rectification.id).where(
            Rectification.source == "approval_rating", Rectification.source_ref == application_id
        )
    ).first()
    if existing is not None:
        return application, existing
    customer = session.get(Customer, application.customer_id)
    item = rectification_cases.raise_rectification(
        session,
        customer_id=application.customer_id,
        loan_id=None,
        source="approval_rating",
        source_ref=application_id,
        title=POOR_RATING_TITLE,
        description=application.quality_comment or "",
        severity="major",
        owner=customer.account_manager if customer else "",
        raised_by=approver,
    )
    log.info(
        "credit application %s rated poor by %s: rectification %s raised",
        application_id,
        approver,
        item.id,
    )
    return application, item.id


def push_result(session: Session, application_id: str, url: str) -> WebhookDelivery:
    """Owe the signed push of the application's final result (once per event key); without a
    URL the event is recorded as skipped."""
    return webhook.owe(session, credit.get(session, application_id), url)
