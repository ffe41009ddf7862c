"""Signal handling: a customer's risk signals worked as one task (process ``risk_signal_handling``).

A new signal at or above ``opens_task_at`` (``config/signal_handling.yaml``) joins the customer's
open handling, or opens one and owes its process (outbox, same transaction: exactly once). The
owner answers every signal (action taken / false positive with a reason / raise a rectification);
responses to red and orange signals wait for a post-loan officer's confirmation (four eyes in the
engine), who may send them back. A passed deadline escalates the handling one level. Signals the
facts clear leave their handling; a handling with nothing left to answer closes, and its instance
is told so (outbox message) so the task goes away.

Lock order on PostgreSQL: the handling row first, then its signals (by id).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.errors import NotFound
from postloan.outbox import service as outbox
from postloan.signals.catalogue import SEVERITY_ORDER
from postloan.signals.models import (
    HandlingState,
    HandlingStatus,
    ResponseKind,
    RiskSignal,
    SignalHandling,
    SignalStatus,
)

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "signal_handling.yaml"
PROCESS_KEY = "risk_signal_handling"
#: Interrupts the owner's task so it is prepared again (a signal joined or left the handling).
CHANGED_MESSAGE = "risk_signals_changed"
#: Ends the instance: the facts cleared every signal it held.
CLEARED_MESSAGE = "risk_signals_cleared"
OBJECT_TYPE = "risk_signal"
#: Signals the owner still has to answer.
TO_ANSWER = (HandlingState.AWAITING_RESPONSE, HandlingState.SENT_BACK)
ROLES = ("account_manager", "postloan_officer", "credit_manager")
RECTIFICATION_SEVERITIES = ("minor", "major", "serious", "critical")


@dataclass(frozen=True)
class EscalationLevel:
    group: str
    days: int


@dataclass(frozen=True)
class HandlingRules:
    """``config/signal_handling.yaml``."""

    opens_task_at: str
    confirmed_severities: frozenset[str]
    priorities: dict[str, int]
    owner_groups: dict[str, str]
    escalation_levels: tuple[EscalationLevel, ...]
    rectification_severity: dict[str, str]
    confirm_due_days: int
    response_labels: dict[str, str]

    def opens_task(self, severity: str) -> bool:
        return SEVERITY_ORDER.index(severity) >= SEVERITY_ORDER.index(self.opens_task_at)

    def needs_confirmation(self, severity: str) -> bool:
        return severity in self.confirmed_severities


@lru_cache(maxsize=1)
def rules(path: Path = CONFIG_FILE) -> HandlingRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    threshold = str(raw.get("opens_task_at", ""))
    if threshold not in SEVERITY_ORDER:
        problems.append(f"opens_task_at must be one of {', '.join(SEVERITY_ORDER)}")
    confirmed = frozenset(str(s) for s in raw.get("confirmed_severities") or [])
    problems += [f"confirmed_severities: unknown {s}" for s in confirmed - set(SEVERITY_ORDER)]
    priorities = {str(k): int(v) for k, v in (raw.get("priorities") or {}).items()}
    problems += [f"priorities lacks {s}" for s in SEVERITY_ORDER if s not in priorities]
    groups = {str(k): str(v) for k, v in (raw.get("owner_groups") or {}).items()}
    problems += [f"owner_groups lacks {r}" for r in ROLES if r not in groups]
    levels = tuple(
        EscalationLevel(group=str(level["group"]), days=int(level["days"]))
        for level in raw.get("escalation_levels") or []
    )
    if not levels:
        problems.append("escalation_levels: name at least one level")
    problems += [f"escalation level {lv.group}: days must be > 0" for lv in levels if lv.days <= 0]
    rect = {str(k): str(v) for k, v in (raw.get("rectification_severity") or {}).items()}
    problems += [f"rectification_severity lacks {s}" for s in SEVERITY_ORDER if s not in rect]
    problems += [
        f"rectification_severity.{s}: {v} is not one of {', '.join(RECTIFICATION_SEVERITIES)}"
        for s, v in rect.items()
        if v not in RECTIFICATION_SEVERITIES
    ]
    labels = {str(k): str(v) for k, v in (raw.get("response_labels") or {}).items()}
    problems += [f"response_labels lacks {k.value}" for k in ResponseKind if k.value not in labels]
    confirm_days = int(raw.get("confirm_due_days", 0))
    if confirm_days <= 0:
        problems.append("confirm_due_days must be > 0")
    if problems:
        raise ValueError(f"{path.name}: {'; '.join(problems)}")
    return HandlingRules(
        opens_task_at=threshold,
        confirmed_severities=confirmed,
        priorities=priorities,
        owner_groups=groups,
        escalation_levels=levels,
        rectification_severity=rect,
        confirm_due_days=confirm_days,
        response_labels=labels,
    )


class InvalidResponse(Exception):
    """The owner's answers cannot be recorded as they are; the message goes back to the form."""


