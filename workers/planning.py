"""Handlers of the ``inspection_scheduler`` process: start the inspections that are due, and
hold an incident while the ``inspection_plan`` decision cannot be evaluated."""

from __future__ import annotations

from datetime import timedelta

from config.settings import get_settings
from postloan.application import inspections as inspection_cases
from postloan.plans.catalogue import catalogue
from postloan.plans.scheduling import load_scheduling
from workers.runtime import ExternalTask, TopicRouter
from workers.support import services

router = TopicRouter()
SCHEDULER_ACTOR = "scheduler"


@router.topic("scheduler.start-due-inspections")
def start_due_inspections(task: ExternalTask) -> dict:
    """Start due work, most overdue first, within each person's capacity
    (``config/scheduling.yaml``), up to the batch size: first inspections of new loans, one
    catch-up of a loan whose first deadline had passed before it was registered, routine
    inspections whose plan is due.

    Each loan is its own transaction: the open-inspection check runs under the loan's row lock
    just before the request is written, so a task delivered twice, or two overlapping runs,
    never start a second inspection for a loan. When the plan decision fails, a loan keeps its
    last good plan; the failure is returned (``plan_decision_error``) for the process's
    incident. The rules file is read on every run, so an analyst's edit applies at the next.
    """
    sched = catalogue().scheduler
    rules = load_scheduling(get_settings().scheduling_file)

    def keep_lock(handled: int) -> None:
        if handled % sched.extend_lock_every == 0:
            task.extend_lock(sched.extend_lock_ms)

    return inspection_cases.start_due_inspections(
        services(),
        actor=SCHEDULER_ACTOR,
        batch_size=sched.batch_size,
        rules=rules,
        after_each=keep_lock,
    )


@router.topic("scheduler.check-plan-decision")
def check_plan_decision(task: ExternalTask, plan_decision_loan: str) -> dict:
    """The plan decision failed in this run: decide that loan's plan again. While it still
    fails, this raises, so the task's retries run out into an incident on the scheduler's
    instance (its message says what the engine answered); after the decision is repaired and
    redeployed, retrying the incident completes it. A run that meets the decision still broken
    while an earlier run's incident is open ends without a new incident
    (``config/scheduling.yaml``, incident.repeat_after_hours)."""
    rules = load_scheduling(get_settings().scheduling_file)
    return inspection_cases.check_plan_decision(
        services(),
        plan_decision_loan,
        SCHEDULER_ACTOR,
        instance_id=task.process_instance_id,
        repeat_after=timedelta(hours=rules.incident_repeat_hours),
    )
