"""Handlers of the ``due_diligence_review`` process (business key = the review id)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from postloan.due_diligence import service as reviews
from postloan.due_diligence import texts
from postloan.due_diligence.models import ReviewStatus
from postloan.errors import InvalidInput, NotFound
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

router = TopicRouter()

#: The business rule task after the deliberation (the first one weighs the evidence alone).
REASSESSMENT_ACTIVITY = "record_reassessment"


def _review_id(task: ExternalTask, review_id: Any) -> str:
    raw = review_id if review_id is not None else task.business_key
    if not raw:
        raise LookupError("this process names no review (variable review_id, business key)")
    return str(raw)


def _missing(exc: NotFound) -> LookupError:
    return LookupError(
        f"{exc.detail}: the process refers to a review the project database does not hold; "
        "restore it, then retry the incident"
    )


@router.topic("due_diligence.assemble-evidence")
@in_transaction
def assemble_evidence(session: Session, task: ExternalTask, review_id: str | None) -> dict:
    """The evidence stored on the review; the decision's inputs and the forms' evidence text."""
    try:
        review, inputs = reviews.assemble_evidence(session, _review_id(task, review_id))
    except NotFound as exc:
        raise _missing(exc) from exc
    assert review.evidence is not None
    return inputs | {"evidence_text": texts.evidence_text(review.evidence)}


@router.topic("due_diligence.record-proposal")
@in_transaction
def record_proposal(
    session: Session, task: ExternalTask, review_id: str | None, exemption_results: Any
) -> dict:
    """The proposal of ``exemption_rules``: the most severe outcome, with every reason."""
    stage = "deliberation" if task.activity_id == REASSESSMENT_ACTIVITY else "evidence"
    results = exemption_results if isinstance(exemption_results, list) else []
    try:
        review = reviews.record_proposal(session, _review_id(task, review_id), results, stage=stage)
    except NotFound as exc:
        raise _missing(exc) from exc
    return {
        "proposal_outcome": (review.proposal or {}).get("outcome"),
        "proposal_text": texts.proposal_text(review),
    }


@router.topic("due_diligence.record-deliberation")
@in_transaction
def record_deliberation(
    session: Session,
    task: ExternalTask,
    review_id: str | None,
    deliberation_outcome: str | None,
    deliberation_note: str | None,
    fraud_found: bool | None,
    collusion_found: bool | None,
    serious_breach_found: bool | None,
    deliberator: str | None,
) -> dict:
    """The deliberation (who: the engine-recorded ``deliberator``); the decision's inputs with
    what it found, for the reassessment."""
    review = reviews.record_deliberation(
        session,
        _review_id(task, review_id),
        outcome=deliberation_outcome,
        note=deliberation_note,
        fraud=bool(fraud_found),
        collusion=bool(collusion_found),
        serious_breach=bool(serious_breach_found),
        actor=deliberator or WORKER_ACTOR,
    )
    return reviews.inputs_of(review) | {"deliberation_text": texts.deliberation_text(review)}


@router.topic("due_diligence.record-determination")
@in_transaction
def record_determination(
    session: Session,
    task: ExternalTask,
    review_id: str | None,
    determined_outcome: str | None,
    determination_note: str | None,
    determiner: str | None,
) -> dict:
    """The determination; one that may not stand (exempt in a case of fraud) sends the task
    back at once with the reason (``determination_problem``)."""
    try:
        review = reviews.record_determination(
            session,
            _review_id(task, review_id),
            outcome=determined_outcome,
            note=determination_note,
            actor=determiner or WORKER_ACTOR,
        )
    except InvalidInput as exc:
        return {"determination_problem": f"{exc.field}: {exc.detail}"}
    assert review.appeal_deadline is not None
    deadline = reviews._aware(review.appeal_deadline)
    return {
        "determination_problem": "",
        # ISO-8601 text: the appeal window's timer takes it as it takes a Date
        "appeal_deadline": deadline.isoformat(),
        # the appeal task is due when the window closes
        "appeal_exemption_due": deadline.isoformat(),
        "appeal_deadline_label": f"{deadline:%Y-%m-%d %H:%M} UTC",
        "determination_text": texts.determination_text(review),
    }


@router.topic("due_diligence.record-appeal")
@in_transaction
def record_appeal(
    session: Session,
    task: ExternalTask,
    review_id: str | None,
    appeal_choice: str | None,
    appeal_grounds: str | None,
    appeal_decided_by: str | None,
) -> dict:
    """The account manager's answer in Tasklist: an appeal goes to the appeal review, an
    acceptance makes the determination final. An appeal recorded over REST meanwhile counts."""
    rid = _review_id(task, review_id)
    review = reviews.get(session, rid)
    if review.status == ReviewStatus.APPEAL_WINDOW and appeal_choice == "appeal":
        review = reviews.record_appeal(
            session,
            rid,
            grounds=appeal_grounds,
            appellant=appeal_decided_by or "",
            actor=appeal_decided_by or WORKER_ACTOR,
        )
    appealed = review.status == ReviewStatus.APPEAL_REVIEW
    return {"appealed": appealed, "appeal_grounds_text": review.appeal_grounds or "-"}


@router.topic("due_diligence.record-appeal-review")
@in_transaction
def record_appeal_review(
    session: Session,
    task: ExternalTask,
    review_id: str | None,
    appeal_decision: str | None,
    appeal_outcome: str | None,
    appeal_review_note: str | None,
    appeal_reviewer: str | None,
) -> dict:
    """The appeal review makes the outcome final; an answer that may not stand comes back."""
    try:
        reviews.record_appeal_review(
            session,
            _review_id(task, review_id),
            decision=appeal_decision,
            outcome=appeal_outcome,
            note=appeal_review_note,
            actor=appeal_reviewer or WORKER_ACTOR,
        )
    except InvalidInput as exc:
        return {"appeal_review_problem": f"{exc.field}: {exc.detail}"}
    return {"appeal_review_problem": ""}


@router.topic("due_diligence.close-window")
@in_transaction
def close_window(session: Session, task: ExternalTask, review_id: str | None) -> dict:
    """No appeal: the determination is final."""
    review = reviews.close_window(session, _review_id(task, review_id), actor=WORKER_ACTOR)
    return {"final_outcome": review.final_outcome}
