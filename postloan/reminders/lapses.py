"""Lapses prevented: a rating's validity, a credit line, a collateral revaluation or insurance,
an annual review — each date gets one task for its owner, its own lead time before it passes.

The scan (:func:`scan`) writes one :class:`Reminder` per item and date (``dedupe_key`` =
kind, object, date: a rerun, or the same scan task run twice, adds nothing) and, in the same
transaction, the start of its ``lapse_prevention`` process through the outbox. The owner's
answer (:func:`record_action`) closes the reminder and, given a new date (the rating renewed
until, the line extended to), moves the object's date on, so the next lapse is watched in turn.
Rules: ``config/reminders.yaml`` (``lapses``, ``lapse_actions``). No Camunda or HTTP here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.db import utcnow
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.loans.models import Collateral, Loan
from postloan.outbox.service import enqueue_process_start
from postloan.reminders.models import Reminder

REMINDERS_FILE = Path(__file__).resolve().parents[2] / "config" / "reminders.yaml"
PROCESS_KEY = "lapse_prevention"
ACCOUNT_MANAGER = "account_manager"
GROUPS = ("account-managers", "postloan-officers", "credit-managers")

RATING_EXPIRY = "rating_expiry"
CREDIT_LINE_EXPIRY = "credit_line_expiry"
VALUATION_DUE = "valuation_due"
INSURANCE_EXPIRY = "insurance_expiry"
ANNUAL_REVIEW = "annual_review"
KINDS = (RATING_EXPIRY, CREDIT_LINE_EXPIRY, VALUATION_DUE, INSURANCE_EXPIRY, ANNUAL_REVIEW)


class LapseConfigError(ValueError):
    """``config/reminders.yaml`` ``lapses`` is wrong; the message names the key."""


@dataclass(frozen=True)
class LapseRule:
    kind: str
    label: str
    default: int
    products: dict[str, int]
    segments: dict[str, int]
    owner: str  # account_manager or a group
    task_due_days_before: int
    priority: int

    def lead_for(self, product: str | None, segment: str) -> int:
        if product is not None and product in self.products:
            return self.products[product]
        return self.segments.get(segment, self.default)

    @property
    def longest(self) -> int:
        return max([self.default, *self.products.values(), *self.segments.values()])

    def group(self) -> str:
        return "account-managers" if self.owner == ACCOUNT_MANAGER else self.owner


@dataclass(frozen=True)
class LapseRules:
    kinds: dict[str, LapseRule]
    actions: tuple[str, ...]


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise LapseConfigError(f"{where}: a whole number from {low} to {high}")
    return value


def parse_rules(spec: Any) -> LapseRules:
    section = spec.get("lapses") if isinstance(spec, dict) else None
    if not isinstance(section, dict):
        raise LapseConfigError("lapses: section missing")
    unknown = sorted(set(section) - set(KINDS))
    if unknown:
        raise LapseConfigError(f"lapses.{unknown[0]}: unknown kind (known: {', '.join(KINDS)})")
    kinds: dict[str, LapseRule] = {}
    for kind in KINDS:
        raw = section.get(kind)
        where = f"lapses.{kind}"
        if not isinstance(raw, dict):
            raise LapseConfigError(f"{where}: section missing")
        leads = raw.get("lead_days")
        if not isinstance(leads, dict):
            raise LapseConfigError(f"{where}.lead_days: a mapping with default")
        tables: dict[str, dict[str, int]] = {}
        for key in ("products", "segments"):
            table = leads.get(key) or {}
            if not isinstance(table, dict):
                raise LapseConfigError(f"{where}.lead_days.{key}: a mapping")
            tables[key] = {
                str(k): _whole(v, f"{where}.lead_days.{key}.{k}", 1, 366) for k, v in table.items()
            }
        owner = raw.get("owner")
        if owner != ACCOUNT_MANAGER and owner not in GROUPS:
            raise LapseConfigError(
                f"{where}.owner: {ACCOUNT_MANAGER} or one of {', '.join(GROUPS[1:])}"
            )
        kinds[kind] = LapseRule(
            kind=kind,
            label=str(raw.get("label") or kind),
            default=_whole(leads.get("default"), f"{where}.lead_days.default", 1, 366),
            products=tables["products"],
            segments=tables["segments"],
            owner=str(owner),
            task_due_days_before=_whole(
                raw.get("task_due_days_before", 0), f"{where}.task_due_days_before", 0, 365
            ),
            priority=_whole(raw.get("priority", 50), f"{where}.priority", 0, 100),
        )
    actions = spec.get("lapse_actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
        raise LapseConfigError("lapse_actions: a non-empty list of action names")
    return LapseRules(kinds=kinds, actions=tuple(actions))


@lru_cache
def rules(path: Path = REMINDERS_FILE) -> LapseRules:
    return parse_rules(yaml.safe_load(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Lapse:
    """One dated thing of one kind that can lapse."""

    kind: str
    object_type: str  # customer, loan, collateral
    object_id: str
    lapses_on: date
    customer: Customer
    loan_id: str | None
    product: str | None

    @property
    def dedupe_key(self) -> str:
        return f"{self.kind}:{self.object_type}:{self.object_id}:{self.lapses_on.isoformat()}"


def _customer_dates(
    session: Session, kind: str, column: Any, until: date, as_of: date
) -> Iterator[Lapse]:
    rows = session.scalars(
        select(Customer)
        .where(column.is_not(None), column >= as_of, column <= until)
        .order_by(Customer.id)
    )
    for customer in rows:
        day = getattr(customer, column.key)
        yield Lapse(kind, "customer", customer.id, day, customer, None, None)


def _loan_dates(session: Session, until: date, as_of: date) -> Iterator[Lapse]:
    column = Loan.credit_line_expires_on
    rows = session.execute(
        select(Loan, Customer)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(column.is_not(None), column >= as_of, column <= until)
        .order_by(Loan.id)
    )
    for loan, customer in rows:
        assert loan.credit_line_expires_on is not None
        yield Lapse(
            CREDIT_LINE_EXPIRY,
            "loan",
            loan.id,
            loan.credit_line_expires_on,
            customer,
            loan.id,
            loan.product,
        )


def _collateral_dates(
    session: Session, kind: str, column: Any, until: date, as_of: date
) -> Iterator[Lapse]:
    rows = session.execute(
        select(Collateral, Loan, Customer)
        .join(Loan, Loan.id == Collateral.loan_id)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(column.is_not(None), column >= as_of, column <= until)
        .order_by(Collateral.id)
    )
    for collateral, loan, customer in rows:
        day = getattr(collateral, column.key)
        yield Lapse(kind, "collateral", collateral.id, day, customer, loan.id, loan.product)


def candidates(
    session: Session, rule: LapseRule, as_of: date, until: date | None = None
) -> Iterator[Lapse]:
    """The items of ``rule``'s kind whose date is from ``as_of`` to ``until`` (default: as far
    as the rule's longest lead reaches)."""
    until = until or as_of + timedelta(days=rule.longest)
    finders: dict[str, Callable[[], Iterator[Lapse]]] = {
        RATING_EXPIRY: lambda: _customer_dates(
            session, RATING_EXPIRY, Customer.rating_valid_until, until, as_of
        ),
        ANNUAL_REVIEW: lambda: _customer_dates(
            session, ANNUAL_REVIEW, Customer.annual_review_due_on, until, as_of
        ),
        CREDIT_LINE_EXPIRY: lambda: _loan_dates(session, until, as_of),
        VALUATION_DUE: lambda: _collateral_dates(
            session, VALUATION_DUE, Collateral.next_valuation_due_on, until, as_of
        ),
        INSURANCE_EXPIRY: lambda: _collateral_dates(
            session, INSURANCE_EXPIRY, Collateral.insurance_expires_on, until, as_of
        ),
    }
    return finders[rule.kind]()


