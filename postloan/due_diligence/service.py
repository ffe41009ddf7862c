"""Due-diligence reviews: opened when a loan turns non-performing (or on request), the evidence
and the ``exemption_rules`` proposal stored, the deliberation, the determination, the appeal and
its review, the final outcome. Flush, never commit: the callers own the transaction."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.classification.rules import is_npl
from postloan.compensation import service as compensation
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.due_diligence import config
from postloan.due_diligence import evidence as evidence_of
from postloan.due_diligence.models import DueDiligenceReview, Outcome, ReviewStatus
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.loans.models import Loan

log = logging.getLogger(__name__)

PROCESS_KEY = "due_diligence_review"
#: An appeal recorded over REST ends the account manager's appeal task (interrupting boundary).
APPEALED_MESSAGE = "due_diligence_appealed"
SEVERITY: dict[str, int] = {o.value: i for i, o in enumerate(Outcome)}
NO_RULE_REASON = "No rule of exemption_rules applies: no exemption under these rules"


class AppealWindowClosed(Conflict):
    code = "appeal_window_closed"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def new_id() -> str:
    return f"DDR-{uuid.uuid4().hex[:12].upper()}"


def get(session: Session, review_id: str, *, lock: bool = False) -> DueDiligenceReview:
    query = select(DueDiligenceReview).where(DueDiligenceReview.id == review_id)
    if lock:
        query = query.with_for_update()
    review = session.scalars(query).first()
    if review is None:
        raise NotFound(f"due-diligence review {review_id} does not exist", field="review_id")
    return review


def open_review(session: Session, loan_id: str) -> DueDiligenceReview | None:
    return session.scalars(
        select(DueDiligenceReview).where(
            DueDiligenceReview.loan_id == loan_id,
            DueDiligenceReview.status != ReviewStatus.FINAL,
        )
    ).first()


def search(
    session: Session,
    *,
    loan_id: str | None = None,
    status: str | None = None,
    account_manager: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DueDiligenceReview], int]:
    query = select(DueDiligenceReview)
    if loan_id is not None:
        query = query.where(DueDiligenceReview.loan_id == loan_id)
    if status == "open":
        query = query.where(DueDiligenceReview.status != ReviewStatus.FINAL)
    elif status is not None:
        if status not in set(ReviewStatus):
            known = ", ".join(["open", *ReviewStatus])
            raise InvalidInput(f"status must be one of {known}", field="status")
        query = query.where(DueDiligenceReview.status == status)
    if account_manager is not None:
        query = query.where(DueDiligenceReview.account_manager == account_manager)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(DueDiligenceReview.created_at.desc(), DueDiligenceReview.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def start(
    session: Session,
    loan_id: str,
    *,
    trigger: str,
    reason: str,
    actor: str,
    from_class: str | None = None,
    to_class: str | None = None,
) -> DueDiligenceReview:
    """Open the review of a loan (flushed); Conflict when one is open already (the partial
    unique index refuses a second one whatever the path)."""
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist", field="loan_id")
    customer = session.get(Customer, loan.customer_id)
    assert customer is not None
    current = open_review(session, loan_id)
    if current is not None:
        raise Conflict(
            f"loan {loan_id} has an open due-diligence review ({current.id})", field="loan_id"
        )
    review = DueDiligenceReview(
        id=new_id(),
        loan_id=loan.id,
        customer_id=customer.id,
        account_manager=customer.account_manager,
        branch=customer.branch,
        trigger=trigger,
        reason=reason.strip(),
        from_class=from_class,
        to_class=to_class or loan.risk_class,
        requested_by=actor,
        status=ReviewStatus.INVESTIGATING,
        deliberation_note="",
        determination_note="",
        appeal_grounds="",
        appeal_review_note="",
        fraud=False,
        collusion=False,
        serious_breach=False,
    )
    session.add(review)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="due_diligence.started",
        object_type="due_diligence_review",
        object_id=str(review.id),
        detail={
            "loan_id": loan.id,
            "trigger": trigger,
            "reason": review.reason,
            "account_manager": review.account_manager,
            "from_class": from_class,
            "to_class": review.to_class,
        },
    )
    log.info("loan %s: due-diligence review %s opened (%s)", loan.id, review.id, trigger)
    return review


def turns_non_performing(from_class: str | None, to_class: str) -> bool:
    """A move from a performing class into substandard, doubtful or loss."""
    return from_class is not None and not is_npl(from_class) and is_npl(to_class)


def assemble_evidence(
    session: Session, review_id: str, *, as_of: date | None = None
) -> tuple[DueDiligenceReview, dict[str, Any]]:
    """Store the evidence on the review (again when the step runs again: the latest wins while
    nobody has deliberated); the decision inputs it gives."""
    review = get(session, review_id, lock=True)
    loan = session.get(Loan, review.loan_id)
    customer = session.get(Customer, review.customer_id)
    if loan is None or customer is None:
        raise NotFound(f"loan {review.loan_id} of review {review_id} does not exist")
    if review.status == ReviewStatus.INVESTIGATING or review.evidence is None:
        review.evidence = evidence_of.assemble(
            session, loan, customer, config.load(), as_of or date.today()
        )
        review.evidence_at = utcnow()
        audit.record(
            session,
            actor="worker",
            action="due_diligence.evidence",
            object_type="due_diligence_review",
            object_id=str(review.id),
            detail={"summary": review.evidence["summary"], "flags": review.evidence["flags"]},
        )
        session.flush()
    assert review.evidence is not None
    return review, inputs_of(review)


def inputs_of(review: DueDiligenceReview) -> dict[str, Any]:
    assert review.evidence is not None
    return evidence_of.decision_inputs(
        review.evidence,
        fraud=review.fraud,
        collusion=review.collusion,
        serious_breach=review.serious_breach,
    )


def combine(results: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The proposal from the matching rules of ``exemption_rules`` (hit policy COLLECT): the
    most severe outcome, with every reason (in the table's order, each once)."""
    results = [r for r in (results or []) if isinstance(r, dict)]
    outcomes = [r.get("outcome") for r in results]
    unknown = [o for o in outcomes if o not in SEVERITY]
    if unknown:
        raise InvalidInput(
            f"exemption_rules gave outcome(s) {unknown}: must be one of {', '.join(Outcome)}",
            field="outcome",
        )
    if not results:
        return {"outcome": Outcome.FULL_ACCOUNTABILITY.value, "reasons": [NO_RULE_REASON]}
    worst = max(outcomes, key=lambda o: SEVERITY[str(o)])
    reasons: list[str] = []
    for r in results:
        reason = str(r.get("reason") or "")
        if reason and reason not in reasons:
            reasons.append(reason)
    return {"outcome": worst, "reasons": reasons}