def _open_handling(session: Session, customer_id: str) -> SignalHandling | None:
    return session.scalars(
        select(SignalHandling)
        .where(
            SignalHandling.customer_id == customer_id,
            SignalHandling.status == HandlingStatus.OPEN,
        )
        .with_for_update()
    ).one_or_none()


def get(session: Session, handling_id: int, *, lock: bool = True) -> SignalHandling:
    query = select(SignalHandling).where(SignalHandling.id == handling_id)
    handling = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if handling is None:
        raise NotFound(f"signal handling {handling_id} does not exist")
    return handling


def _signals(
    session: Session, handling_id: int, states: Iterable[str], *, lock: bool = True
) -> list[RiskSignal]:
    query = (
        select(RiskSignal)
        .where(
            RiskSignal.handling_id == handling_id,
            RiskSignal.handling_state.in_([str(s) for s in states]),
        )
        .order_by(RiskSignal.id)
    )
    return list(session.scalars(query.with_for_update() if lock else query))


def _by_severity(signals: list[RiskSignal]) -> list[RiskSignal]:
    """Most severe first, then oldest first."""
    return sorted(signals, key=lambda s: (-SEVERITY_ORDER.index(s.severity), s.id))


def _record(session: Session, signal: RiskSignal, action: str, actor: str, **detail: Any) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=str(signal.id),
        detail={"handling_id": signal.handling_id, **detail},
    )


def take_up(session: Session, signal: RiskSignal, *, now: datetime, actor: str) -> bool:
    """A newly raised signal at or above the threshold joins its customer's open handling, or
    opens one and owes its process. Returns whether it was taken up."""
    config = rules()
    if not config.opens_task(signal.severity):
        return False
    handling = _open_handling(session, signal.customer_id)
    opened = False
    if handling is None:
        candidate = SignalHandling(
            customer_id=signal.customer_id, status=HandlingStatus.OPEN, escalation_level=0
        )
        try:
            # A concurrent transaction may open the customer's handling meanwhile (the partial
            # unique index refuses a second open one): then the signal joins that one.
            with session.begin_nested():
                session.add(candidate)
                session.flush()
            handling, opened = candidate, True
        except IntegrityError:
            handling = _open_handling(session, signal.customer_id)
            if handling is None:
                raise
    signal.handling_id = handling.id
    signal.handling_state = HandlingState.AWAITING_RESPONSE
    session.flush()
    _record(session, signal, "signal.joined", actor, opened_handling=opened, at=now.isoformat())
    if opened:
        customer = session.get(Customer, signal.customer_id)
        outbox.enqueue_process_start(
            session,
            process_key=PROCESS_KEY,
            business_key=signal.customer_id,
            variables={
                "customer_id": signal.customer_id,
                "handling_id": handling.id,
                "customer_name": customer.name if customer else signal.customer_id,
                "task_priority": config.priorities[signal.severity],
                "response_error": "",
                **empty_answers(),
            },
        )
    else:
        # The owner's open task (if it is at that step) is prepared again with this signal.
        outbox.enqueue_message(
            session,
            message_name=CHANGED_MESSAGE,
            business_key=signal.customer_id,
            only_if_waiting=True,
        )
    return True


def empty_answers() -> dict[str, Any]:
    """The owner's form fields, empty."""
    return {
        "actions_taken": [],
        "action_text": "",
        "false_positives": [],
        "false_positive_reason": "",
        "rectifications_raised": [],
        "rectification_text": "",
    }