def end_of_day(day: date) -> datetime:
    """A task due on ``day`` is overdue once that day is over (UTC), as every task here."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(seconds=1)


def task_due_on(rule: LapseRule, lapses_on: date, as_of: date) -> date:
    """The task is due ``task_due_days_before`` the date, never before the day it appears."""
    return max(as_of, lapses_on - timedelta(days=rule.task_due_days_before))


def _object_label(lapse: Lapse) -> str:
    if lapse.object_type == "customer":
        return f"customer {lapse.object_id}"
    if lapse.object_type == "loan":
        return f"loan {lapse.object_id}"
    return f"collateral {lapse.object_id} of loan {lapse.loan_id}"


def process_variables(
    reminder: Reminder, rule: LapseRule, lapse: Lapse, as_of: date
) -> dict[str, Any]:
    """What the ``prevent_lapse`` task shows and whom it goes to; its due date as a Date."""
    variables: dict[str, Any] = {
        "reminder_id": str(reminder.id),
        "lapse_kind": rule.kind,
        "lapse_label": rule.label,
        "customer_id": lapse.customer.id,
        "customer_name": lapse.customer.name,
        "object_label": _object_label(lapse),
        "lapses_on": lapse.lapses_on.isoformat(),
        "lapse_group": rule.group(),
        "task_priority": rule.priority,
        "prevent_lapse_due": end_of_day(task_due_on(rule, lapse.lapses_on, as_of)).isoformat(),
        "__dates__": ["prevent_lapse_due"],
    }
    if rule.owner == ACCOUNT_MANAGER:
        variables["lapse_assignee"] = lapse.customer.account_manager
    return variables


def scan(
    session: Session, as_of: date, *, actor: str = "reminder-scan", config: LapseRules | None = None
) -> list[Reminder]:
    """Open a ``lapse_prevention`` task for each date whose lead time has come (the date itself
    not yet passed); returns the new reminders (none on a rerun)."""
    config = config or rules()
    created: list[Reminder] = []
    for rule in config.kinds.values():
        for lapse in candidates(session, rule, as_of):
            lead = rule.lead_for(lapse.product, lapse.customer.segment)
            if (lapse.lapses_on - as_of).days > lead:
                continue
            key = lapse.dedupe_key
            if session.scalar(select(Reminder.id).where(Reminder.dedupe_key == key)) is not None:
                continue
            reminder = Reminder(
                kind=rule.kind,
                loan_id=lapse.loan_id,
                customer_id=lapse.customer.id,
                collateral_id=lapse.object_id if lapse.object_type == "collateral" else None,
                due_on=lapse.lapses_on,
                lead_days=lead,
                addressee_role=rule.owner,
                addressee_user=(
                    lapse.customer.account_manager if rule.owner == ACCOUNT_MANAGER else None
                ),
                state="open",
                dedupe_key=key,
            )
            session.add(reminder)
            session.flush()
            enqueue_process_start(
                session,
                process_key=PROCESS_KEY,
                business_key=f"reminder-{reminder.id}",
                variables=process_variables(reminder, rule, lapse, as_of),
            )
            audit.record(
                session,
                actor=actor,
                action="reminder.created",
                object_type="reminder",
                object_id=str(reminder.id),
                detail={
                    "kind": rule.kind,
                    "object": f"{lapse.object_type}:{lapse.object_id}",
                    "due_on": lapse.lapses_on,
                    "lead_days": lead,
                    "owner": rule.owner,
                    "addressee_user": reminder.addressee_user,
                },
            )
            created.append(reminder)
    return created


def _move_date(session: Session, reminder: Reminder, new_due_on: date) -> None:
    """The object's date moves to the renewed one (only forward: a later date)."""
    if reminder.kind in (RATING_EXPIRY, ANNUAL_REVIEW):
        customer = session.get(Customer, reminder.customer_id, with_for_update=True)
        if customer is None:
            return
        if reminder.kind == RATING_EXPIRY:
            customer.rating_valid_until = new_due_on
        else:
            customer.annual_review_due_on = new_due_on
    elif reminder.kind == CREDIT_LINE_EXPIRY:
        loan = session.get(Loan, reminder.loan_id, with_for_update=True)
        if loan is not None:
            loan.credit_line_expires_on = new_due_on
    else:
        collateral = session.get(Collateral, reminder.collateral_id, with_for_update=True)
        if collateral is None:
            return
        if reminder.kind == VALUATION_DUE:
            collateral.next_valuation_due_on = new_due_on
        else:
            collateral.insurance_expires_on = new_due_on


