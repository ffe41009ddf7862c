"""Handlers of the ``inspection_scheduler`` process: start the inspections that are due."""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache

from sqlalchemy.exc import IntegrityError

from config.settings import get_settings
from gateway import processes
from gateway.engine import EngineError, EngineGateway
from postloan.db import get_session_factory
from postloan.errors import DomainError
from postloan.plans import service as plans
from postloan.plans.catalogue import catalogue
from workers.runtime import ExternalTask, TopicRouter

log = logging.getLogger(__name__)
router = TopicRouter()
SCHEDULER_ACTOR = "scheduler"


@lru_cache
def engine() -> EngineGateway:
    """The engine as the workers' technical user (starts inspections, evaluates the plan DMN)."""
    s = get_settings()
    return EngineGateway(s.engine_url, s.engine_worker_user,
                         s.engine_worker_password.get_secret_value(), s.engine_timeout_seconds)


@router.topic("scheduler.start-due-inspections")
def start_due_inspections(task: ExternalTask) -> dict:
    """Start missing first inspections, then due routine inspections, up to the batch size.

    Each loan is its own transaction: the open-inspection check runs under the loan's row lock
    just before the request is written, so a task delivered twice, or two overlapping runs,
    never start a second inspection for a loan. A loan that fails (engine refused) is logged and
    left for the next run; it does not stop the others.
    """
    sched = catalogue().scheduler
    session = get_session_factory(get_settings().database_url)()
    counts = {"started_first": 0, "started_routine": 0, "failed": 0, "skipped": 0}
    handled = 0
    try:
        budget = sched.batch_size
        for loan_id in plans.loans_without_first_inspection(session, budget):
            session.rollback()  # end the read transaction before each loan's own
            counts[_start(session, task, loan_id, first=True)] += 1
            handled += 1
            _keep_lock(task, handled, sched.extend_lock_every, sched.extend_lock_ms)
        budget -= handled
        if budget > 0:
            due = plans.due_loans(session, date.today(), budget)
            session.rollback()
            for loan_id in due:
                counts[_start(session, task, loan_id, first=False)] += 1
                handled += 1
                _keep_lock(task, handled, sched.extend_lock_every, sched.extend_lock_ms)
    finally:
        session.rollback()
        session.close()
    log.info("scheduler run %s: %d first and %d routine inspection(s) started, %d failed",
             task.id, counts["started_first"], counts["started_routine"], counts["failed"])
    counts.pop("skipped", None)
    return counts


def _start(session, task: ExternalTask, loan_id: str, *, first: bool) -> str:  # noqa: ANN001
    try:
        if first:
            started = processes.start_first_inspection(session, engine(), loan_id,
                                                       SCHEDULER_ACTOR)
        else:
            started = processes.start_routine_inspection(session, engine(), loan_id,
                                                         SCHEDULER_ACTOR)
    except IntegrityError as exc:
        # Another run decided this loan's plan at the same moment: that run goes on with it.
        session.rollback()
        log.info("scheduler run %s: loan %s handled by a concurrent run (%s)", task.id,
                 loan_id, type(exc).__name__)
        return "skipped"
    except (EngineError, DomainError, ValueError) as exc:
        session.rollback()
        log.warning("scheduler run %s: loan %s not started (%s); next run retries", task.id,
                    loan_id, exc)
        return "failed"
    if started is None:
        return "skipped"
    return "started_first" if first else "started_routine"


def _keep_lock(task: ExternalTask, handled: int, every: int, lock_ms: int) -> None:
    if handled % every == 0:
        task.extend_lock(lock_ms)