def record_proposal(
    session: Session, review_id: str, results: list[dict[str, Any]] | None, *, stage: str
) -> DueDiligenceReview:
    """Store the rules' proposal (``stage`` ``evidence`` or ``deliberation``: the second one
    weighs what the deliberation found)."""
    review = get(session, review_id, lock=True)
    proposal = combine(results) | {"inputs": inputs_of(review), "stage": stage}
    review.proposal, review.proposed_at = proposal, utcnow()
    if review.status == ReviewStatus.INVESTIGATING:
        review.status = ReviewStatus.DELIBERATING
    audit.record(
        session,
        actor="worker",
        action="due_diligence.proposed",
        object_type="due_diligence_review",
        object_id=str(review.id),
        detail={"outcome": proposal["outcome"], "reasons": proposal["reasons"], "stage": stage},
    )
    session.flush()
    return review


def _outcome(value: str | None, field: str) -> str:
    if value not in SEVERITY:
        raise InvalidInput(f"{field} must be one of {', '.join(Outcome)}", field=field)
    return str(value)


def _never_exempt(review: DueDiligenceReview) -> list[str]:
    """Why the review may not end exempt, whatever a person decides: fraud and collusion."""
    inputs = inputs_of(review)
    return [name for name in ("fraud", "collusion") if inputs[name]]


