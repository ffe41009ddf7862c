"""Due-diligence reviews over REST: request one for a loan (its ``due_diligence_review`` process
owed in the same transaction), and the account manager's appeal within the window (the waiting
appeal task told through the outbox likewise)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from postloan.application.services import Services
from postloan.due_diligence import service as reviews
from postloan.due_diligence import triggers
from postloan.due_diligence.models import DueDiligenceReview
from postloan.errors import Conflict
from postloan.outbox import service as outbox


def request_review(
    services: Services, loan_id: str, *, reason: str, actor: str
) -> DueDiligenceReview:
    """``POST /due-diligence-reviews``: 404 unknown loan, 409 when one is open."""
    try:
        with services.transaction() as session:
            review = reviews.start(session, loan_id, trigger="request", reason=reason, actor=actor)
            triggers.request_process(session, review)
            review_id = review.id
    except IntegrityError as exc:  # a concurrent start won the partial unique index
        raise Conflict(f"loan {loan_id} has an open due-diligence review", field="loan_id") from exc
    with services.uow() as session:
        return reviews.get(session, review_id)


def appeal(
    services: Services, review_id: str, *, grounds: str, appellant: str, actor: str
) -> DueDiligenceReview:
    """``POST /due-diligence-reviews/{id}/appeal``: within the window only (409
    ``appeal_window_closed`` after it); the account manager's appeal task goes and the appeal
    review by a credit manager who took no part follows."""
    with services.transaction() as session:
        review = reviews.record_appeal(
            session, review_id, grounds=grounds, appellant=appellant, actor=actor
        )
        outbox.enqueue_message(
            session,
            message_name=reviews.APPEALED_MESSAGE,
            business_key=str(review_id),
            variables={"appealed": True, "appeal_grounds_text": review.appeal_grounds},
            only_if_waiting=True,
        )
    with services.uow() as session:
        return reviews.get(session, review_id)
