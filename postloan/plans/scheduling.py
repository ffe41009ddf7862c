"""Which due inspections the scheduler starts, for whom and dated when: capacity and spread.

Rules are in ``config/scheduling.yaml`` (the adapter passes the file named by the settings):

- a person (the account manager of the loan's customer, the assignee of the perform task) never
  gets more open inspections from the scheduler than ``max_open_per_person``, counting what is
  open already whoever started it, nor more than ``max_new_per_person_per_day`` new first or
  routine inspections a day; the rest waits for later runs, most overdue first;
- a loan whose first-inspection deadline had passed before it was registered here (imported
  history) gets one *catch-up* inspection (kind routine, the plan's template and mode), due
  ``lead_days`` after it starts at the earliest and never before the registration, spread so a
  person has at most ``max_due_per_person_per_day`` open inspections due on one day;
- never two open inspections on one loan: a loan with any open inspection is no candidate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from postloan.customers.models import Customer
from postloan.inspections.models import Inspection, InspectionKind, InspectionStatus
from postloan.loans.models import Loan
from postloan.plans.catalogue import Catalogue, CatalogueError
from postloan.plans.models import InspectionPlan

OPEN_STATUSES = (InspectionStatus.REQUESTED, InspectionStatus.IN_PROGRESS)
PLANNED_KINDS = (InspectionKind.FIRST, InspectionKind.ROUTINE)
CATCH_UP_REF = "catch-up"

FIRST = "first"
CATCH_UP = "catch_up"
ROUTINE = "routine"


@dataclass(frozen=True)
class SchedulingRules:
    max_open_per_person: int
    max_new_per_person_per_day: int
    catch_up_lead_days: int
    max_due_per_person_per_day: int
    catch_up_reason: str
    #: While the plan decision stays unusable, a new incident at most this often (hours).
    incident_repeat_hours: int = 24

    def catch_up_text(self, deadline: date, registered_on: date, plan_reason: str) -> str:
        return self.catch_up_reason.format(
            deadline=deadline.isoformat(),
            registered_on=registered_on.isoformat(),
            plan_reason=plan_reason,
        )


def _count(raw: dict[str, Any], section: str, name: str, path: Path, minimum: int) -> int:
    value = (raw.get(section) or {}).get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise CatalogueError(
            f"{path.name}: {section}.{name} must be a whole number of at least {minimum}, "
            f"not {value!r}"
        )
    return value


def load_scheduling(path: Path) -> SchedulingRules:
    """Read and check ``config/scheduling.yaml``; the message names the file and the entry."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path.name}: cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path.name}: expected a mapping at the top")
    reason = str((raw.get("catch_up") or {}).get("reason") or "")
    try:
        reason.format(deadline="", registered_on="", plan_reason="")
    except (KeyError, IndexError, ValueError) as exc:
        raise CatalogueError(
            f"{path.name}: catch_up.reason may use only {{deadline}}, {{registered_on}} and "
            f"{{plan_reason}} ({exc})"
        ) from exc
    if not reason:
        raise CatalogueError(f"{path.name}: catch_up.reason is missing")
    return SchedulingRules(
        max_open_per_person=_count(raw, "capacity", "max_open_per_person", path, 1),
        max_new_per_person_per_day=_count(raw, "capacity", "max_new_per_person_per_day", path, 1),
        catch_up_lead_days=_count(raw, "catch_up", "lead_days", path, 0),
        max_due_per_person_per_day=_count(raw, "catch_up", "max_due_per_person_per_day", path, 1),
        catch_up_reason=reason,
        incident_repeat_hours=_count(raw, "incident", "repeat_after_hours", path, 1),
    )


def registered_on(loan: Loan) -> date:
    """When the loan was registered (or imported) in this system."""
    return loan.created_at.date() if loan.created_at is not None else date.today()


