"""Use cases of reminders: the daily scan (instalments due soon, and lapses — ratings, credit
lines, collateral valuations and insurance, annual reviews) and the answer to a lapse task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from postloan.application.services import Services
from postloan.reminders import lapses, service
from postloan.reminders.models import Reminder


@dataclass(frozen=True)
class ScanResult:
    instalment_reminders: int
    lapse_tasks: int


def scan_in(
    session: Session, as_of: date, *, actor: str = "reminder-scan", webhook_url: str = ""
) -> ScanResult:
    """Both scans in the caller's transaction (a worker's): new reminders, their customer
    notices and webhooks, and the lapse processes to start, all owed through the outbox."""
    due = service.scan(session, as_of, actor=actor, webhook_url=webhook_url)
    lapsing = lapses.scan(session, as_of, actor=actor)
    return ScanResult(len(due), len(lapsing))


def run_scan(
    services: Services, as_of: date, *, actor: str = "reminder-scan", webhook_url: str = ""
) -> int:
    """The instalment scan in one transaction; returns how many were new (0 on a rerun)."""
    with services.transaction() as session:
        return len(service.scan(session, as_of, actor=actor, webhook_url=webhook_url))


def run_full_scan(
    services: Services, as_of: date, *, actor: str = "reminder-scan", webhook_url: str = ""
) -> ScanResult:
    """Both scans in one transaction (``postloanctl remind``); what they owe goes out after."""
    with services.transaction() as session:
        return scan_in(session, as_of, actor=actor, webhook_url=webhook_url)


def record_lapse_action(
    session: Session,
    reminder_id: int,
    *,
    action: str,
    note: str,
    new_due_on: date | None,
    actor: str,
) -> Reminder:
    return lapses.record_action(
        session, reminder_id, action=action, note=note, new_due_on=new_due_on, actor=actor
    )
