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
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from postloan.application import task_context
from postloan.application.services import Services
from postloan.events.models import ExternalEvent
from postloan.inspections import service as inspections
from postloan.inspections.models import Inspection, InspectionKind
from postloan.loans import service as loans_service
from postloan.loans.models import Loan, Repayment
from postloan.outbox import service as outbox
from postloan.plans import scheduling
from postloan.plans import service as plans
from postloan.plans.catalogue import catalogue, triggers
from postloan.plans.items import create_items
from postloan.plans.models import InspectionPlan
from postloan.plans.scheduling import registered_on
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
            **task_context.for_inspection(session, inspection),
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
    inspection, due ``first_inspection_days`` after disbursement (never before the loan was
    registered here), in the caller's transaction. None when the loan has one already."""
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
            due_on=max(plans.first_due_on(loan, plan), registered_on(loan)),
        ),
        session,
    )


def start_routine_inspection(services: Services, loan_id: str, actor: str) -> Inspection | None:
    """The routine inspection of a loan whose plan is due, outside the scheduler's capacity
    (tools and tests); None when not due or an inspection is open (checked under the loan's
    lock). The plan is decided again first; a decision that fails keeps the last good plan."""
    candidate = scheduling.Candidate(loan_id, "", date.today(), scheduling.ROUTINE)
    run = _SchedulerRun(
        services, actor, scheduling.Capacity(_unbounded(), date.today()), _unbounded()
    )
    return _reread(services, run.start(candidate))


def _unbounded() -> scheduling.SchedulingRules:
    big = 1 << 30
    return scheduling.SchedulingRules(big, big, 0, big, "Catch-up inspection: {plan_reason}")


def _reread(services: Services, inspection_id: str | None) -> Inspection | None:
    if inspection_id is None:
        return None
    with services.uow() as session:
        return inspections.get(session, inspection_id)


class _SchedulerRun:
    """One scheduler run: each loan its own transaction under the loan's lock; the plan decided
    again (or, while the decision fails, the last good one kept); counts and the first failure
    of the decision kept for the report."""

    def __init__(
        self,
        services: Services,
        actor: str,
        capacity: scheduling.Capacity,
        rules: scheduling.SchedulingRules,
    ) -> None:
        self.services = services
        self.actor = actor
        self.capacity = capacity
        self.rules = rules
        self.counts = {
            "started_first": 0,
            "started_routine": 0,
            "started_catch_up": 0,
            "deferred": 0,
            "failed": 0,
            "kept_last_plan": 0,
        }
        self.failure: plans.PlanDecisionFailed | None = None
        self.decided: str | None = None  # the version of a decision that worked in this run
        self.failed_loan: str | None = None
        self._decide = services.engine.decider(PLAN_DECISION)

    def decide(self, facts: dict) -> dict:
        """The deployed decision; once it could not be evaluated in this run it is not asked
        again (the same table answers the same way): loans keep their last good plan."""
        if isinstance(self.failure, plans.PlanDecisionUnavailable):
            raise self.failure
        return self._decide(facts)

    def _failed(self, loan_id: str, failure: plans.PlanDecisionFailed) -> None:
        if self.failure is None:
            self.failure, self.failed_loan = failure, loan_id

    def start(self, candidate: scheduling.Candidate) -> str | None:
        """Start the candidate's inspection; its id, or None (not due any more, open already,
        no plan could be decided)."""
        today = self.capacity.today
        loan_id = candidate.loan_id
        with self.services.transaction() as session:
            lock_loan(session, loan_id)
            if plans.has_open_inspection(session, loan_id):
                return None
            plan, failure = plans.plan_for_start(session, loan_id, self.decide, actor=self.actor)
            if failure is not None:
                self._failed(loan_id, failure)
                self.counts["failed" if plan is None else "kept_last_plan"] += 1
            else:
                self.decided = plan.decision_version if plan is not None else self.decided
            if plan is None:
                return None
            loan = loans_service.get(session, loan_id)
            registered = registered_on(loan)
            trigger_ref = None
            if candidate.kind == scheduling.ROUTINE:
                if plan.next_due_on > today:
                    return None
                kind, counter, due_on = InspectionKind.ROUTINE, "started_routine", plan.next_due_on
                reason = f"Routine inspection {plans.frequency_text(plan)}: {plan.reason}"
            elif plans.has_planned_inspection(session, loan_id):
                return None
            elif plans.needs_catch_up(loan, plan):
                kind, counter = InspectionKind.ROUTINE, "started_catch_up"
                due_on = self.capacity.catch_up_due_on(candidate.person, registered)
                reason = self.rules.catch_up_text(
                    plans.first_due_on(loan, plan), registered, plan.reason
                )
                trigger_ref = scheduling.CATCH_UP_REF
            else:
                kind, counter = InspectionKind.FIRST, "started_first"
                due_on = max(plans.first_due_on(loan, plan), registered)
                reason = f"First inspection after disbursement: {plan.reason}"
            inspection = _unless_open(
                lambda: request_planned_inspection(
                    session,
                    loan_id=loan_id,
                    kind=kind,
                    reason=reason,
                    actor=self.actor,
                    due_on=due_on,
                    trigger_ref=trigger_ref,
                ),
                session,
            )
            if inspection is None:
                return None
            if trigger_ref == scheduling.CATCH_UP_REF:
                loan.next_inspection_on = due_on
            inspection_id = inspection.id
        self.capacity.took(candidate.person, due_on)
        self.counts[counter] += 1
        return inspection_id


