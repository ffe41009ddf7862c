"""Handlers of the ``opportunity_follow_up`` process (business key = the opportunity id)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from postloan.application import opportunities as opportunity_cases
from postloan.errors import InvalidInput, NotFound
from postloan.opportunities import config
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

router = TopicRouter()

#: The perform form's checklist of the needs the customer mentioned (a list of kinds) ...
BUSINESS_NEEDS = "business_needs"


def note_variable(kind: str) -> str:
    """... and the note of each ticked kind (a text field shown once the kind is ticked)."""
    return f"business_need_note_{kind}"


def capturing_business_needs(
    func: Callable[..., dict[str, Any] | None],
) -> Callable[..., dict[str, Any] | None]:
    """Capture the business needs of the perform form alongside a handler of
    ``inspection.record-work``, in its transaction: the handler's variables plus
    ``business_needs`` and one note variable per configured kind; the opportunities are owned
    by the customer's account manager and captured by the inspector. Idempotent per inspection
    and kind (a retried task, a rework: nothing twice). Apply under ``@in_transaction``."""
    kinds = list(config.load().kinds)
    extra = [BUSINESS_NEEDS, *(note_variable(k) for k in kinds)]
    signature = inspect.signature(func)

    @functools.wraps(func)
    def run(session: Session, task: ExternalTask, **values: Any) -> dict[str, Any] | None:
        ticked = values.pop(BUSINESS_NEEDS, None)
        notes = {kind: values.pop(note_variable(kind), None) for kind in kinds}
        output = func(session=session, task=task, **values)
        opportunity_cases.capture_from_inspection(
            session,
            values.get("inspection_id") or task.business_key or "",
            ticked if isinstance(ticked, list) else None,
            notes,
            captured_by=values.get("inspector") or WORKER_ACTOR,
        )
        return output

    params = [*signature.parameters.values()] + [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None) for name in extra
    ]
    run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return run


def _day(value: Any) -> date | None:
    """The form's date (``YYYY-MM-DD``, a datetime's date part too); None when absent or not a
    date (the domain then says what is wrong)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


@router.topic("opportunity.record-follow-up")
@in_transaction
def record_follow_up(
    session: Session,
    task: ExternalTask,
    opportunity_id: int | None,
    follow_up_outcome: str | None,
    follow_up_note: str | None,
    next_follow_up_on: Any,
    followed_up_by: str | None,
) -> dict:
    """Store what the account manager recorded. A new follow-up date that is not acceptable
    (past, too far ahead) sends the task back at once with the reason (``follow_up_problem``)."""
    raw_id = opportunity_id if opportunity_id is not None else task.business_key
    try:
        opportunity = opportunity_cases.record_follow_up(
            session,
            int(raw_id or 0),
            outcome=follow_up_outcome or "",
            note=follow_up_note or "",
            follow_up_on=_day(next_follow_up_on),
            actor=followed_up_by or WORKER_ACTOR,
        )
    except NotFound as exc:
        raise LookupError(
            f"{exc.detail}: the process refers to an opportunity the project database does "
            "not hold; restore it, then retry the incident"
        ) from exc
    except InvalidInput as exc:
        return {
            "follow_up_again": True,
            "follow_up_at": datetime.now(UTC).isoformat(),
            "follow_up_problem": f"{exc.field}: {exc.detail}",
        }
    if opportunity is None or opportunity.outcome != "open":
        return {"follow_up_again": False, "follow_up_problem": ""}
    return {
        "follow_up_again": True,
        # ISO-8601 text (the timer takes it as it takes a Date; the stored output is JSON)
        "follow_up_at": opportunity_cases.follow_up_at(opportunity.follow_up_on).isoformat(),
        "follow_up_problem": "",
    }
