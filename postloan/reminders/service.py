"""The reminder scan: as of a date, what falls due soon gets one reminder per thing and lead.

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
from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.loans.models import Loan, Repayment
from postloan.outbox.service import enqueue_customer_notice
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


def scan(session: Session, as_of: date, *, actor: str = "reminder-scan") -> list[Reminder]:
    """Create the reminders due as of ``as_of``; returns the new ones (none on a rerun)."""
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