@dataclass(frozen=True)
class Candidate:
    """A loan with due work: ``kind`` first, catch_up or routine, ``due_on`` for the order."""

    loan_id: str
    person: str
    due_on: date
    kind: str


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def candidates(session: Session, as_of: date, cat: Catalogue) -> list[Candidate]:
    """Every active loan with due work and no open inspection, most overdue first.

    A loan never inspected under a plan (no first or routine inspection that was not cancelled)
    is due for its first inspection (product deadline after disbursement; the plan's may be
    stricter) or, when that deadline lies before the loan's registration, for a catch-up; a
    loan whose plan's ``next_due_on`` is reached is due for a routine inspection.
    """
    open_ = select(Inspection.id).where(
        Inspection.loan_id == Loan.id, Inspection.status.in_(OPEN_STATUSES)
    )
    planned = select(Inspection.id).where(
        Inspection.loan_id == Loan.id,
        Inspection.kind.in_(PLANNED_KINDS),
        Inspection.status != InspectionStatus.CANCELLED,
    )
    found: dict[str, Candidate] = {}
    never = session.execute(
        select(Loan.id, Loan.product, Loan.disbursed_on, Loan.created_at, Customer.account_manager)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(Loan.maturity_on >= as_of, ~exists(planned), ~exists(open_))
    ).all()
    for loan_id, product, disbursed_on, created_at, person in never:
        deadline = disbursed_on + timedelta(days=cat.product(product).first_inspection_days)
        registered = created_at.date() if created_at is not None else as_of
        kind = CATCH_UP if deadline < registered else FIRST
        found[loan_id] = Candidate(loan_id, person or "", deadline, kind)
    due = session.execute(
        select(InspectionPlan.loan_id, InspectionPlan.next_due_on, Customer.account_manager)
        .join(Loan, Loan.id == InspectionPlan.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(
            InspectionPlan.next_due_on <= as_of,
            Loan.maturity_on >= as_of,
            exists(planned),
            ~exists(open_),
        )
    ).all()
    for loan_id, next_due_on, person in due:
        found.setdefault(loan_id, Candidate(loan_id, person or "", next_due_on, ROUTINE))
    return sorted(found.values(), key=lambda c: (c.due_on, c.loan_id))


@dataclass
class Capacity:
    """What each person holds now, kept up to date as the run starts inspections."""

    rules: SchedulingRules
    today: date
    open_by_person: Counter[str] = field(default_factory=Counter)
    new_today_by_person: Counter[str] = field(default_factory=Counter)
    due_by_person_day: Counter[tuple[str, date]] = field(default_factory=Counter)

    @classmethod
    def load(cls, session: Session, rules: SchedulingRules, today: date) -> Capacity:
        capacity = cls(rules, today)
        person = Customer.account_manager
        base = (
            select(person, Inspection.due_on, Inspection.status, Inspection.kind)
            .select_from(Inspection)
            .join(Loan, Loan.id == Inspection.loan_id)
            .join(Customer, Customer.id == Loan.customer_id)
        )
        for who, due_on, _status, _kind in session.execute(
            base.where(Inspection.status.in_(OPEN_STATUSES))
        ):
            capacity.open_by_person[who or ""] += 1
            if due_on is not None:
                capacity.due_by_person_day[(who or "", due_on)] += 1
        for who, count in session.execute(
            select(person, func.count())
            .select_from(Inspection)
            .join(Loan, Loan.id == Inspection.loan_id)
            .join(Customer, Customer.id == Loan.customer_id)
            .where(
                Inspection.kind.in_(PLANNED_KINDS),
                Inspection.created_at >= _day_start(today),
                Inspection.created_at < _day_start(today + timedelta(days=1)),
            )
            .group_by(person)
        ):
            capacity.new_today_by_person[who or ""] = int(count)
        return capacity

    def has_room(self, person: str) -> bool:
        return (
            self.open_by_person[person] < self.rules.max_open_per_person
            and self.new_today_by_person[person] < self.rules.max_new_per_person_per_day
        )

    def catch_up_due_on(self, person: str, registered: date) -> date:
        """The first day, ``lead_days`` from today at the earliest and never before the loan's
        registration, on which the person has room for one more due inspection."""
        day = max(self.today, registered) + timedelta(days=self.rules.catch_up_lead_days)
        while self.due_by_person_day[(person, day)] >= self.rules.max_due_per_person_per_day:
            day += timedelta(days=1)
        return day

    def took(self, person: str, due_on: date | None) -> None:
        self.open_by_person[person] += 1
        self.new_today_by_person[person] += 1
        if due_on is not None:
            self.due_by_person_day[(person, due_on)] += 1
