"""Handlers of the ``inspection_scheduler`` process: start the inspections that are due."""

from __future__ import annotations

from postloan.application import inspections as inspection_cases
from postloan.plans.catalogue import catalogue
from workers.runtime import ExternalTask, TopicRouter
from workers.support import services

router = TopicRouter()
SCHEDULER_ACTOR = "scheduler"


@router.topic("scheduler.start-due-inspections")
def start_due_inspections(task: ExternalTask) -> dict:
    """Start missing first inspections, then due routine inspections, up to the batch size.

    Each loan is its own transaction: the open-inspection check runs under the loan's row lock
    just before the request is written, so a task delivered twice, or two overlapping runs,
    never start a second inspection for a loan. A loan that fails (the plan's decision could
    not be read) is counted and left for the next run; it does not stop the others.
    """
    sched = catalogue().scheduler

    def keep_lock(handled: int) -> None:
        if handled % sched.extend_lock_every == 0:
            task.extend_lock(sched.extend_lock_ms)

    return inspection_cases.start_due_inspections(
        services(), actor=SCHEDULER_ACTOR, batch_size=sched.batch_size, after_each=keep_lock
    )
