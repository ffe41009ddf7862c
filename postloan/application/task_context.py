"""What a human task says about itself in Tasklist: the start variables its name, due date and
priority read.

Every user task in ``bpmn/`` is named from these variables (``Review ${kind_noun} ·
${customer_name} · ${loan_label}``), has ``camunda:dueDate`` from a ``<task key>_due`` variable
and ``camunda:priority`` from ``task_priority``. The engine evaluates them when the task is
created, so they are set when the process starts, here, from the business records and
``config/tasks.yaml`` (analysts change the words of the kinds, the priorities and the numbers of
days there).

Labels only: no variable here names a person (those are the engine plugin's protected
variables). A due date that is a day is sent as a Date at the end of that day (UTC); a due date
counted from the task's creation is an ISO-8601 duration (``P3D``), which the engine resolves
when it creates the task — so a review is due three days after the work was submitted, however
long the work took.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan.credit.models import CreditApplication
from postloan.customers.models import Customer
from postloan.inspections.models import Inspection
from postloan.loans.models import Loan
from postloan.rectifications.models import Rectification
from postloan.vendors.models import Vendor, VisitBatch, VisitReport

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "tasks.yaml"

#: The user tasks whose due date is counted from their creation, by process.
INSPECTION_TASKS = (
    "review_inspection",
    "onsite_verification",
    "confirm_classification",
    "resolve_inspection_data",
)
RECTIFICATION_TASKS = ("verify_rectification", "approve_restriction_lift", "handle_escalation")
VISIT_BATCH_TASKS = ("review_visit_batch", "supervision_revisit")
CREDIT_TASKS = ("approve_credit",)
SEVERITIES = ("minor", "major", "serious", "critical")

#: Stands in for a record that is missing (the process then goes to a person to correct it).
UNKNOWN_CUSTOMER = "customer not found"


@dataclass(frozen=True)
class InspectionKindWords:
    label: str
    priority: int

    @property
    def noun(self) -> str:
        """The label inside a sentence: "Review special inspection"."""
        return self.label[:1].lower() + self.label[1:]


@dataclass(frozen=True)
class TaskRules:
    """``config/tasks.yaml``."""

    inspection_kinds: dict[str, InspectionKindWords]
    other_inspection_kind: InspectionKindWords
    rectification_severities: dict[str, int]
    credit_application_priority: int
    visit_batch_priority: int
    inspection_due_days_without_plan: int
    due_days_after_creation: dict[str, int]

    def kind(self, kind: str) -> InspectionKindWords:
        return self.inspection_kinds.get(kind, self.other_inspection_kind)

    def due_after_creation(self, task_key: str) -> str:
        """The ISO-8601 duration the engine adds to the task's creation time."""
        return f"P{self.due_days_after_creation[task_key]}D"


def _kind_words(raw: dict[str, Any]) -> InspectionKindWords:
    return InspectionKindWords(label=str(raw["label"]), priority=int(raw["priority"]))


@lru_cache(maxsize=1)
def rules(path: Path = CONFIG_FILE) -> TaskRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    severities = {str(k): int(v) for k, v in (raw.get("rectification_severities") or {}).items()}
    days = {str(k): int(v) for k, v in (raw.get("due_days_after_creation") or {}).items()}
    problems = [f"rectification_severities lacks {s}" for s in SEVERITIES if s not in severities]
    needed = INSPECTION_TASKS + RECTIFICATION_TASKS + VISIT_BATCH_TASKS + CREDIT_TASKS
    problems += [f"due_days_after_creation lacks {key}" for key in needed if key not in days]
    problems += [f"due_days_after_creation.{key} is negative" for key, n in days.items() if n < 0]
    if problems:
        raise ValueError(f"{path.name}: {'; '.join(problems)}")
    return TaskRules(
        inspection_kinds={
            str(kind): _kind_words(words)
            for kind, words in (raw.get("inspection_kinds") or {}).items()
        },
        other_inspection_kind=_kind_words(raw["other_inspection_kind"]),
        rectification_severities=severities,
        credit_application_priority=int(raw["credit_application_priority"]),
        visit_batch_priority=int(raw["visit_batch_priority"]),
        inspection_due_days_without_plan=int(raw["inspection_due_days_without_plan"]),
        due_days_after_creation=days,
    )


