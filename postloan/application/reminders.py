"""Use case: the reminder scan, in one transaction (its customer notices go out after commit)."""

from __future__ import annotations

from datetime import date

from postloan.application.services import Services
from postloan.reminders import service


def run_scan(services: Services, as_of: date, *, actor: str = "reminder-scan") -> int:
    """Create the reminders due as of ``as_of``; returns how many were new (0 on a rerun)."""
    with services.transaction() as session:
        return len(service.scan(session, as_of, actor=actor))
