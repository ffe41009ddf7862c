"""Handlers of reminders: the daily scan (``reminder_scan``, a timer process) and the answer
to a ``prevent_lapse`` task (``lapse_prevention``, business key ``reminder-<id>``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from config.settings import get_settings
from postloan.application import reminders as reminder_cases
from postloan.errors import InvalidInput
from workers.runtime import BusinessError, ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

router = TopicRouter()


@router.topic("reminders.scan")
@in_transaction
def scan(session: Session, task: ExternalTask) -> dict:
    """Once per external task (a rerun of the same task returns its first output); a second
    task the same day finds every reminder made already (their unique keys)."""
    result = reminder_cases.scan_in(
        session,
        date.today(),
        actor=WORKER_ACTOR,
        webhook_url=get_settings().reminder_webhook_url,
    )
    return {
        "instalment_reminders": result.instalment_reminders,
        "lapse_tasks": result.lapse_tasks,
    }


def _reminder_id(task: ExternalTask, reminder_id: str | None) -> int:
    raw = reminder_id or (task.business_key or "").removeprefix("reminder-")
    if not raw.isdigit():
        raise LookupError(f"no reminder id in the process (business key {task.business_key!r})")
    return int(raw)


@router.topic("reminders.record-lapse-action")
@in_transaction
def record_lapse_action(
    session: Session,
    task: ExternalTask,
    reminder_id: str | None,
    lapse_action: str | None,
    lapse_note: str | None,
    lapse_new_due_on: str | None,
    prevented_by: str | None,
) -> dict:
    # an answer the service refuses goes back to its owner (the diagram catches the error)
    try:
        new_due_on = date.fromisoformat(lapse_new_due_on[:10]) if lapse_new_due_on else None
    except ValueError:
        raise BusinessError(
            "LAPSE_ANSWER_INVALID",
            f"new date {lapse_new_due_on!r} is not a date",
            {"lapse_problem": f"The new date {lapse_new_due_on!r} is not a date (YYYY-MM-DD)."},
        ) from None
    try:
        reminder = reminder_cases.record_lapse_action(
            session,
            _reminder_id(task, reminder_id),
            action=lapse_action or "",
            note=lapse_note or "",
            new_due_on=new_due_on,
            actor=prevented_by or WORKER_ACTOR,
        )
    except InvalidInput as exc:
        raise BusinessError(
            "LAPSE_ANSWER_INVALID", exc.detail, {"lapse_problem": exc.detail}
        ) from exc
    return {"lapse_state": reminder.state, "lapse_problem": ""}
