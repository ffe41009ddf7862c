"""Business opportunities: capture the needs from an inspection or a vendor visit (each new
opportunity's ``opportunity_follow_up`` process owed in the same transaction), list them and
record their outcome over REST (the waiting process told through the outbox likewise)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from postloan.application import task_context
from postloan.application.services import Services
from postloan.errors import NotFound
from postloan.inspections.models import Inspection
from postloan.loans.models import Loan
from postloan.opportunities import config
from postloan.opportunities import service as opportunities
from postloan.opportunities.models import Opportunity, OpportunityOutcome, OpportunitySource
from postloan.outbox import service as outbox

log = logging.getLogger(__name__)

FOLLOW_UP_PROCESS = "opportunity_follow_up"
#: Ends the follow-up wait of the opportunity's instance (an outcome recorded over REST).
SETTLED_MESSAGE = "opportunity_settled"
#: Restarts the follow-up wait with a new date (a new follow-up date set over REST).
RESCHEDULED_MESSAGE = "opportunity_rescheduled"


def follow_up_at(day: date) -> datetime:
    """The follow-up task appears at the start of its day (UTC)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def request_follow_up_process(session: Session, opportunity: Opportunity) -> None:
    """Owe the ``opportunity_follow_up`` process of a captured (flushed) opportunity."""
    rules = config.load()
    outbox.enqueue_process_start(
        session,
        process_key=FOLLOW_UP_PROCESS,
        business_key=str(opportunity.id),
        variables={
            "opportunity_id": opportunity.id,
            "customer_id": opportunity.customer_id,
            "owner": opportunity.owner,
            "kind_label": rules.label(opportunity.kind),
            "customer_name": task_context.customer_name(session, opportunity.customer_id),
            "opportunity_note": opportunity.note or "-",
            "captured_on": opportunity.captured_on.isoformat(),
            "follow_up_at": follow_up_at(opportunity.follow_up_on).isoformat(),
            "follow_up_opportunity_due": f"P{rules.task_due_days}D",
            "task_priority": rules.task_priority,
            "__dates__": ["follow_up_at"],
        },
    )


def _capture(
    session: Session,
    *,
    customer_id: str,
    loan_id: str | None,
    source: str,
    source_ref: str,
    needs: list[opportunities.BusinessNeed],
    captured_by: str,
) -> list[Opportunity]:
    created = opportunities.capture(
        session,
        customer_id=customer_id,
        loan_id=loan_id,
        source=source,
        source_ref=source_ref,
        needs=needs,
        captured_by=captured_by,
        today=date.today(),
    )
    for opportunity in created:
        request_follow_up_process(session, opportunity)
    if created:
        log.info(
            "%s %s: %d opportunity(ies) captured for customer %s",
            source,
            source_ref,
            len(created),
            customer_id,
        )
    return created


def capture_from_inspection(
    session: Session,
    inspection_id: str,
    kinds: list[Any] | None,
    notes: dict[str, Any],
    *,
    captured_by: str,
) -> list[Opportunity]:
    """The business needs ticked on the perform form (``kinds``, with ``notes[kind]``), in the
    caller's transaction. Performing again (rework, a retried step) adds nothing twice."""
    needs = opportunities.needs_from_form(kinds, notes)
    if not needs:
        return []
    inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        raise NotFound(f"inspection {inspection_id} not found", field="inspection_id")
    loan = session.get(Loan, inspection.loan_id)
    if loan is None:
        raise NotFound(f"loan {inspection.loan_id} not found", field="loan_id")
    return _capture(
        session,
        customer_id=loan.customer_id,
        loan_id=loan.id,
        source=OpportunitySource.INSPECTION,
        source_ref=inspection.id,
        needs=needs,
        captured_by=captured_by,
    )


def capture_from_visits(
    session: Session, visits: list[dict[str, Any]], *, captured_by: str
) -> list[Opportunity]:
    """The business needs of a vendor's visit reports (``visits[i].business_needs``), in the
    caller's transaction; owned by the customer's account manager, not by the vendor."""
    created: list[Opportunity] = []
    for i, visit in enumerate(visits):
        needs = opportunities.needs_from_list(
            visit.get("business_needs") or [], field=f"visits[{i}].business_needs"
        )
        if not needs:
            continue
        inspection = session.get(Inspection, visit["inspection_id"])
        loan = session.get(Loan, inspection.loan_id) if inspection is not None else None
        if inspection is None or loan is None:
            raise NotFound(
                f"inspection {visit['inspection_id']} not found", field=f"visits[{i}].inspection_id"
            )
        created += _capture(
            session,
            customer_id=loan.customer_id,
            loan_id=loan.id,
            source=OpportunitySource.VENDOR_VISIT,
            source_ref=inspection.id,
            needs=needs,
            captured_by=captured_by,
        )
    return created


def record_outcome(
    services: Services,
    opportunity_id: int,
    *,
    outcome: str,
    note: str,
    actor: str,
    follow_up_on: date | None = None,
) -> Opportunity:
    """``POST /opportunities/{id}/outcome``: settle it, or keep it open with a new follow-up
    date; the waiting follow-up process is told in the same transaction (its task goes, or
    waits for the new date)."""
    with services.transaction() as session:
        opportunity = opportunities.record_outcome(
            session,
            opportunity_id,
            outcome=outcome,
            note=note,
            actor=actor,
            today=date.today(),
            follow_up_on=follow_up_on,
        )
        if opportunity.outcome == OpportunityOutcome.OPEN:
            outbox.enqueue_message(
                session,
                message_name=RESCHEDULED_MESSAGE,
                business_key=str(opportunity.id),
                variables={
                    "follow_up_at": follow_up_at(opportunity.follow_up_on).isoformat(),
                    "__dates__": ["follow_up_at"],
                },
                only_if_waiting=True,
            )
        else:
            outbox.enqueue_message(
                session,
                message_name=SETTLED_MESSAGE,
                business_key=str(opportunity.id),
                variables={"outcome": opportunity.outcome},
                only_if_waiting=True,
            )
    with services.uow() as session:
        return opportunities.get(session, opportunity_id)


def record_follow_up(
    session: Session,
    opportunity_id: int,
    *,
    outcome: str,
    note: str,
    follow_up_on: date | None,
    actor: str,
) -> Opportunity | None:
    """The follow-up task's result, in the worker's transaction; None when the opportunity was
    settled over REST meanwhile (nothing to record any more)."""
    current = opportunities.get(session, opportunity_id, lock=True)
    if current.outcome != OpportunityOutcome.OPEN:
        log.info("opportunity %s was settled already (%s)", opportunity_id, current.outcome)
        return None
    return opportunities.record_outcome(
        session,
        opportunity_id,
        outcome=outcome,
        note=note,
        actor=actor,
        today=date.today(),
        follow_up_on=follow_up_on,
    )
