"""Automated checks of a loan: pure functions over the database, each returning findings.

Every check takes the session, the loan (or customer), the date it checks ``as_of`` and the
thresholds of ``config/checks.yaml``; it returns :class:`Finding` objects whose ``code`` is a
signal code of the early-warning catalogue and whose ``evidence`` holds the data it used. Workers
record them (``postloan.inspections.service.record_finding``) and turn them into risk signals.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

#: Findings about the customer (statements, external events) rather than one loan.
SCOPE_CUSTOMER = "customer"
SCOPE_LOAN = "loan"


@dataclass(frozen=True)
class Finding:
    """What a check found. ``severity`` is provisional: the catalogue's severity wins when the
    code is in it; ``none`` marks a finding that is a record, not a warning."""

    code: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: str = "none"
    scope: str = SCOPE_LOAN


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def money(value: Any) -> str | None:
    return None if value is None else str(value)