def record_deliberation(
    session: Session,
    review_id: str,
    *,
    outcome: str | None,
    note: str | None,
    fraud: bool,
    collusion: bool,
    serious_breach: bool,
    actor: str,
) -> DueDiligenceReview:
    """The first credit manager's deliberation: a recommended outcome, a note, and whether they
    found fraud, collusion or a serious breach of procedure (the proposal is re-evaluated)."""
    review = get(session, review_id, lock=True)
    if review.status not in (ReviewStatus.DELIBERATING, ReviewStatus.DETERMINING):
        raise Conflict(f"review {review_id} is {review.status}, not deliberating")
    if actor == review.account_manager:
        raise Conflict(f"{actor} is the loan's account manager and may not deliberate")
    recommended = _outcome(outcome, "deliberation_outcome")
    if not (note or "").strip():
        raise InvalidInput("a deliberation note is required", field="deliberation_note")
    review.deliberation_outcome, review.deliberation_note = recommended, (note or "").strip()
    review.fraud, review.collusion = bool(fraud), bool(collusion)
    review.serious_breach = bool(serious_breach)
    review.deliberated_by, review.deliberated_at = actor, utcnow()
    review.status = ReviewStatus.DETERMINING
    audit.record(
        session,
        actor=actor,
        action="due_diligence.deliberated",
        object_type="due_diligence_review",
        object_id=str(review.id),
        detail={
            "outcome": recommended,
            "note": review.deliberation_note,
            "fraud": review.fraud,
            "collusion": review.collusion,
            "serious_breach": review.serious_breach,
        },
    )
    session.flush()
    return review


def record_determination(
    session: Session,
    review_id: str,
    *,
    outcome: str | None,
    note: str | None,
    actor: str,
    now: datetime | None = None,
) -> DueDiligenceReview:
    """The second credit manager's determination; opens the appeal window. Refused: the same
    person as the deliberator or the account manager, and *exempt* in a case of fraud or
    collusion. Tells risk compensation (``record_determination``) in the same transaction."""
    review = get(session, review_id, lock=True)
    if review.status == ReviewStatus.APPEAL_WINDOW and review.determined_by == actor:
        return review  # the same determination delivered again
    if review.status != ReviewStatus.DETERMINING:
        raise Conflict(f"review {review_id} is {review.status}, not to be determined")
    if actor in (review.deliberated_by, review.account_manager):
        raise Conflict(f"{actor} deliberated this review or is its account manager")
    determined = _outcome(outcome, "determined_outcome")
    if not (note or "").strip():
        raise InvalidInput("a determination note is required", field="determination_note")
    never = _never_exempt(review)
    if determined == Outcome.EXEMPT and never:
        raise InvalidInput(
            f"a case of {' and '.join(never)} is never exempt", field="determined_outcome"
        )
    now = now or utcnow()
    rules = config.load()
    review.determined_outcome, review.determination_note = determined, (note or "").strip()
    review.determined_by, review.determined_at = actor, now
    review.appeal_deadline = now + rules.appeal_delta
    review.status = ReviewStatus.APPEAL_WINDOW
    audit.record(
        session,
        actor=actor,
        action="due_diligence.determined",
        object_type="due_diligence_review",
        object_id=str(review.id),
        detail={
            "outcome": determined,
            "note": review.determination_note,
            "appeal_deadline": review.appeal_deadline,
            "proposal": (review.proposal or {}).get("outcome"),
        },
    )
    session.flush()
    compensation.record_determination(
        session,
        review_id=str(review.id),
        loan_id=review.loan_id,
        person=review.account_manager,
        outcome=determined,
        determined_on=now.date(),
        actor=actor,
    )
    return review


