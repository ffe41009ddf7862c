"""Delinquency buckets: which bucket a loan is in, and the history of its moves between them.

The bucket bounds live in ``config/buckets.yaml``. ``bucket_for`` is pure; ``update_bucket`` runs
after every recorded repayment; ``refresh_portfolio`` does the same for a whole portfolio in a few
SQL statements (after a bulk import), so both paths give the same buckets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from postloan.errors import NotFound
from postloan.loans.arrears import arrears_as_of
from postloan.loans.models import DelinquencyBucketChange, Loan, Repayment

log = logging.getLogger("postloan.buckets")

BUCKETS_FILE = Path(__file__).resolve().parents[2] / "config" / "buckets.yaml"


class BucketConfigError(ValueError):
    """``config/buckets.yaml`` is inconsistent; the message names the entry."""


@dataclass(frozen=True)
class Bucket:
    name: str
    max_days: int | None  # None: no upper bound (the last bucket)


def parse_buckets(spec: dict) -> tuple[Bucket, ...]:
    """Check and read a bucket table: ascending bounds, first ends at 0, only the last open."""
    entries = spec.get("buckets") if isinstance(spec, dict) else None
    if not entries:
        raise BucketConfigError("buckets: at least one bucket is needed")
    buckets: list[Bucket] = []
    for i, entry in enumerate(entries):
        name, max_days = str(entry.get("name", "")), entry.get("max_days")
        if not name or len(name) > 10:
            raise BucketConfigError(f"buckets[{i}]: name must have 1 to 10 characters")
        last = i == len(entries) - 1
        if max_days is None and not last:
            raise BucketConfigError(f"buckets[{i}] ({name}): only the last bucket is open-ended")
        if max_days is not None:
            if not isinstance(max_days, int) or max_days < 0:
                raise BucketConfigError(f"buckets[{i}] ({name}): max_days must be >= 0")
            if buckets and buckets[-1].max_days is not None and max_days <= buckets[-1].max_days:
                raise BucketConfigError(f"buckets[{i}] ({name}): max_days must be ascending")
        buckets.append(Bucket(name, max_days))
    if buckets[0].max_days != 0:
        raise BucketConfigError(f"buckets[0] ({buckets[0].name}): must end at 0 days (current)")
    if buckets[-1].max_days is not None:
        raise BucketConfigError(f"buckets[-1] ({buckets[-1].name}): the last must be open-ended")
    return tuple(buckets)


@lru_cache(maxsize=4)
def load_buckets(path: Path = BUCKETS_FILE) -> tuple[Bucket, ...]:
    return parse_buckets(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def bucket_for(days_past_due: int, buckets: Sequence[Bucket] | None = None) -> str:
    """The bucket holding ``days_past_due`` (pure; bounds from the config unless given)."""
    for bucket in buckets or load_buckets():
        if bucket.max_days is None or days_past_due <= bucket.max_days:
            return bucket.name
    raise AssertionError("the last bucket is open-ended")  # parse_buckets guarantees it


def update_bucket(
    session: Session, loan: Loan, as_of: date, schedule: Iterable[Repayment] | None = None
) -> DelinquencyBucketChange | None:
    """Recompute the loan's days past due on ``as_of``; record a move when the bucket changed.

    ``schedule``: the loan's current repayment rows when the caller has them (else read)."""
    if schedule is None:
        schedule = session.scalars(select(Repayment).where(Repayment.loan_id == loan.id))
    days = arrears_as_of(schedule, as_of).days_past_due
    to_bucket = bucket_for(days)
    from_bucket = loan.delinquency_bucket or "current"
    if to_bucket == from_bucket:
        return None
    change = DelinquencyBucketChange(
        loan_id=loan.id,
        changed_on=as_of,
        from_bucket=from_bucket,
        to_bucket=to_bucket,
        days_past_due=days,
    )
    loan.delinquency_bucket = to_bucket
    session.add(change)
    log.info(
        "loan %s moved from bucket %s to %s (%d days past due)",
        loan.id,
        from_bucket,
        to_bucket,
        days,
    )
    session.flush()
    return change


def history(session: Session, loan_id: str) -> tuple[Loan, list[DelinquencyBucketChange]]:
    """The loan and its bucket moves, oldest first."""
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    changes = session.scalars(
        select(DelinquencyBucketChange)
        .where(DelinquencyBucketChange.loan_id == loan_id)
        .order_by(DelinquencyBucketChange.recorded_at, DelinquencyBucketChange.id)
    ).all()
    return loan, list(changes)


def refresh_portfolio(session: Session, as_of: date, *, batch: int = 5000) -> int:
    """Recompute every loan's bucket on ``as_of`` with set-based SQL; returns the moves recorded.

    Same rule as ``arrears_as_of``: days past due count from the oldest instalment due before
    ``as_of`` that was not fully paid by then. Streams the loans, so memory stays bounded.
    """
    oldest = (
        select(Repayment.loan_id, func.min(Repayment.due_on).label("oldest"))
        .where(
            Repayment.due_on < as_of,
            or_(
                Repayment.paid_on.is_(None),
                Repayment.paid_on > as_of,
                Repayment.paid_amount < Repayment.due_amount,
            ),
        )
        .group_by(Repayment.loan_id)
        .subquery()
    )
    rows = session.execute(
        select(Loan.id, Loan.delinquency_bucket, oldest.c.oldest)
        .outerjoin(oldest, and_(oldest.c.loan_id == Loan.id))
        .where(or_(oldest.c.oldest.is_not(None), Loan.delinquency_bucket != "current"))
        .execution_options(yield_per=batch)
    )
    # Only delinquent loans (or loans leaving delinquency) come back: the list stays small.
    changes = [change for chunk in rows.partitions() for change in _moves(chunk, as_of)]
    table = Loan.__table__
    connection = session.connection()
    for start in range(0, len(changes), batch):
        part = changes[start : start + batch]
        connection.execute(insert(DelinquencyBucketChange.__table__), part)
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("b_loan_id"))
            .values(delinquency_bucket=bindparam("b_to_bucket")),
            [{"b_loan_id": c["loan_id"], "b_to_bucket": c["to_bucket"]} for c in part],
        )
    log.info("bucket refresh on %s: %d loans moved", as_of, len(changes))
    return len(changes)


def _moves(rows: Iterable, as_of: date) -> Iterable[dict]:
    for loan_id, current, oldest in rows:
        if isinstance(oldest, str):  # SQLite returns MIN() over dates as text
            oldest = date.fromisoformat(oldest)
        days = (as_of - oldest).days if oldest is not None else 0
        bucket = bucket_for(days)
        if bucket != (current or "current"):
            yield {
                "loan_id": loan_id,
                "changed_on": as_of,
                "from_bucket": current or "current",
                "to_bucket": bucket,
                "days_past_due": days,
            }
