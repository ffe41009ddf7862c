"""What starts a due-diligence review: a loan classified non-performing from a performing class
(every path that applies a class calls :func:`on_class_applied` in its own transaction), or a
request over REST. The review row and its process start (through the outbox) are written in the
caller's transaction: both commit or neither does."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from postloan.customers.models import Customer
from postloan.due_diligence import config
from postloan.due_diligence import service as reviews
from postloan.due_diligence.models import DueDiligenceReview
from postloan.loans.models import Loan
from postloan.outbox import service as outbox

log = logging.getLogger(__name__)


def request_process(session: Session, review: DueDiligenceReview) -> None:
    """Owe the ``due_diligence_review`` process of a (flushed) review: business key its id."""
    rules = config.load()
    loan = session.get(Loan, review.loan_id)
    customer = session.get(Customer, review.customer_id)
    variables = {
        "review_id": review.id,
        "loan_id": review.loan_id,
        "account_manager": review.account_manager,
        "customer_name": customer.name if customer is not None else review.customer_id,
        "loan_label": (
            f"{loan.id} ({loan.amount:,.0f} {loan.currency})"
            if loan is not None
            else review.loan_id
        ),
        "task_priority": rules.task_priority,
        "fraud": False,
        "collusion": False,
        "serious_breach": False,
    }
    for task_key, days in rules.task_due_days.items():
        variables[f"{task_key}_due"] = f"P{days}D"
    outbox.enqueue_process_start(
        session,
        process_key=reviews.PROCESS_KEY,
        business_key=str(review.id),
        variables=variables,
    )


def on_class_applied(
    session: Session, loan_id: str, from_class: str | None, to_class: str, *, actor: str
) -> DueDiligenceReview | None:
    """A class was applied to a loan: open its review when it turned non-performing from a
    performing class and none is open (a loan already under review keeps that one)."""
    if not reviews.turns_non_performing(from_class, to_class):
        return None
    session.flush()  # the class just applied, before the review reads the loan
    if reviews.open_review(session, loan_id) is not None:
        return None
    review = reviews.start(
        session,
        loan_id,
        trigger="classification",
        reason=f"classified {to_class} (was {from_class})",
        actor=actor,
        from_class=from_class,
        to_class=to_class,
    )
    request_process(session, review)
    return review
