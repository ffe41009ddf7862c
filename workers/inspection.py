"""Handlers of the ``post_loan_inspection`` process."""

from __future__ import annotations

from sqlalchemy.orm import Session

from postloan.errors import NotFound
from postloan.inspections import service as inspections
from workers.runtime import BusinessError, ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

router = TopicRouter()


@router.topic("inspection.load-context")
@in_transaction
def load_context(session: Session, task: ExternalTask, inspection_id: str | None) -> dict:
    """Who inspects and what: the loan's account manager becomes the inspector."""
    inspection_id = inspection_id or task.business_key
    try:
        context = inspections.begin(session, inspection_id or "", actor=WORKER_ACTOR)
    except NotFound as exc:
        raise BusinessError("LOAN_NOT_FOUND", exc.detail) from exc
    return {
        "inspection_id": context.inspection_id,
        "loan_id": context.loan_id,
        "customer_id": context.customer_id,
        "account_manager": context.account_manager,
        "loan_amount": context.loan_amount,
        "template": context.template,
        "mode": context.mode,
        "inspection_items": inspections.items_for_form(session, context.inspection_id),
    }


# inspection.check-repayment: see workers/checks.py (with the other automated checks).


@router.topic("inspection.record-work")
@in_transaction
def record_work(
    session: Session,
    task: ExternalTask,
    inspection_id: str,
    inspection_items: list | None,
    inspector: str | None,
) -> dict:
    """Store the inspector's result for each point as soon as it is submitted.

    The reviewer's form shows ``recorded_items`` (read from the database), so nothing the review
    form hands back can change what the inspector recorded.
    """
    unanswered = inspections.record_item_results(session, inspection_id, inspection_items)
    inspections.record_inspector(session, inspection_id, inspector or "", actor=WORKER_ACTOR)
    return {
        "recorded_items": inspections.items_for_form(session, inspection_id),
        "items_unanswered": len(unanswered),
    }


@router.topic("inspection.finalize")
@in_transaction
def finalize(
    session: Session,
    task: ExternalTask,
    inspection_id: str,
    inspector: str | None,
    reviewer: str | None,
    inspection_findings: str | None,
    inspection_conclusion: str | None,
    review_decision: str | None,
    review_comment: str | None,
    classification: dict | None,
    funds_used_as_agreed: bool | None,
    business_operating_normally: bool | None,
    collateral_intact: bool | None,
    approval_conditions_met: bool | None,
) -> dict:
    """Store the report: checks, the inspector's findings, the review and the classification."""
    classification = classification or {}
    outcome = inspections.InspectionOutcome(
        inspector=inspector or "",
        reviewer=reviewer or "",
        findings_text=inspection_findings or "",
        conclusion=inspection_conclusion or "",
        review_decision=review_decision or "",
        review_comment=review_comment or "",
        risk_class=classification.get("risk_class", "normal"),
        risk_class_reason=classification.get("reason", ""),
        checklist={
            "funds_used_as_agreed": funds_used_as_agreed,
            "business_operating_normally": business_operating_normally,
            "collateral_intact": collateral_intact,
            "approval_conditions_met": approval_conditions_met,
        },
    )
    inspection = inspections.finalize(session, inspection_id, outcome, actor=WORKER_ACTOR)
    if inspection.completed_at is not None:  # the next planned inspection moves on
        from postloan.plans.service import advance_plan

        advance_plan(session, inspection.loan_id, inspection.completed_at.date())
    return {"report_stored": inspection.report is not None}
