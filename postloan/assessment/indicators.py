"""The indicators of a period, computed from the database, for every subject at every level.

Set-based: one query per group of indicators, streamed (``yield_per``) and tallied in one pass —
never a query per loan — so a quarter of a 100,000-loan portfolio takes seconds (see
``benchmarks/assessment_quarter.py``). Everything comes from the project database (the engine's
history is not needed: every fact the indicators use is recorded here).

Who answers for what (the subject at each level):

* account_manager — the inspector of an inspection (the customer's account manager while nobody
  performed it); the customer's account manager for signals owned by the account-manager role,
  loans turning overdue, rectifications, technical overdues and approval ratings;
* postloan_officer — the reviewer of an inspection; the responder of signals owned by the
  post-loan-officer role;
* vendor — the vendor an outsourced inspection was assigned to; the vendor's quality score;
* branch — the customer's branch, for everything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan.assessment.config import AssessmentConfig
from postloan.assessment.periods import Period
from postloan.assessment.scorecard import Measure
from postloan.credit.models import CreditApplication
from postloan.customers.models import Customer
from postloan.inspections import onsite
from postloan.inspections.models import Inspection, InspectionFinding, InspectionStatus
from postloan.loans import technical_overdue
from postloan.loans.models import DelinquencyBucketChange, Loan, Repayment
from postloan.rectifications.models import Rectification
from postloan.signals.models import RiskSignal
from postloan.vendors.models import Vendor, VisitAssignment

AM, OFFICER, VENDOR, BRANCH = "account_manager", "postloan_officer", "vendor", "branch"
STREAM = 5_000

Subjects = dict[str, str | None]


@dataclass
class _Tally:
    kind: str = "rate"
    numerator: int = 0
    denominator: int = 0
    total: float = 0.0


@dataclass
class Indicators:
    """level -> subject id -> indicator key -> measure (only what has data)."""

    tallies: dict[str, dict[str, dict[str, _Tally]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )

    def count(self, subjects: Subjects, key: str, hit: bool) -> None:
        for level, subject in subjects.items():
            if subject:
                t = self.tallies[level][subject].setdefault(key, _Tally())
                t.denominator += 1
                t.numerator += int(hit)

    def add(self, subjects: Subjects, key: str, value: float) -> None:
        for level, subject in subjects.items():
            if subject:
                t = self.tallies[level][subject].setdefault(key, _Tally(kind="mean"))
                t.denominator += 1
                t.total += value

    def level(self, level: str) -> dict[str, dict[str, Measure]]:
        return {
            subject: {
                k: Measure(t.kind, t.numerator, t.denominator, t.total) for k, t in by_key.items()
            }
            for subject, by_key in self.tallies.get(level, {}).items()
        }


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: the project stores UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _day(value: datetime) -> date:
    aware = _aware(value)
    assert aware is not None
    return aware.astimezone(UTC).date()


def _stream(session: Session, query: Any) -> Iterator[Any]:
    """The rows of ``query`` in batches (a server-side cursor where the driver has one)."""
    yield from session.execute(query.execution_options(yield_per=STREAM))


def compute(
    session: Session, period: Period, *, today: date, config: AssessmentConfig
) -> Indicators:
    """Every indicator of the period for every subject at every level."""
    result = Indicators()
    cutoff = period.cutoff(today)
    if cutoff < period.start:
        _vendor_quality(session, result)
        return result
    boundary = period.ends_before(cutoff)
    _inspections(session, period, cutoff, boundary, result)
    _rework(session, period, boundary, result)
    _early_signals(session, period, cutoff, config.early_signal_lookback_days, result)
    _signal_responses(session, period, cutoff, boundary, result)
    _rectifications(session, period, cutoff, boundary, result)
    _technical_overdues(session, period, cutoff, result)
    _approval_quality(session, period, boundary, config, result)
    _onsite(session, period, boundary, result)
    _vendor_quality(session, result)
    return result


def _inspection_query(*columns: Any) -> Any:
    return (
        select(
            *columns,
            Inspection.inspector,
            Inspection.reviewer,
            Customer.account_manager,
            Customer.branch,
            VisitAssignment.vendor_id,
        )
        .join(Loan, Loan.id == Inspection.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .outerjoin(VisitAssignment, VisitAssignment.inspection_id == Inspection.id)
    )


def _inspection_subjects(
    inspector: str | None, reviewer: str | None, manager: str, branch: str, vendor: str | None
) -> Subjects:
    return {AM: inspector or manager, OFFICER: reviewer, VENDOR: vendor, BRANCH: branch}


def _inspections(
    session: Session, period: Period, cutoff: date, boundary: datetime, out: Indicators
) -> None:
    """Inspections due in the period: on time, late, missing (not done by the period's end)."""
    query = _inspection_query(Inspection.due_on, Inspection.completed_at).where(
        Inspection.due_on >= period.start,
        Inspection.due_on <= cutoff,
        Inspection.status != InspectionStatus.CANCELLED,
    )
    for due_on, completed_at, inspector, reviewer, manager, branch, vendor in _stream(
        session, query
    ):
        subjects = _inspection_subjects(inspector, reviewer, manager, branch, vendor)
        done = _aware(completed_at)
        done_in_time = done is not None and done < boundary
        on_time = done_in_time and _day(done) <= due_on  # type: ignore[arg-type]
        out.count(subjects, "inspections_on_time", on_time)
        out.count(subjects, "inspections_late", done_in_time and not on_time)
        out.count(subjects, "inspections_missing", not done_in_time)


def _rework(session: Session, period: Period, boundary: datetime, out: Indicators) -> None:
    """Inspections completed in the period: the share returned for rework at least once."""
    query = _inspection_query(Inspection.rework_count).where(
        Inspection.status == InspectionStatus.COMPLETED,
        Inspection.completed_at >= period.starts_at,
        Inspection.completed_at < boundary,
    )
    for rework_count, inspector, reviewer, manager, branch, vendor in _stream(session, query):
        subjects = _inspection_subjects(inspector, reviewer, manager, branch, vendor)
        out.count(subjects, "rework_rate", (rework_count or 0) > 0)


def _early_signals(
    session: Session, period: Period, cutoff: date, lookback: int, out: Indicators
) -> None:
    """Loans that turned overdue in the period (left the ``current`` bucket): was a signal of
    the loan or its customer raised before the first overdue day, and how many days before?"""
    first_overdue: dict[str, tuple[date, str, str, str]] = {}
    changes = (
        select(
            DelinquencyBucketChange.loan_id,
            DelinquencyBucketChange.changed_on,
            DelinquencyBucketChange.days_past_due,
            Loan.customer_id,
            Customer.account_manager,
            Customer.branch,
        )
        .join(Loan, Loan.id == DelinquencyBucketChange.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(
            DelinquencyBucketChange.from_bucket == "current",
            DelinquencyBucketChange.changed_on >= period.start,
            DelinquencyBucketChange.changed_on <= cutoff,
        )
    )
    for loan_id, changed_on, dpd, customer_id, manager, branch in _stream(session, changes):
        # The bucket change is recorded when it is seen; the loan was overdue from this day.
        day = changed_on - timedelta(days=max((dpd or 1) - 1, 0))
        if loan_id not in first_overdue or day < first_overdue[loan_id][0]:
            first_overdue[loan_id] = (day, customer_id, manager, branch)
    if not first_overdue:
        return
    earliest = min(v[0] for v in first_overdue.values()) - timedelta(days=lookback)
    by_loan: dict[str, list[date]] = defaultdict(list)
    by_customer: dict[str, list[date]] = defaultdict(list)
    customers = {v[1] for v in first_overdue.values()}
    signals = select(RiskSignal.loan_id, RiskSignal.customer_id, RiskSignal.created_at).where(
        RiskSignal.created_at >= datetime.combine(earliest, datetime.min.time(), tzinfo=UTC),
        RiskSignal.created_at < period.ends_before(cutoff),
    )
    for loan_id, customer_id, created_at in _stream(session, signals):
        if loan_id is not None:
            if loan_id in first_overdue:
                by_loan[loan_id].append(_day(created_at))
        elif customer_id in customers:
            by_customer[customer_id].append(_day(created_at))
    for loan_id, (day, customer_id, manager, branch) in first_overdue.items():
        before = [
            d
            for d in by_loan.get(loan_id, []) + by_customer.get(customer_id, [])
            if day - timedelta(days=lookback) <= d < day
        ]
        subjects: Subjects = {AM: manager, BRANCH: branch}
        out.count(subjects, "signals_caught_early", bool(before))
        if before:
            out.add(subjects, "signal_lead_time_days", float((day - min(before)).days))


def _signal_responses(
    session: Session, period: Period, cutoff: date, boundary: datetime, out: Indicators
) -> None:
    """Signals whose response was due in the period: answered by the deadline?"""
    query = (
        select(
            RiskSignal.respond_by,
            RiskSignal.responded_at,
            RiskSignal.responded_by,
            RiskSignal.owner_role,
            Customer.account_manager,
            Customer.branch,
        )
        .join(Customer, Customer.id == RiskSignal.customer_id)
        .where(RiskSignal.respond_by >= period.start, RiskSignal.respond_by <= cutoff)
    )
    for respond_by, responded_at, responder, owner_role, manager, branch in _stream(session, query):
        at = _aware(responded_at)
        on_time = at is not None and at < boundary and _day(at) <= respond_by
        subjects: Subjects = {
            AM: manager if owner_role == AM else None,
            OFFICER: responder if owner_role == OFFICER else None,
            BRANCH: branch,
        }
        out.count(subjects, "signals_responded_on_time", on_time)


def _rectifications(
    session: Session, period: Period, cutoff: date, boundary: datetime, out: Indicators
) -> None:
    """Rectifications whose deadline fell in the period: closed by it?"""
    query = (
        select(Rectification.deadline, Rectification.closed_at, Customer.account_manager)
        .add_columns(Customer.branch)
        .join(Customer, Customer.id == Rectification.customer_id)
        .where(Rectification.deadline >= period.start, Rectification.deadline <= cutoff)
    )
    for deadline, closed_at, manager, branch in _stream(session, query):
        at = _aware(closed_at)
        on_time = at is not None and at < boundary and _day(at) <= deadline
        out.count({AM: manager, BRANCH: branch}, "rectifications_on_time", on_time)


@dataclass(frozen=True)
class _Instalment:
    due_on: date
    due_amount: Decimal
    paid_on: date | None
    paid_amount: Decimal


def _technical_overdues(session: Session, period: Period, cutoff: date, out: Indicators) -> None:
    """Instalments due in the period: the share paid in full 1..N days late (issue 11's rule,
    ``technical_overdue.days_late``). Counted in SQL; only instalments paid after their due
    date — the few that can count — are read to apply the rule."""
    limit = technical_overdue.rule().max_days_late
    due = (
        Repayment.due_on >= period.start,
        Repayment.due_on <= cutoff,
    )
    grouped = (
        select(Customer.account_manager, Customer.branch, func.count())
        .select_from(Repayment)
        .join(Loan, Loan.id == Repayment.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(*due)
        .group_by(Customer.account_manager, Customer.branch)
    )
    late: dict[tuple[str, str], int] = defaultdict(int)
    late_paid = (
        select(
            Customer.account_manager,
            Customer.branch,
            Repayment.due_on,
            Repayment.due_amount,
            Repayment.paid_on,
            Repayment.paid_amount,
        )
        .join(Loan, Loan.id == Repayment.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(*due, Repayment.paid_on.is_not(None), Repayment.paid_on > Repayment.due_on)
    )
    for manager, branch, due_on, due_amount, paid_on, paid_amount in _stream(session, late_paid):
        item = _Instalment(due_on, due_amount, paid_on, paid_amount)
        if technical_overdue.days_late(item, limit) is not None:
            late[(manager, branch)] += 1
    for manager, branch, total in session.execute(grouped):
        hits = late.get((manager, branch), 0)
        for level, subject in ((AM, manager), (BRANCH, branch)):
            t = out.tallies[level][subject].setdefault("technical_overdue_rate", _Tally())
            t.denominator += int(total)
            t.numerator += hits


def _approval_quality(
    session: Session, period: Period, boundary: datetime, config: AssessmentConfig, out: Indicators
) -> None:
    """Credit applications decided in the period: the approver's rating of the post-loan work."""
    values = config.approval_rating_values
    query = (
        select(CreditApplication.quality_rating, Customer.account_manager, Customer.branch)
        .join(Customer, Customer.id == CreditApplication.customer_id)
        .where(
            CreditApplication.quality_rating.is_not(None),
            CreditApplication.decided_at >= period.starts_at,
            CreditApplication.decided_at < boundary,
        )
    )
    for rating, manager, branch in _stream(session, query):
        if rating in values:
            out.add({AM: manager, BRANCH: branch}, "approval_quality", values[rating])


def _onsite(session: Session, period: Period, boundary: datetime, out: Indicators) -> None:
    """Unannounced on-site verifications recorded in the period: did they contradict?"""
    query = (
        _inspection_query(InspectionFinding.evidence)
        .join(InspectionFinding, InspectionFinding.inspection_id == Inspection.id)
        .where(
            InspectionFinding.source == onsite.SOURCE,
            InspectionFinding.code == onsite.CODE,
            InspectionFinding.created_at >= period.starts_at,
            InspectionFinding.created_at < boundary,
        )
    )
    for evidence, inspector, _reviewer, manager, branch, vendor in _stream(session, query):
        contradicted = (evidence or {}).get("result") == "discrepancies"
        # The verifier is the officer; what is assessed is the inspector's (or vendor's) work.
        subjects: Subjects = {AM: inspector or manager, VENDOR: vendor, BRANCH: branch}
        out.count(subjects, "onsite_contradicted_rate", contradicted)


def _vendor_quality(session: Session, out: Indicators) -> None:
    """Every vendor's quality score as it stands (postloan/vendors/quality.py keeps it)."""
    for vendor_id, score in session.execute(select(Vendor.id, Vendor.quality_score)):
        out.add({VENDOR: vendor_id}, "vendor_quality_score", float(score))
