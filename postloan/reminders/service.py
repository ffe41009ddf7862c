"""The instalment reminder scan: as of a date, what falls due soon gets one reminder per thing
and lead (the other lapses: ``postloan.reminders.lapses``).

Today: instalments not yet paid, due within their lead days (``config/reminders.yaml``
``instalment_due``): a reminder to the loan's account manager and a customer notice recorded in
the outbox (delivered by the relay). The reminder's unique ``dedupe_key`` makes a rerun of the scan
create nothing new. Knows nothing of Camunda or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.errors import InvalidInput
from postloan.loans.models import Loan, Repayment
from postloan.outbox.service import enqueue_customer_notice, enqueue_webhook
from postloan.reminders.models import Reminder

REMINDERS_FILE = Path(__file__).resolve().parents[2] / "config" / "reminders.yaml"
INSTALMENT_DUE = "instalment_due"


class ReminderConfigError(ValueError):
    """``config/reminders.yaml`` is wrong; the message names the key."""


@dataclass(frozen=True)
class LeadRule:
    addressee_role: str
    default: tuple[int, ...]
    products: dict[str, tuple[int, ...]]
    segments: dict[str, tuple[int, ...]]

    def leads_for(self, product: str, segment: str) -> tuple[int, ...]:
        return self.products.get(product) or self.segments.get(segment) or self.default

    @property
    def longest(self) -> int:
        every = [self.default, *self.products.values(), *self.segments.values()]
        return max(max(leads) for leads in every)


def _leads(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise ReminderConfigError(f"{where}: a non-empty list of days")
    for days in value:
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
            raise ReminderConfigError(f"{where}: each lead a whole number of days, 1 to 366")
    return tuple(sorted(set(value)))


def parse_instalment_rule(spec: Any) -> LeadRule:
    section = spec.get(INSTALMENT_DUE) if isinstance(spec, dict) else None
    if not isinstance(section, dict) or not isinstance(section.get("lead_days"), dict):
        raise ReminderConfigError(f"{INSTALMENT_DUE}.lead_days: section missing")
    leads = section["lead_days"]
    overrides: dict[str, dict[str, tuple[int, ...]]] = {}
    for key in ("products", "segments"):
        table = leads.get(key) or {}
        if not isinstance(table, dict):
            raise ReminderConfigError(f"{INSTALMENT_DUE}.lead_days.{key}: a mapping")
        overrides[key] = {
            str(k): _leads(v, f"{INSTALMENT_DUE}.lead_days.{key}.{k}") for k, v in table.items()
        }
    return LeadRule(
        addressee_role=str(section.get("addressee_role") or "account_manager"),
        default=_leads(leads.get("default"), f"{INSTALMENT_DUE}.lead_days.default"),
        products=overrides["products"],
        segments=overrides["segments"],
    )


@lru_cache
def instalment_rule(path: Path = REMINDERS_FILE) -> LeadRule:
    return parse_instalment_rule(yaml.safe_load(path.read_text(encoding="utf-8")))


def lead_reached(due_on: date, as_of: date, leads: tuple[int, ...]) -> int | None:
    """The shortest lead whose reminder day (due date minus lead) has come, or ``None``."""
    if due_on < as_of:
        return None  # already due: the arrears take over
    days_left = (due_on - as_of).days
    reached = [lead for lead in leads if days_left <= lead]
    return min(reached) if reached else None


def webhook_body(reminder: Reminder, repayment: Repayment, loan: Loan) -> dict[str, object]:
    """What the customer-notification system receives (signed by the relay)."""
    return {
        "event": "instalment_due",
        "reminder_id": reminder.id,
        "customer_id": reminder.customer_id,
        "loan_id": loan.id,
        "due_on": repayment.due_on.isoformat(),
        "due_amount": str(repayment.due_amount),
        "currency": loan.currency,
        "lead_days": reminder.lead_days,
    }


def scan(
    session: Session, as_of: date, *, actor: str = "reminder-scan", webhook_url: str = ""
) -> list[Reminder]:
    """Create the reminders due as of ``as_of``; returns the new ones (none on a rerun).

    Each new one also owes, in the same transaction, a customer notice and (``webhook_url``
    set) a signed push of :func:`webhook_body` through the outbox."""
    config = instalment_rule()
    rows = session.execute(
        select(Repayment, Loan, Customer)
        .join(Loan, Loan.id == Repayment.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(
            Repayment.paid_on.is_(None),
            Repayment.due_on >= as_of,
            Repayment.due_on <= as_of + timedelta(days=config.longest),
        )
        .order_by(Repayment.due_on, Repayment.id)
    )
    created: list[Reminder] = []
    for repayment, loan, customer in rows:
        lead = lead_reached(
            repayment.due_on, as_of, config.leads_for(loan.product, customer.segment)
        )
        if lead is None:
            continue
        key = f"{INSTALMENT_DUE}:{repayment.id}:{lead}"
        if session.scalar(select(Reminder.id).where(Reminder.dedupe_key == key)) is not None:
            continue
        reminder = Reminder(
            kind=INSTALMENT_DUE,
            loan_id=loan.id,
            customer_id=customer.id,
            due_on=repayment.due_on,
            lead_days=lead,
            addressee_role=config.addressee_role,
            addressee_user=customer.account_manager,
            state="open",
            dedupe_key=key,
        )
        session.add(reminder)
        session.flush()
        enqueue_customer_notice(
            session,
            business_key=key,
            customer_id=customer.id,
            text=(
                f"Your instalment of {repayment.due_amount} {loan.currency} on loan {loan.id} "
                f"is due on {repayment.due_on.isoformat()}."
            ),
        )
        if webhook_url:
            enqueue_webhook(
                session,
                business_key=key,
                url=webhook_url,
                body=webhook_body(reminder, repayment, loan),
            )
        audit.record(
            session,
            actor=actor,
            action="reminder.created",
            object_type="reminder",
            object_id=str(reminder.id),
            detail={
                "kind": INSTALMENT_DUE,
                "loan_id": loan.id,
                "due_on": repayment.due_on,
                "lead_days": lead,
                "addressee_user": customer.account_manager,
            },
        )
        created.append(reminder)
    return created


@dataclass(frozen=True)
class ReminderFilter:
    """``GET /reminders``: every field narrows (``None``: any); due dates both ends included."""

    kind: str | None = None
    state: str | None = None
    customer_id: str | None = None
    loan_id: str | None = None
    account_manager: str | None = None
    branch: str | None = None
    due_from: date | None = None
    due_to: date | None = None


def search(
    session: Session, where: ReminderFilter, *, limit: int, offset: int
) -> tuple[list[Reminder], int]:
    """Reminders by due date (soonest first), and how many match in all."""
    if where.due_from and where.due_to and where.due_from > where.due_to:
        raise InvalidInput("due_from is after due_to", field="due_from")
    query = select(Reminder)
    if where.account_manager is not None or where.branch is not None:
        query = query.join(Customer, Customer.id == Reminder.customer_id)
    conditions = []
    if where.kind is not None:
        conditions.append(Reminder.kind == where.kind)
    if where.state is not None:
        conditions.append(Reminder.state == where.state)
    if where.customer_id is not None:
        conditions.append(Reminder.customer_id == where.customer_id)
    if where.loan_id is not None:
        conditions.append(Reminder.loan_id == where.loan_id)
    if where.account_manager is not None:
        conditions.append(Customer.account_manager == where.account_manager)
    if where.branch is not None:
        conditions.append(Customer.branch == where.branch)
    if where.due_from is not None:
        conditions.append(Reminder.due_on >= where.due_from)
    if where.due_to is not None:
        conditions.append(Reminder.due_on <= where.due_to)
    query = query.where(*conditions)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Reminder.due_on, Reminder.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total
