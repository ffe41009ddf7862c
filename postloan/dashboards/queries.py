"""What the dashboards show, read with set-based SQL (one grouped query per chart, no per-loan
loop). Domain core: SQLAlchemy only; the pages (api/pages/dashboards.py) put it in words.

Days are calendar days in UTC (stored times are UTC): "at a date" means up to the end of that
day, i.e. before 00:00 UTC of the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from postloan.classification.rules import CLASSES
from postloan.dashboards.settings import dashboard_rules
from postloan.errors import InvalidInput
from postloan.loans.models import ClassificationChange, Loan
from postloan.rectifications.models import (
    Rectification,
    RectificationStatus,
    Restriction,
    RestrictionKind,
)
from postloan.rectifications.service import SEVERITIES
from postloan.signals.catalogue import SEVERITY_ORDER
from postloan.signals.models import RiskSignal

#: The from-class of a loan disbursed after the matrix's first date.
NEW = "new"
RECTIFICATION_SEVERITIES = SEVERITIES  # minor .. critical
RESTRICTION_KINDS = tuple(k.value for k in RestrictionKind)
#: Restrictions still in force (a lift asked for is not a lift).
RESTRICTIONS_IN_FORCE = ("active", "lift_requested")
BUCKETS = ("week", "month")


def start_of(day: date) -> datetime:
    """00:00 UTC of ``day``: the first moment of the day."""
    return datetime.combine(day, time(), UTC)


def end_of(day: date) -> datetime:
    """00:00 UTC of the day after ``day``: everything before it happened on or before ``day``."""
    return start_of(day + timedelta(days=1))


# -- five-category migration ----------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationCell:
    """Loans in ``from_class`` at the first date (or ``new``) and in ``to_class`` at the second."""

    from_class: str
    to_class: str
    currency: str
    loans: int
    amount: Decimal


@dataclass(frozen=True)
class Migration:
    from_day: date
    to_day: date
    cells: tuple[MigrationCell, ...]

    def count(self, from_class: str, to_class: str) -> int:
        return sum(
            c.loans for c in self.cells if (c.from_class, c.to_class) == (from_class, to_class)
        )

    def amounts(self, from_class: str, to_class: str) -> dict[str, Decimal]:
        """The cell's amount per currency."""
        found: dict[str, Decimal] = {}
        for c in self.cells:
            if (c.from_class, c.to_class) == (from_class, to_class):
                found[c.currency] = found.get(c.currency, Decimal(0)) + c.amount
        return found

    @property
    def total(self) -> int:
        return sum(c.loans for c in self.cells)


def _class_at(day: date) -> Any:
    """Each loan's class at the end of ``day``: the ``to_class`` of the last applied change
    at or before it, else the ``from_class`` of the first applied change after it, else the
    loan's current class. A subquery of (loan_id, risk_class)."""
    cutoff = end_of(day)
    change = ClassificationChange
    applied = change.status == "applied"
    before = (
        select(
            change.loan_id,
            change.to_class.label("risk_class"),
            func.row_number()
            .over(partition_by=change.loan_id, order_by=(change.at.desc(), change.id.desc()))
            .label("n"),
        )
        .where(applied, change.at < cutoff)
        .subquery()
    )
    after = (
        select(
            change.loan_id,
            change.from_class.label("risk_class"),
            func.row_number()
            .over(partition_by=change.loan_id, order_by=(change.at.asc(), change.id.asc()))
            .label("n"),
        )
        .where(applied, change.at >= cutoff)
        .subquery()
    )
    return (
        select(
            Loan.id.label("loan_id"),
            func.coalesce(before.c.risk_class, after.c.risk_class, Loan.risk_class).label(
                "risk_class"
            ),
        )
        .outerjoin(before, and_(before.c.loan_id == Loan.id, before.c.n == 1))
        .outerjoin(after, and_(after.c.loan_id == Loan.id, after.c.n == 1))
        .subquery()
    )


def migration(session: Session, from_day: date, to_day: date) -> Migration:
    """The portfolio's five-category migration between two dates: loans (count and amount, per
    currency) moving from class X at ``from_day`` to class Y at ``to_day``. Loans disbursed
    after ``from_day`` come from :data:`NEW`; loans disbursed after ``to_day`` are left out."""
    if from_day > to_day:
        raise InvalidInput(
            f"to ({to_day.isoformat()}) is before from ({from_day.isoformat()})", field="to"
        )
    at_from, at_to = _class_at(from_day), _class_at(to_day)
    from_class = case((Loan.disbursed_on > from_day, literal(NEW)), else_=at_from.c.risk_class)
    # Each loan's pair of classes first, then grouped: an expression with bound parameters is
    # grouped by its name (PostgreSQL does not match an expression repeated in GROUP BY).
    pairs = (
        select(
            from_class.label("from_class"),
            at_to.c.risk_class.label("to_class"),
            Loan.currency.label("currency"),
            Loan.amount.label("amount"),
        )
        .join(at_from, at_from.c.loan_id == Loan.id)
        .join(at_to, at_to.c.loan_id == Loan.id)
        .where(Loan.disbursed_on <= to_day)
        .subquery()
    )
    rows = session.execute(
        select(
            pairs.c.from_class,
            pairs.c.to_class,
            pairs.c.currency,
            func.count(),
            func.coalesce(func.sum(pairs.c.amount), 0),
        ).group_by(pairs.c.from_class, pairs.c.to_class, pairs.c.currency)
    ).all()
    cells = sorted(
        (MigrationCell(f, t, cur, int(n), Decimal(str(amount))) for f, t, cur, n, amount in rows),
        key=lambda c: (_class_order(c.from_class), _class_order(c.to_class), c.currency),
    )
    return Migration(from_day, to_day, tuple(cells))