def leave_cleared(
    session: Session,
    cleared: list[RiskSignal],
    *,
    now: datetime,
    actor: str,
    state: HandlingState = HandlingState.CLOSED_BY_FACTS,
) -> None:
    """Signals the facts resolved (``close_cleared``; or someone over REST, ``state`` done)
    leave their handling; a handling with nothing left to answer or confirm closes and its
    instance is told to end, otherwise its open task is prepared again without them. The caller
    has locked the handlings first."""
    touched: dict[int, str] = {}
    for signal in cleared:
        if signal.handling_id is None or signal.handling_state in (
            HandlingState.DONE,
            HandlingState.CLOSED_BY_FACTS,
        ):
            continue
        signal.handling_state = state
        touched[signal.handling_id] = signal.customer_id
    session.flush()
    for handling_id, customer_id in sorted(touched.items()):
        handling = get(session, handling_id)
        if handling.status != HandlingStatus.OPEN:
            continue
        left = _signals(
            session, handling_id, (*TO_ANSWER, HandlingState.AWAITING_CONFIRMATION), lock=False
        )
        if left:
            message = CHANGED_MESSAGE
        else:
            _close(handling, now)
            message = CLEARED_MESSAGE
        outbox.enqueue_message(
            session, message_name=message, business_key=customer_id, only_if_waiting=True
        )


def lock_handlings_of(session: Session, signal_ids: Collection[int]) -> None:
    """Lock the handlings of these signals (by id) before the signals themselves."""
    if not signal_ids:
        return
    ids = session.scalars(
        select(RiskSignal.handling_id)
        .where(RiskSignal.id.in_(list(signal_ids)), RiskSignal.handling_id.is_not(None))
        .distinct()
    ).all()
    for handling_id in sorted(i for i in ids if i is not None):
        get(session, handling_id)


def _close(handling: SignalHandling, now: datetime) -> None:
    handling.status = HandlingStatus.CLOSED
    handling.closed_at = now


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(seconds=1)


@dataclass(frozen=True)
class TaskView:
    """What the owner's task shows and who it goes to (the process variables prepared)."""

    has_signals_to_answer: bool
    variables: dict[str, Any]


def prepare_task(
    session: Session, handling_id: int, *, now: datetime, process_instance_id: str | None
) -> TaskView:
    """The signals to answer, the owner (the most severe signal's; the customer's account
    manager for ``account_manager``; the escalation level's group once escalated), the due date
    (the earliest response deadline, or the escalation's) and the priority (most severe)."""
    config = rules()
    handling = get(session, handling_id)
    if process_instance_id and handling.process_instance_id != process_instance_id:
        handling.process_instance_id = process_instance_id
    signals = _by_severity(
        [s for s in _signals(session, handling_id, TO_ANSWER) if s.status != SignalStatus.RESOLVED]
    )
    if handling.status != HandlingStatus.OPEN or not signals:
        waiting = _signals(session, handling_id, (HandlingState.AWAITING_CONFIRMATION,), lock=False)
        if handling.status == HandlingStatus.OPEN and not waiting:
            _close(handling, now)
        session.flush()
        return TaskView(False, {"signal_count": 0})
    first = signals[0]
    customer = session.get(Customer, handling.customer_id)
    if handling.escalation_level == 0:
        group = config.owner_groups.get(first.owner_role, config.owner_groups["account_manager"])
        user = (
            customer.account_manager
            if customer is not None and first.owner_role == "account_manager"
            else None
        )
        due = end_of_day(min(s.respond_by for s in signals))
        escalation_label, escalation_note = "", ""
    else:
        level = config.escalation_levels[handling.escalation_level - 1]
        group, user = level.group, None
        due = handling.due_at or now + timedelta(days=level.days)
        escalation_label = f"Escalated (level {handling.escalation_level}) · "
        escalation_note = (
            f"Escalated to {group}: the response deadline of the signals' owner passed."
        )
    session.flush()
    count = len(signals)
    return TaskView(
        True,
        {
            "signal_count": count,
            "signal_count_label": "1 signal" if count == 1 else f"{count} signals",
            "signals_summary": "\n".join(_line(s) for s in signals),
            "signal_options": [{"label": _label(s), "value": str(s.id)} for s in signals],
            "max_severity": first.severity,
            "task_priority": config.priorities[first.severity],
            "owner_group": group,
            "owner_user": user,
            # ISO-8601 text (the task's output is stored as JSON); the engine reads it as a date
            "respond_to_signals_due": due.astimezone(UTC).replace(microsecond=0).isoformat(),
            "escalation_level": handling.escalation_level,
            "confirm_signal_response_due": f"P{config.confirm_due_days}D",
            "escalation_label": escalation_label,
            "escalation_note": escalation_note,
            "customer_name": customer.name if customer else handling.customer_id,
        },
    )


