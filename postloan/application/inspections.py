"""Inspections: special (on request, on a serious event, on repayment trouble), first after
disbursement, routine when the plan is due; and the derived trigger "overdue with no special
inspection", run by the relay's periodic pass.

Each start writes the inspection (with its items) and its owed process start in one
transaction; the relay starts the ``post_loan_inspection`` process (business key = the
inspection id) and records its instance id — until then ``process_instance_id`` is null.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from postloan.application.services import Services
from postloan.events.models import ExternalEvent
from postloan.inspections import service as inspections
from postloan.inspections.models import Inspection, InspectionKind
from postloan.loans import service as loans_service
from postloan.loans.models import Loan, Repayment
from postloan.outbox import service as outbox
from postloan.plans import service as plans
from postloan.plans.catalogue import catalogue
from postloan.plans.items import create_items
from postloan.plans.models import InspectionPlan
from postloan.plans.triggers import active_loans_of, is_serious_event, repayment_trigger

log = logging.getLogger(__name__)

INSPECTION_PROCESS = "post_loan_inspection"
PLAN_DECISION = "inspection_plan"
TRIGGER_ACTOR = "system:special-triggers"


def lock_loan(session: Session, loan_id: str) -> None:
    """Take the loan's row lock before checking for open inspections (two scheduler runs, or an
    event and a repayment at once, then cannot both start one): a no-op UPDATE locks the row on
    PostgreSQL and takes SQLite's write lock before the check reads."""
    session.execute(
        update(Loan).where(Loan.id == loan_id).values(next_inspection_on=Loan.next_inspection_on)
    )


def request_planned_inspection(
    session: Session,
    *,
    loan_id: str,
    kind: str,
    reason: str,
    actor: str,
    due_on: date | None = None,
    trigger_ref: str | None = None,
    mode: str | None = None,
) -> Inspection:
    """Write an inspection with the plan's template and mode, its items, and its owed process
    start, in the caller's transaction. Raises ``OpenInspectionExists`` for a second open one."""
    plan = session.get(InspectionPlan, loan_id)
    inspection = inspections.request(
        session, loan_id=loan_id, kind=kind, reason=reason, actor=actor
    )
    if plan is not None:
        inspection.template = plan.template
        inspection.mode = plan.mode
    else:
        loan = session.get(Loan, loan_id)
        inspection.template = catalogue().product(loan.product if loan else "").template
    if mode:
        inspection.mode = mode
    inspection.due_on = due_on
    inspection.trigger_ref = trigger_ref
    items = create_items(session, inspection, plan)
    outbox.enqueue_process_start(
        session,
        process_key=INSPECTION_PROCESS,
        business_key=inspection.id,
        variables={
            "inspection_id": inspection.id,
            "loan_id": loan_id,
            "kind": kind,
            "template": inspection.template,
            "mode": inspection.mode,
        },
        attach_to="inspection",
    )
    log.info(
        "%s inspection %s of loan %s requested (%s, %s, %d items, due %s)",
        kind,
        inspection.id,
        loan_id,
        inspection.template,
        inspection.mode,
        len(items),
        due_on,
    )
    return inspection


def _unless_open(start: Callable[[], Inspection], session: Session) -> Inspection | None:
    try:
        return start()
    except inspections.OpenInspectionExists as exc:
        session.rollback()
        log.info("%s", exc.detail)
        return None


def request_special_inspection(
    session: Session, loan_id: str, reason: str, trigger_ref: str, actor: str
) -> Inspection | None:
    """A special (immediate, on-site) inspection in the caller's transaction; None when the
    loan already has an open special inspection (checked under the loan's lock)."""
    lock_loan(session, loan_id)
    if plans.has_open_inspection(session, loan_id, InspectionKind.SPECIAL):
        return None
    return _unless_open(
        lambda: request_planned_inspection(
            session,
            loan_id=loan_id,
            kind=InspectionKind.SPECIAL,
            reason=reason,
            actor=actor,
            due_on=date.today(),
            trigger_ref=trigger_ref,
            mode="on_site",
        ),
        session,
    )


def start_special_inspection(
    services: Services, *, loan_id: str, reason: str, actor: str, trigger_ref: str | None = None
) -> Inspection:
    """``POST /inspections``: a special inspection requested by a person or a system. Raises
    ``OpenInspectionExists`` (409) when one is open."""
    with services.transaction() as session:
        loans_service.get(session, loan_id)
        lock_loan(session, loan_id)
        inspection = request_planned_inspection(
            session,
            loan_id=loan_id,
            kind=InspectionKind.SPECIAL,
            reason=reason,
            actor=actor,
            due_on=date.today(),
            trigger_ref=trigger_ref or f"request:{actor}",
            mode="on_site",
        )
        inspection_id = inspection.id
    with services.uow() as session:
        return inspections.get(session, inspection_id)