def _class_order(risk_class: str) -> int:
    return CLASSES.index(risk_class) if risk_class in CLASSES else len(CLASSES) + 1


# -- signals over time ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalBucket:
    """Signals raised in [``starts_on``, ``ends_on``] (both days inclusive) by severity."""

    starts_on: date
    ends_on: date
    by_severity: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


@dataclass(frozen=True)
class SignalsOverTime:
    from_day: date
    to_day: date
    bucket: str
    buckets: tuple[SignalBucket, ...]

    @property
    def total(self) -> int:
        return sum(b.total for b in self.buckets)


def _bucket_starts(from_day: date, to_day: date, bucket: str) -> list[date]:
    """The first day of every week (Monday) or month touching [from_day, to_day]."""
    if bucket == "week":
        first = from_day - timedelta(days=from_day.weekday())
    else:
        first = from_day.replace(day=1)
    starts = []
    current = first
    while current <= to_day:
        starts.append(current)
        if bucket == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


def signals_over_time(
    session: Session, from_day: date, to_day: date, bucket: str = "week"
) -> SignalsOverTime:
    """Early-warning signals raised between two days (inclusive), counted per week or month and
    severity; a bucket cut by the range counts only the days inside it."""
    if bucket not in BUCKETS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}", field="bucket")
    if from_day > to_day:
        raise InvalidInput(
            f"to ({to_day.isoformat()}) is before from ({from_day.isoformat()})", field="to"
        )
    starts = _bucket_starts(from_day, to_day, bucket)
    limit = dashboard_rules().max_signal_buckets
    if len(starts) > limit:
        raise InvalidInput(
            f"from {from_day.isoformat()} to {to_day.isoformat()} is {len(starts)} {bucket}s; "
            f"at most {limit} are drawn (config/dashboards.yaml max_signal_buckets)",
            field="from",
        )
    ends = [*(s - timedelta(days=1) for s in starts[1:]), to_day]
    index = case(
        *((RiskSignal.created_at < end_of(end), i) for i, end in enumerate(ends)),
        else_=len(ends),
    )
    raised = (
        select(index.label("bucket"), RiskSignal.severity.label("severity"))
        .where(RiskSignal.created_at >= start_of(from_day), RiskSignal.created_at < end_of(to_day))
        .subquery()
    )
    rows = session.execute(
        select(raised.c.bucket, raised.c.severity, func.count()).group_by(
            raised.c.bucket, raised.c.severity
        )
    ).all()
    counts: dict[tuple[int, str], int] = {(int(i), sev): int(n) for i, sev, n in rows}
    severities = [s for s in reversed(SEVERITY_ORDER)]  # red first
    buckets = tuple(
        SignalBucket(
            max(start, from_day), end, {sev: counts.get((i, sev), 0) for sev in severities}
        )
        for i, (start, end) in enumerate(zip(starts, ends, strict=True))
    )
    return SignalsOverTime(from_day, to_day, bucket, buckets)


# -- open rectifications and restrictions by age --------------------------------------------------


@dataclass(frozen=True)
class AgeRow:
    """Items of one age bucket by severity (rectifications) or kind (restrictions)."""

    label: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Ages:
    today: date
    rectifications: tuple[AgeRow, ...]
    restrictions: tuple[AgeRow, ...]
    overdue_rectifications: int

    @property
    def open_rectifications(self) -> int:
        return sum(r.total for r in self.rectifications)

    @property
    def restrictions_in_force(self) -> int:
        return sum(r.total for r in self.restrictions)


def _age_bucket(column: Any, today: date) -> Any:
    """The index of the age bucket of a moment ``column`` (days from its day to ``today``)."""
    bounds = [b.up_to_days for b in dashboard_rules().age_buckets if b.up_to_days is not None]
    return case(
        *((column >= start_of(today - timedelta(days=days)), i) for i, days in enumerate(bounds)),
        else_=len(bounds),
    )


def _by_age(
    session: Session, when: Any, key: Any, where: Sequence[Any], keys: Sequence[str], today: date
) -> tuple[AgeRow, ...]:
    bucket = _age_bucket(when, today)
    items = select(bucket.label("bucket"), key.label("key")).where(*where).subquery()
    rows = session.execute(
        select(items.c.bucket, items.c.key, func.count()).group_by(items.c.bucket, items.c.key)
    ).all()
    counts = {(int(i), k): int(n) for i, k, n in rows}
    return tuple(
        AgeRow(b.label, {k: counts.get((i, k), 0) for k in keys})
        for i, b in enumerate(dashboard_rules().age_buckets)
    )


def ages(session: Session, today: date) -> Ages:
    """Open rectifications (not closed) by days since raised and severity; restrictions in
    force (active or lift asked for) by days since they took effect and kind."""
    still_open = Rectification.status != RectificationStatus.CLOSED.value
    rectifications = _by_age(
        session,
        Rectification.created_at,
        Rectification.severity,
        [still_open],
        RECTIFICATION_SEVERITIES,
        today,
    )
    restrictions = _by_age(
        session,
        Restriction.started_at,
        Restriction.kind,
        [Restriction.status.in_(RESTRICTIONS_IN_FORCE)],
        RESTRICTION_KINDS,
        today,
    )
    overdue = session.scalar(
        select(func.count(Rectification.id)).where(still_open, Rectification.deadline < today)
    )
    return Ages(today, rectifications, restrictions, int(overdue or 0))