def _label(s: RiskSignal) -> str:
    """A signal's option in the owner's form: ``#12 RED LITIGATION`` (`` · L-1`` for a loan's)."""
    text = f"#{s.id} {s.severity.upper()} {s.code}"
    return f"{text} · {s.loan_id}" if s.loan_id else text


def _line(s: RiskSignal) -> str:
    where = f"loan {s.loan_id}" if s.loan_id else "customer"
    text = (
        f"#{s.id} [{s.severity.upper()}] {s.code} ({where}, respond by {s.respond_by}): {s.summary}"
    )
    if s.handling_state == HandlingState.SENT_BACK:
        text += f"\n    sent back by {s.confirmed_by}: {s.confirmation_comment}"
    return text


@dataclass(frozen=True)
class Answers:
    """The owner's form: signal ids (strings) per kind of response, and one text per kind."""

    presented: list[str]
    actions: list[str]
    action_text: str
    false_positives: list[str]
    false_positive_reason: str
    rectifications: list[str]
    rectification_text: str


def _ids(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values]


def record_responses(
    session: Session,
    handling_id: int,
    answers: Answers,
    *,
    responder: str,
    now: datetime,
    open_rectification: Callable[[RiskSignal, str, str], str],
) -> list[RiskSignal]:
    """Record the owner's answers, every presented signal answered exactly once; raises
    :class:`InvalidResponse` (nothing recorded) otherwise. Answers to confirmed severities wait
    for the officer; the others are final. Returns the signals awaiting confirmation."""
    config = rules()
    get(session, handling_id)
    open_now = {
        str(s.id): s
        for s in _signals(session, handling_id, TO_ANSWER)
        if s.status != SignalStatus.RESOLVED
    }
    presented = set(_ids(answers.presented))
    by_kind = {
        ResponseKind.ACTION: _ids(answers.actions),
        ResponseKind.FALSE_POSITIVE: _ids(answers.false_positives),
        ResponseKind.RECTIFICATION: _ids(answers.rectifications),
    }
    texts = {
        ResponseKind.ACTION: answers.action_text.strip(),
        ResponseKind.FALSE_POSITIVE: answers.false_positive_reason.strip(),
        ResponseKind.RECTIFICATION: answers.rectification_text.strip(),
    }
    problems: list[str] = []
    seen: dict[str, ResponseKind] = {}
    for kind, ids in by_kind.items():
        for signal_id in ids:
            if signal_id not in presented:
                problems.append(f"signal #{signal_id} is not one of this task's signals")
            elif signal_id in seen:
                problems.append(f"signal #{signal_id} has two answers: choose one")
            seen[signal_id] = kind
    # A signal the facts closed meanwhile needs no answer (and any answer to it is ignored).
    missing = sorted((presented & open_now.keys()) - seen.keys(), key=int)
    if missing:
        problems.append(
            "answer every signal: " + ", ".join(f"#{i}" for i in missing) + " not answered"
        )
    if by_kind[ResponseKind.FALSE_POSITIVE] and not texts[ResponseKind.FALSE_POSITIVE]:
        problems.append("a false positive needs a reason")
    if by_kind[ResponseKind.ACTION] and not texts[ResponseKind.ACTION]:
        problems.append("say what action was taken")
    if by_kind[ResponseKind.RECTIFICATION] and not texts[ResponseKind.RECTIFICATION]:
        problems.append("say what must be rectified")
    if problems:
        raise InvalidResponse("; ".join(problems))
    waiting: list[RiskSignal] = []
    for signal_id, kind in sorted(seen.items(), key=lambda item: int(item[0])):
        signal = open_now.get(signal_id)
        if signal is None:
            continue
        signal.response_kind = kind
        signal.response_text = texts[kind]
        signal.responded_by = responder
        signal.responded_at = now
        signal.acknowledged_by = signal.acknowledged_by or responder
        if signal.status == SignalStatus.OPEN:
            signal.status = SignalStatus.ACKNOWLEDGED
        _record(session, signal, "signal.responded", responder, kind=kind, text=texts[kind])
        if config.needs_confirmation(signal.severity):
            signal.handling_state = HandlingState.AWAITING_CONFIRMATION
            waiting.append(signal)
        else:
            _finish(session, signal, actor=responder, open_rectification=open_rectification)
    session.flush()
    return waiting


