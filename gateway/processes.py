"""Starting inspections: the database row, its checklist and its process instance together.

Every starter commits the session it is given: the inspection (with its items) is committed
before its process starts, because the first worker may run within milliseconds and must find it;
if the engine refuses, the request is withdrawn again, so nothing is left half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.decisions import single_result_decider
from gateway.engine import EngineError, EngineGateway
from postloan.errors import Unavailable
from postloan.events.models import ExternalEvent
from postloan.inspections import service as inspections
from postloan.inspections.models import Inspection, InspectionKind
from postloan.loans import service as loans_service
from postloan.loans.models import Loan
from postloan.plans import service as plans
from postloan.plans.items import create_items, delete_items
from postloan.plans.models import InspectionPlan
from postloan.plans.triggers import active_loans_of, is_serious_event, repayment_trigger

log = logging.getLogger(__name__)

INSPECTION_PROCESS = "post_loan_inspection"


def _lock_loan(session: Session, loan_id: str) -> None:
    """Take the loan's row lock before checking for open inspections (two scheduler runs, or an
    event and a repayment at once, then cannot both start one): a no-op UPDATE locks the row on
    PostgreSQL and takes SQLite's write lock before the check reads."""


    session.execute(update(Loan).where(Loan.id == loan_id)
                    .values(next_inspection_on=Loan.next_inspection_on))


def _start_committed(
    session: Session, engine: EngineGateway, *, process_key: str, business_key: str,
    variables: dict[str, Any], what: str, withdraw: Callable[[str], None],
    attach: Callable[[str], None],
) -> str:
    """Commit the business row, start its process (business key = the row's id), record the
    process instance. If the engine refuses, ``withdraw`` removes the row again (committed) and
    :class:`Unavailable` says nothing was saved. Returns the process instance id."""
    session.commit()
    try:
        pid = engine.start_process(process_key, business_key, variables)
    except EngineError as exc:
        withdraw(f"engine refused: {exc.message}")
        session.commit()
        raise Unavailable(
            f"the {what} could not be started, nothing was saved: {exc.message}") from exc
    attach(pid)
    session.commit()
    return pid


def _unless_open(start: Callable[[], Inspection], session: Session) -> Inspection | None:
    """``start()``, or None when the loan has an open inspection of that kind already (found by
    the service, or by the database's one-open-per-loan-and-kind index under a race)."""
    try:
        return start()
    except inspections.OpenInspectionExists as exc:
        session.rollback()
        log.info("%s", exc.detail)
        return None


def start_planned_inspection(
    session: Session, engine: EngineGateway, *, loan_id: str, kind: str, reason: str,
    actor: str, due_on: date | None = None, trigger_ref: str | None = None,
    mode: str | None = None,
) -> Inspection:
    """Like :func:`start_inspection`, with the plan's template and mode, the due date, the
    trigger and the inspection items written with the request (all withdrawn if the engine
    refuses). Commits."""

    plan = session.get(InspectionPlan, loan_id)
    inspection = inspections.request(session, loan_id=loan_id, kind=kind, reason=reason,
                                     actor=actor)
    if plan is not None:
        inspection.template = plan.template
        inspection.mode = plan.mode
    else:
        from postloan.loans.models import Loan
        from postloan.plans.catalogue import catalogue

        loan = session.get(Loan, loan_id)
        inspection.template = catalogue().product(loan.product if loan else "").template
    if mode:
        inspection.mode = mode
    inspection.due_on = due_on
    inspection.trigger_ref = trigger_ref
    items = create_items(session, inspection, plan)

    def withdraw(why: str) -> None:
        delete_items(session, inspection.id)
        inspections.withdraw(session, inspection.id, why, actor=actor)

    _start_committed(
        session, engine, process_key=INSPECTION_PROCESS, business_key=inspection.id,
        variables={"inspection_id": inspection.id, "loan_id": loan_id, "kind": kind,
                   "template": inspection.template, "mode": inspection.mode},
        what="inspection", withdraw=withdraw,
        attach=lambda pid: inspections.attach_process(session, inspection.id, pid))
    log.info(
        "%s inspection %s of loan %s started (%s, %s, %d items, due %s)", kind, inspection.id,
        loan_id, inspection.template, inspection.mode, len(items), due_on)
    return inspection


