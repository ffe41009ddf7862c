"""Handlers of the ``risk_signal_handling`` process (business key = the customer id; variable
``handling_id`` names the ``signal_handling`` row). Thin: the rules are in
``postloan.signals.handling``."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from postloan.application import rectifications as rectification_cases
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.signals import handling
from postloan.signals.models import RiskSignal
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

log = logging.getLogger("workers.signal_handling")
router = TopicRouter()


def _handling_id(task: ExternalTask, handling_id: Any) -> int:
    if handling_id is None:
        raise LookupError(
            f"instance {task.process_instance_id} has no handling_id: it was not started by "
            "the signal handling; cancel it"
        )
    return int(handling_id)


def _open_rectification(session: Session) -> Any:
    """Raise the rectification a response asks for (its process owed in this transaction)."""

    def open_rectification(signal: RiskSignal, raised_by: str, text: str) -> str:
        customer = session.get(Customer, signal.customer_id)
        item = rectification_cases.raise_rectification(
            session,
            customer_id=signal.customer_id,
            loan_id=signal.loan_id,
            source="review",
            source_ref=f"risk signal {signal.id}",
            title=f"Risk signal {signal.code}: {signal.summary}"[:200],
            description=text,
            severity=handling.rules().rectification_severity[signal.severity],
            owner=customer.account_manager if customer is not None else raised_by,
            raised_by=raised_by,
        )
        return item.id

    return open_rectification


@router.topic("signals.prepare-response")
@in_transaction
def prepare_response(session: Session, task: ExternalTask, handling_id: Any) -> dict:
    """The owner's task: which signals, for whom, due when, how urgent."""
    view = handling.prepare_task(
        session,
        _handling_id(task, handling_id),
        now=utcnow(),
        process_instance_id=task.process_instance_id,
    )
    return {"has_signals_to_answer": view.has_signals_to_answer, **view.variables}


@router.topic("signals.record-responses")
@in_transaction
def record_responses(
    session: Session,
    task: ExternalTask,
    handling_id: Any,
    signal_options: list | None,
    actions_taken: list | None,
    action_text: str | None,
    false_positives: list | None,
    false_positive_reason: str | None,
    rectifications_raised: list | None,
    rectification_text: str | None,
    responder: str | None,
) -> dict:
    """The owner's answers; invalid ones go back to the owner's task with what is wrong (the
    answers stay in the form)."""
    answers = handling.Answers(
        presented=[str(o.get("value")) for o in signal_options or [] if isinstance(o, dict)],
        actions=list(actions_taken or []),
        action_text=action_text or "",
        false_positives=list(false_positives or []),
        false_positive_reason=false_positive_reason or "",
        rectifications=list(rectifications_raised or []),
        rectification_text=rectification_text or "",
    )
    hid = _handling_id(task, handling_id)
    try:
        with session.begin_nested():
            waiting = handling.record_responses(
                session,
                hid,
                answers,
                responder=responder or WORKER_ACTOR,
                now=utcnow(),
                open_rectification=_open_rectification(session),
            )
    except handling.InvalidResponse as exc:
        log.info("handling %s: responses sent back to the owner: %s", hid, exc)
        return {"responses_valid": False, "response_error": str(exc), "needs_confirmation": False}
    return {
        "responses_valid": True,
        "response_error": "",
        "needs_confirmation": bool(waiting),
        "confirmation_summary": handling.confirmation_summary(session, hid),
        "confirmation_decision": None,
        "confirmation_comment": "",
        **handling.empty_answers(),
    }


@router.topic("signals.record-confirmation")
@in_transaction
def record_confirmation(
    session: Session,
    task: ExternalTask,
    handling_id: Any,
    confirmation_decision: str | None,
    confirmation_comment: str | None,
    confirmer: str | None,
) -> dict:
    if confirmation_decision not in ("approve", "send_back"):
        raise ValueError(
            f"confirmation_decision must be approve or send_back, not {confirmation_decision!r}"
        )
    signals = handling.record_confirmation(
        session,
        _handling_id(task, handling_id),
        approved=confirmation_decision == "approve",
        comment=confirmation_comment or "",
        confirmer=confirmer or WORKER_ACTOR,
        now=utcnow(),
        open_rectification=_open_rectification(session),
    )
    return {"signals_confirmed": len(signals) if confirmation_decision == "approve" else 0}


@router.topic("signals.escalate-handling")
@in_transaction
def escalate_handling(session: Session, task: ExternalTask, handling_id: Any) -> dict:
    """The response deadline passed: one level up (the next preparation routes the task)."""
    row = handling.escalate(
        session, _handling_id(task, handling_id), now=utcnow(), actor=WORKER_ACTOR
    )
    log.warning(
        "signal handling %s of customer %s escalated to level %d",
        row.id,
        row.customer_id,
        row.escalation_level,
    )
    return {"escalation_level": row.escalation_level}