def request_inspection(
    services: Services, *, loan_id: str, kind: str, reason: str, actor: str, trigger_ref: str
) -> Inspection:
    """``POST /inspections``: a special inspection (due today, on site, under the loan's lock;
    ``trigger_ref`` names the requester) or one of another kind with the plan's template, its
    process owed in the same transaction. Raises ``OpenInspectionExists`` (409, naming the open
    one) when the loan has one of that kind open, InvalidInput for an unknown loan or kind."""
    with services.transaction() as session:
        if kind == InspectionKind.SPECIAL:
            started = request_special_inspection(session, loan_id, reason, trigger_ref, actor)
            if started is None:
                existing = inspections.open_inspection(session, loan_id, kind)
                raise inspections.OpenInspectionExists(
                    loan_id, kind, existing.id if existing else None
                )
            inspection = started
        else:
            inspection = request_planned_inspection(
                session, loan_id=loan_id, kind=kind, reason=reason, actor=actor
            )
        inspection_id = inspection.id
    with services.uow() as session:
        return inspections.get(session, inspection_id)


def special_inspections_for_event(
    session: Session, event: ExternalEvent, actor: str = TRIGGER_ACTOR
) -> list[Inspection]:
    """Special inspections of every active loan of the event's customer when the event kind is
    serious (``config/special_triggers.yaml``), in the caller's transaction."""
    if not is_serious_event(event.kind):
        return []
    reason = f"Serious external event: {event.kind} reported by {event.source}"
    if getattr(event, "details", ""):
        reason += f": {event.details}"
    started = []
    for loan_id in active_loans_of(session, event.customer_id):
        inspection = request_special_inspection(
            session, loan_id, reason, f"event:{event.id}", actor
        )
        if inspection is not None:
            started.append(inspection)
    return started


def special_inspection_for_repayment(
    session: Session,
    loan_id: str,
    previous_dpd: int,
    dpd: int,
    interest_unpaid_days: int,
    actor: str = TRIGGER_ACTOR,
) -> Inspection | None:
    """A special inspection when a current loan falls overdue or interest is unpaid too long."""
    reason = repayment_trigger(previous_dpd, dpd, interest_unpaid_days)
    if reason is None:
        return None
    return request_special_inspection(session, loan_id, reason, f"repayment:{loan_id}", actor)


# -- plan-driven starts (registration and the scheduler) --------------------------------------


def request_first_inspection(
    session: Session, services: Services, loan_id: str, actor: str
) -> Inspection | None:
    """Decide the loan's plan (deployed DMN ``inspection_plan``) and request its first
    inspection, due ``first_inspection_days`` after disbursement, in the caller's transaction.
    None when the loan has one already."""
    plan = plans.compute_plan(session, loan_id, services.engine.decider(PLAN_DECISION), actor=actor)
    lock_loan(session, loan_id)
    if plans.has_first_inspection(session, loan_id):
        return None
    loan = loans_service.get(session, loan_id)
    return _unless_open(
        lambda: request_planned_inspection(
            session,
            loan_id=loan_id,
            kind=InspectionKind.FIRST,
            reason=f"First inspection after disbursement: {plan.reason}",
            actor=actor,
            due_on=plans.first_due_on(loan, plan),
        ),
        session,
    )


def start_first_inspection(services: Services, loan_id: str, actor: str) -> Inspection | None:
    """The first inspection of a loan, in its own transaction (the scheduler's catch-up)."""
    with services.transaction() as session:
        inspection = request_first_inspection(session, services, loan_id, actor)
        inspection_id = inspection.id if inspection is not None else None
    return _reread(services, inspection_id)