def start_first_inspection(
    session: Session, engine: EngineGateway, loan_id: str, actor: str
) -> Inspection | None:
    """Decide the loan's plan (deployed DMN ``inspection_plan``) and start its first inspection,
    due ``first_inspection_days`` after disbursement, with the template's points, the use of
    funds and the approval conditions as items. None when the loan already has one.

    Raises :class:`gateway.engine.EngineError` / :class:`Unavailable` when the engine cannot
    decide or start; nothing is left half-written (the scheduler retries such loans).
    """

    plan = plans.compute_plan(session, loan_id, single_result_decider(engine), actor=actor)
    session.commit()
    _lock_loan(session, loan_id)
    if plans.has_first_inspection(session, loan_id):
        session.rollback()
        return None
    loan = loans_service.get(session, loan_id)
    return _unless_open(lambda: start_planned_inspection(
        session, engine, loan_id=loan_id, kind=InspectionKind.FIRST,
        reason=f"First inspection after disbursement: {plan.reason}", actor=actor,
        due_on=plans.first_due_on(loan, plan)), session)


def start_first_inspection_or_defer(
    session: Session, engine: EngineGateway, loan_id: str, actor: str
) -> Inspection | None:
    """For loan registration: start the first inspection, or log why not and leave it to the
    scheduler (``inspection_scheduler`` starts first inspections still missing). Never raises
    for engine or decision trouble: the loan is already saved."""

    try:
        return start_first_inspection(session, engine, loan_id, actor)
    except Exception as exc:  # noqa: BLE001 - any failure defers to the scheduler
        session.rollback()
        log.warning(
            "first inspection of loan %s not started now (%s); the inspection scheduler will "
            "start it", loan_id, exc)
        return None


def start_routine_inspection(
    session: Session, engine: EngineGateway, loan_id: str, actor: str
) -> Inspection | None:
    """Start the routine inspection of a loan whose plan is due; None when not due any more
    or an inspection is open (checked under the loan's lock).

    The plan is decided again first (deployed DMN, current customer facts), so a redeployed
    table or a changed customer applies from this inspection on; a longer frequency may make
    the loan not due yet.
    """


    if plans.has_open_inspection(session, loan_id):
        session.rollback()
        return None
    plans.compute_plan(session, loan_id, single_result_decider(engine), actor=actor)
    session.commit()
    _lock_loan(session, loan_id)
    plan = session.get(InspectionPlan, loan_id)
    if plan is None or plan.next_due_on > date.today() or plans.has_open_inspection(
            session, loan_id):
        session.rollback()
        return None
    return _unless_open(lambda: start_planned_inspection(
        session, engine, loan_id=loan_id, kind=InspectionKind.ROUTINE,
        reason=f"Routine inspection every {plan.frequency_months} month(s): {plan.reason}",
        actor=actor, due_on=plan.next_due_on), session)


def start_special_inspection(
    session: Session, engine: EngineGateway, loan_id: str, reason: str, trigger_ref: str,
    actor: str,
) -> Inspection | None:
    """Start a special (immediate, on-site) inspection; None when the loan already has an open
    special inspection (dedupe, checked under the loan's lock)."""


    _lock_loan(session, loan_id)
    if plans.has_open_inspection(session, loan_id, InspectionKind.SPECIAL):
        session.rollback()
        return None
    return _unless_open(lambda: start_planned_inspection(
        session, engine, loan_id=loan_id, kind=InspectionKind.SPECIAL, reason=reason,
        actor=actor, due_on=date.today(), trigger_ref=trigger_ref, mode="on_site"), session)


def special_inspections_for_event(
    session: Session, engine: EngineGateway, event: ExternalEvent,
    actor: str = "system:special-triggers",
) -> list[Inspection]:
    """Special inspections of every active loan of the event's customer, when the event kind is
    serious (``config/special_triggers.yaml``). ``event``: a stored ``ExternalEvent``."""

    if not is_serious_event(event.kind):
        return []
    reason = f"Serious external event: {event.kind} reported by {event.source}"
    if getattr(event, "details", ""):
        reason += f": {event.details}"
    started = []
    for loan_id in active_loans_of(session, event.customer_id):
        inspection = start_special_inspection(session, engine, loan_id, reason,
                                              f"event:{event.id}", actor)
        if inspection is not None:
            started.append(inspection)
    return started


def special_inspection_for_repayment(
    session: Session, engine: EngineGateway, loan_id: str, previous_dpd: int, dpd: int,
    interest_unpaid_days: int, actor: str = "system:special-triggers",
) -> Inspection | None:
    """A special inspection when a current loan falls overdue or interest is unpaid too long."""

    reason = repayment_trigger(previous_dpd, dpd, interest_unpaid_days)
    if reason is None:
        return None
    return start_special_inspection(session, engine, loan_id, reason, f"repayment:{loan_id}",
                                    actor)


# -- rectification ----------------------------------------------------------------------------

