"""Handlers of outsourced visits: vendor assignment (in ``post_loan_inspection``, business key =
inspection id) and the ``outsourced_visit_batch`` process (business key = visit batch id)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.inspections.models import Inspection
from postloan.outbox import service as outbox
from postloan.vendors import service as vendors
from workers.runtime import BusinessError, ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

log = logging.getLogger(__name__)
router = TopicRouter()

#: Message the inspection process waits for; business key = inspection id.
VISIT_ACCEPTED_MESSAGE = "vendor_visit_accepted"


def _batch_id(task: ExternalTask, batch_id: str | None) -> str:
    return batch_id or task.business_key or ""


@router.topic("inspection.assign-vendor")
@in_transaction
def assign_vendor(session: Session, task: ExternalTask, inspection_id: str | None) -> dict:
    inspection = session.get(Inspection, inspection_id or task.business_key or "")
    if inspection is None:
        raise LookupError(
            f"inspection {inspection_id} is not in the project database; restore "
            "it, then retry the incident"
        )
    try:
        assignment = vendors.assign_visit(session, inspection, None, None, actor=WORKER_ACTOR)
    except (Conflict, InvalidInput, NotFound) as exc:
        raise BusinessError("VENDOR_ASSIGNMENT_FAILED", exc.detail) from exc
    return {
        "vendor_id": assignment.vendor_id,
        "visit_window_end": assignment.window_end.isoformat(),
    }


@router.topic("visits.check-authenticity")
@in_transaction
def check_authenticity(session: Session, task: ExternalTask, batch_id: str | None) -> dict:
    batch_id = _batch_id(task, batch_id)
    try:
        reports = vendors.check_batch(session, batch_id)
    except NotFound as exc:
        raise LookupError(
            f"{exc.detail}: the process refers to a visit batch the project "
            "database does not hold; restore it, then retry the incident"
        ) from exc
    flagged = [r for r in reports if r.flags]
    summary = "\n".join(
        f"{r.inspection_id}: " + ("; ".join(f["reason"] for f in r.flags) or "no flags")
        for r in reports
    )
    log.info(
        "visit batch %s checked: %d of %d visits flagged", batch_id, len(flagged), len(reports)
    )
    return {
        "visit_options": vendors.visit_options(reports),
        "visits_accepted": [str(r.id) for r in reports if not r.flags],
        "batch_summary": summary,
        "flagged_count": len(flagged),
        "visit_count": len(reports),
    }


@router.topic("visits.record-decisions")
@in_transaction
def record_decisions(
    session: Session,
    task: ExternalTask,
    batch_id: str | None,
    visits_accepted: list | None,
    rejection_reasons: str | None,
    batch_reviewer: str | None,
) -> dict:
    batch_id = _batch_id(task, batch_id)
    accepted, rejected = vendors.record_decisions(
        session,
        batch_id,
        list(visits_accepted or []),
        rejection_reasons or "",
        reviewer=batch_reviewer or WORKER_ACTOR,
    )
    # Each accepted visit releases its inspection, owed in this transaction: delivered right
    # after the commit (or by the relay). An inspection that no longer waits for its visit is a
    # normal outcome (the decision stands), not a failure to retry.
    for report in accepted:
        outbox.enqueue_message(
            session,
            message_name=VISIT_ACCEPTED_MESSAGE,
            business_key=report.inspection_id,
            variables={"visit_report_id": report.id, "visit_batch_id": batch_id},
            only_if_waiting=True,
        )
    return {"accepted_count": len(accepted), "rejected_count": len(rejected)}


@router.topic("visits.sample-supervision")
@in_transaction
def sample_supervision(session: Session, task: ExternalTask, batch_id: str | None) -> dict:
    """The sampled accepted visits (share from config/vendors.yaml), each ``{id, text}`` for the
    re-visit form; the multi-instance ``supervise_visits`` runs over this list."""
    batch_id = _batch_id(task, batch_id)
    accepted = [r for r in vendors.reports_of(session, batch_id) if r.decision == "accepted"]
    sample = vendors.sample_for_supervision(accepted)
    visits = [
        {
            "id": str(r.id),
            "inspection_id": r.inspection_id,
            "text": f"Visit {r.id} of inspection {r.inspection_id} on "
            f"{r.visited_at:%Y-%m-%d %H:%M} at {r.latitude:.5f}, {r.longitude:.5f}. "
            f"Vendor notes: {r.notes}",
        }
        for r in sample
    ]
    log.info(
        "visit batch %s: %d of %d accepted visits sampled for re-visit",
        batch_id,
        len(visits),
        len(accepted),
    )
    return {"supervision_visits": visits, "supervision_needed": bool(visits)}


@router.topic("visits.record-supervision")
@in_transaction
def record_supervision(
    session: Session,
    task: ExternalTask,
    supervision_item: dict | None,
    revisit_result: str | None,
    revisit_notes: str | None,
    supervisor: str | None,
) -> dict:
    try:
        score = vendors.record_supervision(
            session,
            int((supervision_item or {}).get("id", 0)),
            revisit_result or "",
            revisit_notes or "",
            actor=supervisor or WORKER_ACTOR,
        )
    except (InvalidInput, NotFound) as exc:
        raise ValueError(
            f"the re-visit result cannot be recorded: {exc.detail}; correct the "
            "variables of the re-visit in Cockpit, then retry the incident"
        ) from exc
    return {"vendor_quality_score": score}