def record_appeal(
    session: Session,
    review_id: str,
    *,
    grounds: str | None,
    appellant: str,
    actor: str,
    now: datetime | None = None,
) -> DueDiligenceReview:
    """The account manager (``appellant``) appeals the determination within the window;
    after it: 409 ``appeal_window_closed``."""
    review = get(session, review_id, lock=True)
    now = now or utcnow()
    if appellant.strip().lower() != review.account_manager.lower():
        raise InvalidInput(
            f"only the loan's account manager ({review.account_manager}) may appeal",
            field="appealed_by",
        )
    if review.status == ReviewStatus.APPEAL_REVIEW:
        raise Conflict(f"review {review_id} was appealed already", field="review_id")
    if review.status != ReviewStatus.APPEAL_WINDOW or review.appeal_deadline is None:
        if review.status == ReviewStatus.FINAL and review.appealed_at is None:
            raise AppealWindowClosed(
                f"the appeal window of review {review_id} is closed (the outcome is final)"
            )
        raise Conflict(f"review {review_id} is {review.status}: nothing to appeal")
    if now >= _aware(review.appeal_deadline):
        raise AppealWindowClosed(
            f"the appeal window of review {review_id} closed at "
            f"{_aware(review.appeal_deadline).isoformat()}"
        )
    if not (grounds or "").strip():
        raise InvalidInput("the grounds of the appeal are required", field="grounds")
    review.appeal_grounds = (grounds or "").strip()
    review.appealed_by, review.appealed_at = review.account_manager, now
    review.status = ReviewStatus.APPEAL_REVIEW
    audit.record(
        session,
        actor=actor,
        action="due_diligence.appealed",
        object_type="due_diligence_review",
        object_id=str(review.id),
        detail={"grounds": review.appeal_grounds, "appellant": review.account_manager},
    )
    session.flush()
    return review


def _finalize(
    session: Session, review: DueDiligenceReview, outcome: str, actor: str, now: datetime
) -> None:
    review.final_outcome, review.final_at = outcome, now
    review.status = ReviewStatus.FINAL
    audit.record(
        session,
        actor=actor,
        action="due_diligence.final",
        object_type="due_diligence_review",
        object_id=str(review.id),
        detail={"outcome": outcome, "appealed": review.appealed_at is not None},
    )
    session.flush()
    compensation.record_final(
        session, review_id=str(review.id), outcome=outcome, final_on=now.date(), actor=actor
    )


def record_appeal_review(
    session: Session,
    review_id: str,
    *,
    decision: str | None,
    outcome: str | None,
    note: str | None,
    actor: str,
    now: datetime | None = None,
) -> DueDiligenceReview:
    """A credit manager who took no part upholds or changes the outcome: it is final."""
    review = get(session, review_id, lock=True)
    if review.status == ReviewStatus.FINAL and review.appeal_reviewed_by == actor:
        return review
    if review.status != ReviewStatus.APPEAL_REVIEW:
        raise Conflict(f"review {review_id} is {review.status}, no appeal to review")
    if actor in (review.account_manager, review.deliberated_by, review.determined_by):
        raise Conflict(f"{actor} took part in this review and may not review the appeal")
    if decision not in ("upheld", "changed"):
        raise InvalidInput("appeal_decision must be upheld or changed", field="appeal_decision")
    if not (note or "").strip():
        raise InvalidInput("a note is required", field="appeal_review_note")
    assert review.determined_outcome is not None
    final = review.determined_outcome
    if decision == "changed":
        final = _outcome(outcome, "appeal_outcome")
        if final == review.determined_outcome:
            raise InvalidInput(
                "a changed outcome must differ from the determination", field="appeal_outcome"
            )
        never = _never_exempt(review)
        if final == Outcome.EXEMPT and never:
            raise InvalidInput(
                f"a case of {' and '.join(never)} is never exempt", field="appeal_outcome"
            )
    now = now or utcnow()
    review.appeal_decision, review.appeal_review_note = decision, (note or "").strip()
    review.appeal_reviewed_by, review.appeal_reviewed_at = actor, now
    _finalize(session, review, final, actor, now)
    return review


def close_window(
    session: Session, review_id: str, *, actor: str, now: datetime | None = None
) -> DueDiligenceReview:
    """No appeal (the window passed, or the account manager accepted): the determination is
    final."""
    review = get(session, review_id, lock=True)
    if review.status == ReviewStatus.FINAL:
        return review
    if review.status != ReviewStatus.APPEAL_WINDOW:
        raise Conflict(f"review {review_id} is {review.status}, not in its appeal window")
    assert review.determined_outcome is not None
    _finalize(session, review, review.determined_outcome, actor, now or utcnow())
    return review