RECTIFICATION_PROCESS = "rectification"


def start_rectification(
    session: Session, engine: EngineGateway, rectification, *,
    deadline_at: datetime | None = None, reminder_at: datetime | None = None,
):
    """Start the ``rectification`` process of a raised (flushed) item; commits the item first
    and withdraws it again if the engine refuses (503, nothing saved). ``deadline_at`` /
    ``reminder_at`` default to the end of the deadline day and the reminder day (UTC)."""
    from postloan.rectifications import service as rectifications

    deadline_day = datetime.combine(rectification.deadline, time.min, tzinfo=UTC)
    deadline_at = deadline_at or deadline_day + timedelta(days=1)
    reminder_at = reminder_at or datetime.combine(
        rectifications.reminder_for(rectification.deadline), time.min, tzinfo=UTC)
    rectification_id, actor = rectification.id, rectification.raised_by
    variables = {
        "rectification_id": rectification_id, "customer_id": rectification.customer_id,
        "severity": rectification.severity, "source": rectification.source,
        "raised_by": actor, "owner": rectification.owner, "deadline_at": deadline_at,
        "reminder_at": reminder_at, "deadline": rectification.deadline.isoformat(),
    }
    pid = _start_committed(
        session, engine, process_key=RECTIFICATION_PROCESS, business_key=rectification_id,
        variables=variables, what="rectification",
        withdraw=lambda why: rectifications.withdraw(session, rectification_id, why,
                                                     actor=actor),
        attach=lambda pid: rectifications.attach_process(session, rectification_id, pid))
    log.info("rectification %s started (process %s, deadline %s)", rectification_id, pid,
             deadline_at)
    return rectifications.get(session, rectification_id)


def open_rectification(
    session: Session, engine: EngineGateway, *, customer_id: str, loan_id: str | None,
    source: str, source_ref: str, title: str, description: str, severity: str, owner: str,
    raised_by: str, deadline_at: datetime | None = None, reminder_at: datetime | None = None,
):
    """Raise a rectification item and start its process (commits). Raises InvalidInput for bad
    fields, Unavailable when the engine refuses (nothing saved)."""
    from postloan.rectifications import service as rectifications

    item = rectifications.raise_rectification(
        session, customer_id=customer_id, loan_id=loan_id, source=source,
        source_ref=source_ref, title=title, description=description, severity=severity,
        owner=owner, raised_by=raised_by, today=date.today())
    return start_rectification(session, engine, item, deadline_at=deadline_at,
                               reminder_at=reminder_at)


# -- credit approval linkage ------------------------------------------------------------------

CREDIT_PROCESS = "credit_approval_linkage"


def start_credit_application(session: Session, engine: EngineGateway, application):
    """Start the ``credit_approval_linkage`` process of a new (flushed) credit application,
    business key = its id. Commits the row first (the first worker needs it) and withdraws it
    again if the engine refuses (503, nothing saved)."""
    from postloan.credit import service as credit

    application_id, customer_id = application.id, application.customer_id
    pid = _start_committed(
        session, engine, process_key=CREDIT_PROCESS, business_key=application_id,
        variables={"application_id": application_id, "customer_id": customer_id},
        what="credit application",
        withdraw=lambda why: credit.withdraw(session, application_id, why,
                                             actor=application.requested_by),
        attach=lambda pid: credit.attach_process(session, application_id, pid))
    log.info("credit application %s of customer %s started (process %s)", application_id,
             customer_id, pid)
    return credit.get(session, application_id)


# -- outsourced visit batches -----------------------------------------------------------------

VISIT_BATCH_PROCESS = "outsourced_visit_batch"


def start_visit_batch(session: Session, engine: EngineGateway, batch):
    """Start the ``outsourced_visit_batch`` process of a submitted (flushed) visit batch,
    business key = batch id. Commits the batch first (the authenticity worker needs it) and
    withdraws it again if the engine refuses (503, nothing saved)."""
    from postloan.vendors import service as vendors

    batch_id, vendor_id, actor = batch.id, batch.vendor_id, batch.submitted_by
    pid = _start_committed(
        session, engine, process_key=VISIT_BATCH_PROCESS, business_key=batch_id,
        variables={"batch_id": batch_id, "vendor_id": vendor_id}, what="visit batch",
        withdraw=lambda why: vendors.withdraw_batch(session, batch_id, why, actor=actor),
        attach=lambda pid: vendors.attach_process(session, batch_id, pid))
    log.info("visit batch %s of vendor %s started (process %s)", batch_id, vendor_id, pid)
    return vendors.get_batch(session, batch_id)
