"""Risk signals: raised from findings, deduplicated while live, acknowledged, resolved and
escalated past their response deadline."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postloan import audit
from postloan.db import utcnow
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.signals import handling
from postloan.signals.catalogue import EarlyWarningCatalogue
from postloan.signals.models import RiskSignal, SignalStatus

LIVE = (SignalStatus.OPEN, SignalStatus.ACKNOWLEDGED, SignalStatus.ESCALATED)


def dedupe_key(code: str, customer_id: str, loan_id: str | None) -> str:
    return f"{code}:{customer_id}:{loan_id or '-'}"


def _live(session: Session, key: str) -> RiskSignal | None:
    return session.scalars(
        select(RiskSignal).where(
            RiskSignal.dedupe_key == key, RiskSignal.status != SignalStatus.RESOLVED
        )
    ).one_or_none()


def raise_signal(
    session: Session,
    *,
    code: str,
    customer_id: str,
    loan_id: str | None,
    summary: str,
    evidence: dict[str, Any],
    source: str,
    catalogue: EarlyWarningCatalogue,
    now: datetime,
    actor: str = "worker",
) -> tuple[RiskSignal, bool]:
    """Raise a signal, or count another occurrence of the live one with the same key.

    Returns the signal and whether it was newly created. Severity, owner and response deadline
    come from the catalogue; an unknown code is refused.
    """
    entry = catalogue.lookup(code)
    if entry is None:
        raise InvalidInput(f"{code!r} is not in the early-warning catalogue", field="code")
    key = dedupe_key(code, customer_id, loan_id)
    for _attempt in range(2):
        existing = _live(session, key)
        if existing is not None:
            existing.occurrences += 1
            existing.last_seen_at = now
            existing.summary = summary
            existing.evidence = evidence
            session.flush()
            return existing, False
        signal = RiskSignal(
            code=code,
            customer_id=customer_id,
            loan_id=loan_id,
            severity=entry.severity,
            owner_role=entry.owner_role,
            status=SignalStatus.OPEN,
            summary=summary,
            source=source,
            evidence=evidence,
            dedupe_key=key,
            respond_by=now.date() + timedelta(days=entry.response_days),
            occurrences=1,
            last_seen_at=now,
        )
        try:
            # A savepoint: a concurrent transaction may have raised the same signal meanwhile
            # (the partial unique index refuses the second live row); then count an occurrence.
            with session.begin_nested():
                session.add(signal)
                session.flush()
        except IntegrityError:
            continue
        audit.record(
            session,
            actor=actor,
            action="signal.raised",
            object_type="risk_signal",
            object_id=str(signal.id),
            detail={
                "code": code,
                "severity": entry.severity,
                "customer_id": customer_id,
                "loan_id": loan_id,
                "source": source,
                "respond_by": signal.respond_by.isoformat(),
            },
        )
        # At or above the configured severity it becomes work: the customer's one task.
        handling.take_up(session, signal, now=now, actor=actor)
        return signal, True
    raise Conflict(f"signal {key} could not be raised: concurrent updates")


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive (stored in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def raise_for_finding(
    session: Session,
    *,
    counted_signal_id: int | None,
    found_at: datetime,
    code: str,
    customer_id: str,
    loan_id: str | None,
    summary: str,
    evidence: dict[str, Any],
    source: str,
    catalogue: EarlyWarningCatalogue,
    now: datetime,
    actor: str = "worker",
) -> RiskSignal | None:
    """Raise the signal of one recorded finding, or count its occurrence, once.

    ``counted_signal_id`` is the signal this finding already stands for: while that signal is
    live, the finding's occurrence is counted and nothing changes (the step that turns findings
    into signals may run again: an engine restarted after a crash hands it out anew). A finding
    recorded before the latest resolution of its signal (``found_at``) was cleared since by newer
    facts (a payment, a verified use of funds) and raises nothing. Returns the signal the finding
    stands for, or None when it was cleared.
    """
    key = dedupe_key(code, customer_id, loan_id)
    if counted_signal_id is not None:
        earlier = session.get(RiskSignal, counted_signal_id)
        if earlier is not None and earlier.dedupe_key == key and earlier.status in LIVE:
            return earlier
    cleared_at = session.scalar(
        select(func.max(RiskSignal.resolved_at)).where(
            RiskSignal.dedupe_key == key, RiskSignal.status == SignalStatus.RESOLVED
        )
    )
    if cleared_at is not None and _aware(cleared_at) >= _aware(found_at):
        return None
    signal, _new = raise_signal(
        session,
        code=code,
        customer_id=customer_id,
        loan_id=loan_id,
        summary=summary,
        evidence=evidence,
        source=source,
        catalogue=catalogue,
        now=now,
        actor=actor,
    )
    return signal


def get(session: Session, signal_id: int) -> RiskSignal:
    signal = session.get(RiskSignal, signal_id)
    if signal is None:
        raise NotFound(f"signal {signal_id} does not exist")
    return signal


def acknowledge(
    session: Session, signal_id: int, *, actor: str, comment: str | None = None
) -> RiskSignal:
    """The owner has seen it. An escalated signal stays escalated, but records who took it."""
    signal = get(session, signal_id)
    if signal.status == SignalStatus.RESOLVED:
        raise Conflict(f"signal {signal_id} is already resolved")
    signal.acknowledged_by = actor
    if signal.status == SignalStatus.OPEN:
        signal.status = SignalStatus.ACKNOWLEDGED
    audit.record(
        session,
        actor=actor,
        action="signal.acknowledged",
        object_type="risk_signal",
        object_id=str(signal.id),
        detail={"comment": comment, "status": signal.status},
    )
    session.flush()
    return signal


def _mark_resolved(signal: RiskSignal, resolution: str, actor: str) -> str:
    """The signal resolved, by whom and how; returns the status it had."""
    previous = signal.status
    signal.status = SignalStatus.RESOLVED
    signal.resolution = resolution
    signal.resolved_by = actor
    signal.resolved_at = utcnow()
    return previous


def resolve(session: Session, signal_id: int, *, resolution: str, actor: str) -> RiskSignal:
    handling.lock_handlings_of(session, [signal_id])  # the handling before the signal
    signal = get(session, signal_id)
    if signal.status == SignalStatus.RESOLVED:
        raise Conflict(f"signal {signal_id} is already resolved")
    if not resolution.strip():
        raise InvalidInput("say how the signal was resolved", field="resolution")
    previous = _mark_resolved(signal, resolution.strip(), actor)
    audit.record(
        session,
        actor=actor,
        action="signal.resolved",
        object_type="risk_signal",
        object_id=str(signal.id),
        detail={"resolution": signal.resolution, "from": previous},
    )
    session.flush()
    # Resolved outside its task: the task item goes (the task when it was the last one).
    handling.leave_cleared(
        session, [signal], now=utcnow(), actor=actor, state=handling.HandlingState.DONE
    )
    return signal


def close_cleared(
    session: Session,
    *,
    codes: Collection[str],
    customer_id: str,
    loan_id: str | None,
    evidence: dict[str, Any],
    now: datetime,
    actor: str = "worker",
) -> list[RiskSignal]:
    """Live signals of ``codes`` for this customer (and loan, or customer-level when ``loan_id``
    is None) that the facts no longer show are resolved, with the facts that cleared them.

    Called where a check ran and found nothing for those codes (a repayment posted that clears
    the arrears, an inspection that verified the use of funds). Returns the signals closed.
    """
    if not codes:
        return []
    query = select(RiskSignal).where(
        RiskSignal.code.in_(list(codes)),
        RiskSignal.customer_id == customer_id,
        RiskSignal.loan_id == loan_id if loan_id is not None else RiskSignal.loan_id.is_(None),
        RiskSignal.status != SignalStatus.RESOLVED,
    )
    # Their handlings are locked first (the lock order of postloan.signals.handling).
    handling.lock_handlings_of(
        session, session.scalars(query.with_only_columns(RiskSignal.id)).all()
    )
    closed = list(session.scalars(query.order_by(RiskSignal.id).with_for_update()))
    for signal in closed:
        previous = _mark_resolved(signal, "cleared by the facts", actor)
        signal.evidence = {**(signal.evidence or {}), "cleared_by": evidence}
        audit.record(
            session,
            actor=actor,
            action="signal.closed",
            object_type="risk_signal",
            object_id=str(signal.id),
            detail={
                "from": previous,
                "code": signal.code,
                "evidence": evidence,
                "at": now.isoformat(),
            },
        )
    session.flush()
    # Their open task items go with them (the task itself when nothing is left to answer).
    handling.leave_cleared(session, closed, now=now, actor=actor)
    return closed


def escalate_overdue(
    session: Session, today: date, *, now: datetime | None = None, actor: str = "worker"
) -> list[RiskSignal]:
    """Open or acknowledged signals whose response deadline has passed become escalated."""
    overdue = list(
        session.scalars(
            select(RiskSignal)
            .where(
                RiskSignal.status.in_([SignalStatus.OPEN, SignalStatus.ACKNOWLEDGED]),
                RiskSignal.respond_by < today,
            )
            .order_by(RiskSignal.id)
            .with_for_update(skip_locked=True)
        )
    )
    at = now or datetime.now().astimezone()
    for signal in overdue:
        previous = signal.status
        signal.status = SignalStatus.ESCALATED
        signal.escalated_at = at
        audit.record(
            session,
            actor=actor,
            action="signal.escalated",
            object_type="risk_signal",
            object_id=str(signal.id),
            detail={
                "from": previous,
                "respond_by": signal.respond_by.isoformat(),
                "owner_role": signal.owner_role,
                "severity": signal.severity,
            },
        )
    session.flush()
    return overdue


def search(
    session: Session,
    *,
    customer_id: str | None = None,
    loan_id: str | None = None,
    status: str | None = None,
    severity: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RiskSignal], int]:
    """Signals, newest first, with the total matching the filter."""
    query = select(RiskSignal)
    if customer_id:
        query = query.where(RiskSignal.customer_id == customer_id)
    if loan_id:
        query = query.where(RiskSignal.loan_id == loan_id)
    if status:
        query = query.where(RiskSignal.status == status)
    if severity:
        query = query.where(RiskSignal.severity == severity)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(RiskSignal.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total