def _finish(
    session: Session,
    signal: RiskSignal,
    *,
    actor: str,
    open_rectification: Callable[[RiskSignal, str, str], str],
) -> None:
    """The response is final: action and false positive resolve the signal; a rectification
    response opens the rectification, which then tracks the problem (the signal stays live)."""
    signal.handling_state = HandlingState.DONE
    if signal.response_kind == ResponseKind.RECTIFICATION:
        signal.rectification_id = open_rectification(
            signal, signal.responded_by or actor, signal.response_text or ""
        )
        _record(
            session,
            signal,
            "signal.rectification_raised",
            actor,
            rectification_id=signal.rectification_id,
        )
        return
    label = (
        "false positive" if signal.response_kind == ResponseKind.FALSE_POSITIVE else "action taken"
    )
    previous = signal.status
    signal.status = SignalStatus.RESOLVED
    signal.resolution = f"{label}: {signal.response_text}"
    signal.resolved_by = actor
    signal.resolved_at = utcnow()
    _record(
        session,
        signal,
        "signal.resolved",
        actor,
        resolution=signal.resolution,
        **{"from": previous},
    )


def confirmation_summary(session: Session, handling_id: int) -> str:
    signals = _signals(session, handling_id, (HandlingState.AWAITING_CONFIRMATION,), lock=False)
    words = rules().response_labels
    return "\n".join(
        f"{_line(s)}\n"
        f"    {words.get(s.response_kind or '', s.response_kind)} by {s.responded_by}: "
        f"{s.response_text}"
        for s in _by_severity(signals)
    )


def record_confirmation(
    session: Session,
    handling_id: int,
    *,
    approved: bool,
    comment: str,
    confirmer: str,
    now: datetime,
    open_rectification: Callable[[RiskSignal, str, str], str],
) -> list[RiskSignal]:
    """The officer approves the responses awaiting confirmation (they become final) or sends
    them back to the owner with a comment. Returns the signals concerned."""
    get(session, handling_id)
    signals = _signals(session, handling_id, (HandlingState.AWAITING_CONFIRMATION,))
    for signal in signals:
        signal.confirmed_by = confirmer
        signal.confirmed_at = now
        signal.confirmation_comment = comment
        if approved:
            _record(session, signal, "signal.confirmed", confirmer, comment=comment)
            _finish(session, signal, actor=confirmer, open_rectification=open_rectification)
        else:
            signal.handling_state = HandlingState.SENT_BACK
            _record(session, signal, "signal.sent_back", confirmer, comment=comment)
    session.flush()
    return signals


def escalate(session: Session, handling_id: int, *, now: datetime, actor: str) -> SignalHandling:
    """The owner's deadline passed: one level up (capped at the last level), due again after
    that level's days; every signal still to answer is escalated (audit ``signal.escalated``)."""
    config = rules()
    handling = get(session, handling_id)
    previous = handling.escalation_level
    handling.escalation_level = min(previous + 1, len(config.escalation_levels))
    level = config.escalation_levels[handling.escalation_level - 1]
    handling.due_at = now + timedelta(days=level.days)
    for signal in _signals(session, handling_id, TO_ANSWER):
        if signal.status == SignalStatus.RESOLVED:
            continue
        signal.status = SignalStatus.ESCALATED
        signal.escalated_at = now
        _record(
            session,
            signal,
            "signal.escalated",
            actor,
            level=handling.escalation_level,
            from_level=previous,
            to_group=level.group,
            due_at=handling.due_at.isoformat(),
        )
    session.flush()
    return handling


def false_positive_counts(session: Session) -> list[tuple[str, str, int]]:
    """Final false-positive responses per check (source) and code, most first."""
    rows = session.execute(
        select(RiskSignal.source, RiskSignal.code, func.count())
        .where(
            RiskSignal.response_kind == ResponseKind.FALSE_POSITIVE,
            RiskSignal.handling_state == HandlingState.DONE,
        )
        .group_by(RiskSignal.source, RiskSignal.code)
        .order_by(func.count().desc(), RiskSignal.source, RiskSignal.code)
    ).all()
    return [(str(source), str(code), int(count)) for source, code, count in rows]


def history(session: Session, signal_id: int) -> list[audit.AuditEvent]:
    """The signal's audit events, oldest first (raised, joined, responded, confirmed, ...)."""
    rows, _total = audit.search(
        session, object_type=OBJECT_TYPE, object_id=str(signal_id), oldest_first=True, limit=500
    )
    return rows