def start_due_inspections(
    services: Services,
    *,
    actor: str,
    batch_size: int,
    rules: scheduling.SchedulingRules,
    today: date | None = None,
    after_each: Callable[[int], None] = lambda handled: None,
) -> dict[str, Any]:
    """The scheduler's run: due work most overdue first (first inspections of new loans,
    catch-ups of loans whose first deadline passed before they were registered, routine
    inspections whose plan is due), each loan its own transaction, at most ``batch_size``
    tried. A person at capacity (``config/scheduling.yaml``) gets nothing more: that work waits
    (``deferred``). A loan whose plan cannot be decided keeps its last good plan and is still
    started (``kept_last_plan``); one that never had a plan waits (``failed``). The first
    failure of the decision is returned as ``plan_decision_error`` (with the loan,
    ``plan_decision_loan``) for the process to raise its incident; None when all went well."""
    from sqlalchemy.exc import IntegrityError

    today = today or date.today()
    with services.uow() as session:
        due = scheduling.candidates(session, today, catalogue())
        capacity = scheduling.Capacity.load(session, rules, today)
    run = _SchedulerRun(services, actor, capacity, rules)
    handled = 0
    for candidate in due:
        if handled >= batch_size:
            break
        if not capacity.has_room(candidate.person):
            run.counts["deferred"] += 1
            continue
        try:
            run.start(candidate)
        except IntegrityError as exc:
            # Another run decided this loan's plan at the same moment: that run goes on.
            log.info("loan %s handled by a concurrent run (%s)", candidate.loan_id, exc)
        except Exception as exc:  # noqa: BLE001 - one loan's trouble must not stop the run
            log.warning("loan %s not started (%s); next run retries", candidate.loan_id, exc)
            run.counts["failed"] += 1
        handled += 1
        after_each(handled)
    if run.failure is None and run.decided is not None:
        with services.transaction() as session:
            plans.report_decision_usable(session, run.decided, actor)
    counts: dict[str, Any] = dict(run.counts)
    counts["plan_decision_error"] = str(run.failure) if run.failure is not None else None
    counts["plan_decision_loan"] = run.failed_loan
    log.info(
        "scheduler run: %d first, %d catch-up and %d routine inspection(s) started, %d deferred "
        "(capacity), %d failed, %d on their last good plan",
        counts["started_first"],
        counts["started_catch_up"],
        counts["started_routine"],
        counts["deferred"],
        counts["failed"],
        counts["kept_last_plan"],
    )
    return counts


def check_plan_decision(
    services: Services,
    loan_id: str,
    actor: str,
    *,
    instance_id: str,
    repeat_after: timedelta = timedelta(hours=24),
) -> dict[str, Any]:
    """Decide ``loan_id``'s plan again (the loan whose plan failed in the scheduler's run
    ``instance_id``) and store it. While the deployed ``inspection_plan`` still cannot be
    evaluated this raises :class:`~postloan.plans.service.PlanDecisionFailed` (the run's
    incident), unless another run's incident about the same failure (the engine's same words,
    which name the deployed version) is open and younger than ``repeat_after``: then it
    answers ``plan_decision_reported_on`` (that instance) and raises nothing, so the ten-minute
    runs do not pile up incidents. Once the decision works again: ``plan_decision_version``."""
    try:
        with services.transaction() as session:
            plan = plans.compute_plan(
                session, loan_id, services.engine.decider(PLAN_DECISION), actor=actor
            )
            plans.report_decision_usable(session, plan.decision_version, actor)
            return {"plan_decision_version": plan.decision_version}
    except plans.PlanDecisionFailed as exc:
        with services.transaction() as session:
            report = plans.open_decision_report(session, repeat_after)
            if report is not None and (report.detail or {}).get("error") != str(exc):
                report = None  # another deployment or another cause: its own incident
            if report is not None and report.object_id != instance_id:
                log.warning(
                    "inspection_plan still unusable (%s); the incident of run %s stands for it",
                    exc,
                    report.object_id,
                )
                return {"plan_decision_reported_on": report.object_id}
            if report is None:
                plans.report_decision_unusable(session, instance_id, str(exc), actor)
        raise


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
            loan = session.get(Loan, loan_id)
            history = timedelta(days=triggers().history_overdue_days)
            if loan is not None and since < loan.created_at.date() - history:
                continue  # overdue long before it came here: imported history, not new
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
