"""Due-diligence reviews of non-performing loans: request one, read them, appeal a determination
(``POST /due-diligence-reviews``, ``GET /due-diligence-reviews``,
``GET /due-diligence-reviews/{id}``, ``POST /due-diligence-reviews/{id}/appeal``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Actor, Identifier, Limit500, Offset, Page, PathId, QueryId, Reason, Strict
from postloan.application import due_diligence as due_diligence_cases
from postloan.due_diligence import service as reviews
from postloan.due_diligence.models import DueDiligenceReview

router = APIRouter(prefix="/due-diligence-reviews", tags=["due-diligence"])

StatusFilter = Literal[
    "open",
    "investigating",
    "deliberating",
    "determining",
    "appeal_window",
    "appeal_review",
    "final",
]


class ReviewIn(Strict):
    """A review of a loan on request (one open per loan)."""

    loan_id: Identifier
    reason: Reason


class AppealIn(Strict):
    """The account manager's appeal, within the window (``appeal_window_closed`` after it)."""

    grounds: Reason
    appealed_by: Actor


class Proposal(Strict):
    outcome: str | None
    reasons: list[str]
    inputs: dict[str, Any]
    stage: str | None
    proposed_at: datetime | None


class Deliberation(Strict):
    by: str
    at: datetime
    outcome: str | None
    note: str
    fraud: bool
    collusion: bool
    serious_breach: bool


class Determination(Strict):
    by: str
    at: datetime
    outcome: str
    note: str
    appeal_deadline: datetime | None


class Appeal(Strict):
    by: str
    at: datetime
    grounds: str
    decision: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    note: str


class ReviewOut(Strict):
    id: str
    loan_id: str
    customer_id: str
    account_manager: str
    branch: str
    trigger: str
    reason: str
    from_class: str | None
    to_class: str | None
    requested_by: str
    requested_at: datetime
    status: str
    evidence: dict[str, Any] | None
    evidence_at: datetime | None
    proposal: Proposal | None
    deliberation: Deliberation | None
    determination: Determination | None
    appeal: Appeal | None
    final_outcome: str | None
    final_at: datetime | None


class ReviewList(Page):
    items: list[ReviewOut]


def review_out(row: DueDiligenceReview, *, with_evidence: bool = True) -> ReviewOut:
    proposal = row.proposal or None
    return ReviewOut(
        id=row.id,
        loan_id=row.loan_id,
        customer_id=row.customer_id,
        account_manager=row.account_manager,
        branch=row.branch,
        trigger=row.trigger,
        reason=row.reason,
        from_class=row.from_class,
        to_class=row.to_class,
        requested_by=row.requested_by,
        requested_at=row.created_at,
        status=row.status,
        evidence=row.evidence if with_evidence else None,
        evidence_at=row.evidence_at,
        proposal=(
            Proposal(
                outcome=proposal.get("outcome"),
                reasons=list(proposal.get("reasons") or []),
                inputs=dict(proposal.get("inputs") or {}),
                stage=proposal.get("stage"),
                proposed_at=row.proposed_at,
            )
            if proposal
            else None
        ),
        deliberation=(
            Deliberation(
                by=row.deliberated_by,
                at=row.deliberated_at,
                outcome=row.deliberation_outcome,
                note=row.deliberation_note,
                fraud=row.fraud,
                collusion=row.collusion,
                serious_breach=row.serious_breach,
            )
            if row.deliberated_by and row.deliberated_at
            else None
        ),
        determination=(
            Determination(
                by=row.determined_by,
                at=row.determined_at,
                outcome=row.determined_outcome,
                note=row.determination_note,
                appeal_deadline=row.appeal_deadline,
            )
            if row.determined_by and row.determined_at and row.determined_outcome
            else None
        ),
        appeal=(
            Appeal(
                by=row.appealed_by,
                at=row.appealed_at,
                grounds=row.appeal_grounds,
                decision=row.appeal_decision,
                reviewed_by=row.appeal_reviewed_by,
                reviewed_at=row.appeal_reviewed_at,
                note=row.appeal_review_note,
            )
            if row.appealed_by and row.appealed_at
            else None
        ),
        final_outcome=row.final_outcome,
        final_at=row.final_at,
    )


@router.post(
    "",
    response_model=ReviewOut,
    status_code=status.HTTP_201_CREATED,
    summary="Request a due-diligence review of a loan",
)
def request_review(body: ReviewIn, services: ServicesDep, caller: Integrator) -> ReviewOut:
    """404 for an unknown loan, 409 when the loan has an open review. The review's process
    starts through the outbox (reviews also start by themselves when a loan is classified
    non-performing)."""
    row = due_diligence_cases.request_review(
        services, body.loan_id, reason=body.reason, actor=caller.actor
    )
    return review_out(row)


@router.get("", response_model=ReviewList, summary="Due-diligence reviews, newest first")
def list_reviews(
    session: SessionDep,
    caller: Reader,
    loan_id: QueryId = None,
    status: StatusFilter | None = None,
    account_manager: Annotated[
        str | None, Query(max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = None,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> ReviewList:
    """Without the evidence (``GET /due-diligence-reviews/{id}`` has it)."""
    rows, total = reviews.search(
        session,
        loan_id=loan_id,
        status=status,
        account_manager=account_manager,
        limit=limit,
        offset=offset,
    )
    return ReviewList(
        total=total,
        limit=limit,
        offset=offset,
        items=[review_out(r, with_evidence=False) for r in rows],
    )


@router.get(
    "/{review_id}",
    response_model=ReviewOut,
    summary="One review: evidence, proposal with reasons, deliberation, determination, appeal",
)
def get_review(review_id: PathId, session: SessionDep, caller: Reader) -> ReviewOut:
    return review_out(reviews.get(session, review_id))


@router.post(
    "/{review_id}/appeal",
    response_model=ReviewOut,
    summary="The account manager appeals the determination (within the appeal window)",
)
def appeal(
    review_id: PathId, body: AppealIn, services: ServicesDep, caller: Integrator
) -> ReviewOut:
    """409 ``appeal_window_closed`` after the window; 422 when ``appealed_by`` is not the
    loan's account manager. The appeal task in Tasklist goes; a credit manager who took no part
    reviews the appeal."""
    row = due_diligence_cases.appeal(
        services,
        review_id,
        grounds=body.grounds,
        appellant=body.appealed_by,
        actor=f"{caller.actor}/{body.appealed_by}"[:100],
    )
    return review_out(row)
