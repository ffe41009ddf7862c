"""The payroll export of the ledger: CSV, a header row, one row per ledger row.

``payable`` is what payroll pays for a row: the amount of ``paid_now`` and ``release`` rows,
0.00 for every other kind (deferred, held or clawed back pay is not paid). No cell starts a
spreadsheet formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from postloan.compensation.models import CompensationEntry, EntryKind

COLUMNS = (
    "entry_id",
    "person",
    "period",
    "kind",
    "tranche",
    "amount",
    "payable",
    "currency",
    "due_on",
    "effective_on",
    "review_id",
    "loan_id",
    "reason",
    "at",
    "by",
)
#: The kinds payroll pays out.
PAYABLE = (EntryKind.PAID_NOW, EntryKind.RELEASE)


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def payable(entry: CompensationEntry) -> Decimal:
    return entry.amount if entry.kind in PAYABLE else Decimal("0.00")


def ledger_csv(rows: Iterable[CompensationEntry]) -> str:
    """The CSV document of ``rows``, header first (CRLF line ends, UTF-8 when encoded)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for e in rows:
        values = (
            e.id,
            e.person,
            e.period,
            e.kind,
            e.tranche,
            e.amount,
            payable(e),
            e.currency,
            e.due_on,
            e.effective_on,
            e.review_id,
            e.loan_id,
            e.reason,
            e.at.isoformat() if e.at else None,
            e.by,
        )
        writer.writerow([_cell(v) for v in values])
    return buffer.getvalue()