def record_action(
    session: Session,
    reminder_id: int,
    *,
    action: str,
    note: str,
    new_due_on: date | None,
    actor: str,
) -> Reminder:
    """The owner's answer to a lapse task: what was done (one of ``lapse_actions``), a note,
    and optionally the object's new date (later than the one reminded). Recording the same
    answer again changes nothing; a different answer on a closed reminder is a conflict."""
    reminder = session.get(Reminder, reminder_id, with_for_update=True)
    if reminder is None or reminder.kind not in KINDS:
        raise NotFound(f"lapse reminder {reminder_id} not found")
    if action not in rules().actions:
        raise InvalidInput(
            f"action {action!r} unknown (known: {', '.join(rules().actions)})", field="action"
        )
    note = (note or "").strip()
    if not note:
        raise InvalidInput("say what was done", field="note")
    if new_due_on is not None and new_due_on <= reminder.due_on:
        raise InvalidInput(
            f"the new date must be after {reminder.due_on.isoformat()}", field="new_due_on"
        )
    if reminder.state == "done":
        if (reminder.action_taken, reminder.action_note, reminder.new_due_on) == (
            action,
            note,
            new_due_on,
        ):
            return reminder
        raise Conflict(f"lapse reminder {reminder_id} was already answered by {reminder.done_by}")
    reminder.state = "done"
    reminder.action_taken = action
    reminder.action_note = note[:4000]
    reminder.new_due_on = new_due_on
    reminder.done_by = actor[:64]
    reminder.done_at = utcnow()
    if new_due_on is not None:
        _move_date(session, reminder, new_due_on)
    audit.record(
        session,
        actor=actor,
        action="reminder.lapse_prevented",
        object_type="reminder",
        object_id=str(reminder.id),
        detail={
            "kind": reminder.kind,
            "action": action,
            "note": reminder.action_note,
            "new_due_on": new_due_on,
        },
    )
    session.flush()
    return reminder