def start_routine_inspection(services: Services, loan_id: str, actor: str) -> Inspection | None:
    """The routine inspection of a loan whose plan is due; None when not due any more or an
    inspection is open (checked under the loan's lock). The plan is decided again first
    (deployed DMN, current customer facts)."""
    with services.transaction() as session:
        inspection_id = None
        if not plans.has_open_inspection(session, loan_id):
            plans.compute_plan(
                session, loan_id, services.engine.decider(PLAN_DECISION), actor=actor
            )
            lock_loan(session, loan_id)
            plan = session.get(InspectionPlan, loan_id)
            if (
                plan is not None
                and plan.next_due_on <= date.today()
                and (not plans.has_open_inspection(session, loan_id))
            ):
                inspection = _unless_open(
                    lambda: request_planned_inspection(
                        session,
                        loan_id=loan_id,
                        kind=InspectionKind.ROUTINE,
                        reason=f"Routine inspection every {plan.frequency_months} month(s): "
                        f"{plan.reason}",
                        actor=actor,
                        due_on=plan.next_due_on,
                    ),
                    session,
                )
                inspection_id = inspection.id if inspection is not None else None
    return _reread(services, inspection_id)


def _reread(services: Services, inspection_id: str | None) -> Inspection | None:
    if inspection_id is None:
        return None
    with services.uow() as session:
        return inspections.get(session, inspection_id)


def start_due_inspections(
    services: Services,
    *,
    actor: str,
    batch_size: int,
    after_each: Callable[[int], None] = lambda handled: None,
) -> dict[str, int]:
    """The scheduler's run: missing first inspections, then due routine ones, up to
    ``batch_size``; each loan its own transaction. A loan that fails (engine cannot decide the
    plan) is counted and left for the next run; it does not stop the others."""
    from sqlalchemy.exc import IntegrityError

    counts = {"started_first": 0, "started_routine": 0, "failed": 0, "skipped": 0}
    with services.uow() as session:
        missing = plans.loans_without_first_inspection(session, batch_size)
    handled = 0

    def one(loan_id: str, first: bool) -> None:
        nonlocal handled
        try:
            started = (start_first_inspection if first else start_routine_inspection)(
                services, loan_id, actor
            )
            counts[
                "skipped" if started is None else ("started_first" if first else "started_routine")
            ] += 1
        except IntegrityError as exc:
            # Another run decided this loan's plan at the same moment: that run goes on.
            log.info("loan %s handled by a concurrent run (%s)", loan_id, type(exc).__name__)
            counts["skipped"] += 1
        except Exception as exc:  # noqa: BLE001 - one loan's trouble must not stop the run
            log.warning("loan %s not started (%s); next run retries", loan_id, exc)
            counts["failed"] += 1
        handled += 1
        after_each(handled)

    for loan_id in missing:
        one(loan_id, True)
    if batch_size - handled > 0:
        with services.uow() as session:
            due = plans.due_loans(session, date.today(), batch_size - handled)
        for loan_id in due:
            one(loan_id, False)
    log.info(
        "scheduler run: %d first and %d routine inspection(s) started, %d failed",
        counts["started_first"],
        counts["started_routine"],
        counts["failed"],
    )
    counts.pop("skipped")
    return counts


# -- the derived trigger ----------------------------------------------------------------------


def start_missing_overdue_inspections(
    services: Services, *, today: date | None = None, actor: str = TRIGGER_ACTOR
) -> list[str]:
    """For every loan overdue now that got no special inspection since it fell overdue, request
    one. The repayment that made it overdue requests it at once; this pass makes good any that
    was lost (an import, a crash, an inspection withdrawn). One transaction per loan."""
    today = today or date.today()
    with services.uow() as session:
        candidates = list(
            session.scalars(
                select(Repayment.loan_id)
                .distinct()
                .join(Loan, Loan.id == Repayment.loan_id)
                .where(Repayment.due_on < today, Repayment.paid_amount < Repayment.due_amount)
                .order_by(Repayment.loan_id)
            )
        )
    started = []
    for loan_id in candidates:
        with services.transaction() as session:
            now, _ = loans_service.arrears(session, loan_id, today)
            reason = repayment_trigger(0, now.days_past_due, 0)
            if reason is None:
                continue
            since = today - timedelta(days=now.days_past_due)
            lock_loan(session, loan_id)
            triggered = session.scalar(
                select(
                    exists().where(
                        Inspection.loan_id == loan_id,
                        Inspection.kind == InspectionKind.SPECIAL,
                        Inspection.trigger_ref == f"repayment:{loan_id}",
                        Inspection.created_at >= since,
                    )
                )
            )
            if triggered:
                continue
            if (
                request_special_inspection(session, loan_id, reason, f"repayment:{loan_id}", actor)
                is not None
            ):
                started.append(loan_id)
                log.warning(
                    "loan %s is overdue with no special inspection: one requested now (%s)",
                    loan_id,
                    reason,
                )
    return started
