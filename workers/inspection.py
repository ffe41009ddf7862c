"""Handlers of the ``post_loan_inspection`` process."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from postloan.classification import service as classifications
from postloan.errors import NotFound
from postloan.inspections import onsite
from postloan.inspections import service as inspections
from workers.opportunities import capturing_business_needs
from workers.runtime import BusinessError, ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

router = TopicRouter()
log = logging.getLogger("workers.inspection")


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
        "inspection_item_options": inspections.item_options(session, context.inspection_id),
    }


# inspection.check-repayment: see workers/checks.py (with the other automated checks).


@router.topic("inspection.record-work")
@in_transaction
@capturing_business_needs  # the needs the customer mentioned become opportunities
def record_work(
    session: Session,
    task: ExternalTask,
    inspection_id: str,
    items_in_order: list | None,
    items_not_applicable: list | None,
    item_notes: str | None,
    inspector: str | None,
    rework_count: int | None = None,
) -> dict:
    """Store the inspector's result for each point as soon as the work is submitted.

    The reviewer sees ``recorded_items`` (read back from the database), not what a form sent, and
    whether every prescribed action was done (``prescribed_actions_complete``, with a summary of
    the points not in order and the missing evidence notes).
    """
    not_in_order = inspections.record_item_results(
        session, inspection_id, items_in_order, items_not_applicable, item_notes
    )
    inspections.record_inspector(session, inspection_id, inspector or "", actor=WORKER_ACTOR)
    inspections.record_rework_count(session, inspection_id, rework_count or 0)
    complete, summary = inspections.prescribed_actions(session, inspection_id, item_notes)
    return {
        "recorded_items": inspections.items_for_form(session, inspection_id),
        "items_not_in_order": len(not_in_order),
        "prescribed_actions_complete": complete,
        "prescribed_actions_summary": summary,
        "rework_count": rework_count or 0,
    }


@router.topic("inspection.decide-onsite")
@in_transaction
def decide_onsite(
    session: Session,
    task: ExternalTask,
    inspection_id: str,
    classification: dict | None,
) -> dict:
    """After the review approval: an unannounced on-site verification always for a high-risk
    loan, else by a deterministic sample (config/onsite.yaml)."""
    decision = onsite.decide(
        session, inspection_id, proposed_class=(classification or {}).get("risk_class")
    )
    log.info(
        "inspection %s: on-site verification %s (%s)",
        inspection_id,
        "required" if decision.required else "not required",
        decision.reason,
    )
    return {"onsite_required": decision.required, "onsite_reason": decision.reason}


@router.topic("inspection.record-onsite")
@in_transaction
def record_onsite(
    session: Session,
    task: ExternalTask,
    inspection_id: str,
    onsite_result: str | None,
    onsite_findings: str | None,
    onsite_verifier: str | None,
    onsite_reason: str | None,
    review_decision: str | None,
) -> dict:
    """Store the on-site verification's result; discrepancies send the work back for rework."""
    ordered = onsite_reason or ("ordered by the reviewer" if review_decision == "onsite" else "")
    # The form requires both fields; anything else is an incident for an operator, not a route.
    onsite.record_result(
        session,
        inspection_id,
        result=onsite_result or "",
        findings=onsite_findings or "",
        verifier=onsite_verifier or "",
        ordered_because=ordered,
        actor=WORKER_ACTOR,
    )
    out: dict = {"onsite_recorded": True}
    if onsite_result == "discrepancies":
        out["rework_reason"] = f"On-site verification found discrepancies: {onsite_findings}"
    return out


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
    previous_class: str | None,
    classification_change_id: int | None,
    classification_downgrade: bool | None,
    classification_decision: str | None,
    classification_note: str | None,
    classification_decided_by: str | None,
) -> dict:
    """Settle the classification, then store the report: checks, signals, the checklist, the
    inspector's findings, the review and the classification with who decided it."""
    classification = classification or {}
    decision = classification_decision if classification_downgrade else None
    classifications.settle_inspection_classification(
        session,
        classification_change_id,
        decision,
        actor=classification_decided_by or WORKER_ACTOR,
        note=classification_note or "",
    )
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
        previous_class=previous_class,
        classification_decision=decision,
        classification_decided_by=classification_decided_by if decision else None,
    )
    inspection = inspections.finalize(session, inspection_id, outcome, actor=WORKER_ACTOR)
    if inspection.completed_at is not None:  # the next planned inspection moves on
        from postloan.plans.service import advance_plan

        advance_plan(session, inspection.loan_id, inspection.completed_at.date())
    return {"report_stored": inspection.report is not None}