def end_of_day(day: date) -> datetime:
    """A task due on ``day`` is overdue once that day is over (UTC)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(seconds=1)


def _dated(variables: dict[str, Any], **days: date) -> dict[str, Any]:
    """Day-valued due dates as Date variables (outbox payloads are JSON: named in
    ``__dates__`` for the engine adapter)."""
    for name, day in days.items():
        variables[name] = end_of_day(day).isoformat()
    variables["__dates__"] = [*variables.get("__dates__", []), *days]
    return variables


def customer_name(session: Session, customer_id: str | None) -> str:
    customer = session.get(Customer, customer_id) if customer_id else None
    return customer.name if customer is not None else UNKNOWN_CUSTOMER


def amount_label(amount: Decimal, currency: str) -> str:
    """``500,000.00 CNY``."""
    return f"{amount:,.2f} {currency}"


def for_inspection(session: Session, inspection: Inspection) -> dict[str, Any]:
    """``post_loan_inspection``: the customer, the loan and the kind in every task's name;
    priority by kind; the inspector's task due on the inspection's due date (or
    ``inspection_due_days_without_plan`` after the request), the others counted from their
    creation."""
    config = rules()
    words = config.kind(inspection.kind)
    loan = session.get(Loan, inspection.loan_id)
    due_on = inspection.due_on or date.today() + timedelta(
        days=config.inspection_due_days_without_plan
    )
    variables: dict[str, Any] = {
        "customer_name": customer_name(session, loan.customer_id if loan else None),
        "loan_label": inspection.loan_id,
        "kind_label": words.label,
        "kind_noun": words.noun,
        "task_priority": words.priority,
        **{f"{key}_due": config.due_after_creation(key) for key in INSPECTION_TASKS},
    }
    return _dated(variables, perform_inspection_due=due_on)


def for_rectification(session: Session, item: Rectification) -> dict[str, Any]:
    """``rectification`` (and the processes it calls, which copy its variables): the customer,
    the loan and the severity in the names; priority by severity; the owner's evidence task is
    due on the deadline (``deadline_at``, set with the item), the others counted from their
    creation."""
    config = rules()
    return {
        "customer_name": customer_name(session, item.customer_id),
        "loan_label": item.loan_id or "no loan",
        "task_priority": config.rectification_severities.get(item.severity, 50),
        **{f"{key}_due": config.due_after_creation(key) for key in RECTIFICATION_TASKS},
    }


def for_credit_application(session: Session, application: CreditApplication) -> dict[str, Any]:
    """``credit_approval_linkage``: the customer and what is applied for."""
    config = rules()
    amount = amount_label(application.amount, application.currency)
    return {
        "customer_name": customer_name(session, application.customer_id),
        "credit_label": f"{application.product} {amount}",
        "task_priority": config.credit_application_priority,
        **{f"{key}_due": config.due_after_creation(key) for key in CREDIT_TASKS},
    }


def for_visit_batch(session: Session, batch: VisitBatch) -> dict[str, Any]:
    """``outsourced_visit_batch``: the vendor and how many visits the batch holds."""
    config = rules()
    vendor = session.get(Vendor, batch.vendor_id)
    visits = session.scalar(
        select(func.count()).select_from(VisitReport).where(VisitReport.batch_id == batch.id)
    )
    return {
        "vendor_name": vendor.name if vendor is not None else batch.vendor_id,
        "visits_label": "1 visit" if visits == 1 else f"{visits or 0} visits",
        "task_priority": config.visit_batch_priority,
        **{f"{key}_due": config.due_after_creation(key) for key in VISIT_BATCH_TASKS},
    }
