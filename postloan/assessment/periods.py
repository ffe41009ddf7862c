"""Assessment periods: a month ``2026-09``, a quarter ``2026-Q3`` or a year ``2026``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from postloan.errors import InvalidInput

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
_YEAR = re.compile(r"([0-9]{4})")
#: Years an assessment can be about (keeps every date computation inside ``date``'s range).
FIRST_YEAR, LAST_YEAR = 1900, 2999


@dataclass(frozen=True)
class Period:
    """A period by its key, from ``start`` to ``end`` (both days included)."""

    key: str
    start: date
    end: date

    def is_closed(self, today: date) -> bool:
        """Whether the period is over (its last day is before ``today``)."""
        return self.end < today

    def cutoff(self, today: date) -> date:
        """The last day facts are counted to: the period's end, or yesterday while it is open
        (a due date still ahead is not yet missed)."""
        return min(self.end, today - timedelta(days=1)) if not self.is_closed(today) else self.end

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    def ends_before(self, day: date) -> datetime:
        """The first instant after ``day`` (timestamps are compared with ``<`` to it)."""
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def _last_of_month(year: int, month: int) -> date:
    first_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first_next - timedelta(days=1)


def parse(text: str | None, field: str = "period") -> Period:
    """The period ``text`` names; anything else is refused naming ``field``."""
    value = (text or "").strip()
    month, quarter, year = (p.fullmatch(value) for p in (_MONTH, _QUARTER, _YEAR))
    found = month or quarter or year
    if found is not None and FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
        y = int(found.group(1))
        if month is not None:
            m = int(month.group(2))
            return Period(value, date(y, m, 1), _last_of_month(y, m))
        if quarter is not None:
            first = 3 * int(quarter.group(2)) - 2
            return Period(value, date(y, first, 1), _last_of_month(y, first + 2))
        return Period(value, date(y, 1, 1), date(y, 12, 31))
    raise InvalidInput(
        f"{field} must be a month (2026-09), a quarter (2026-Q3) or a year (2026) between "
        f"{FIRST_YEAR} and {LAST_YEAR}, not {text!r}",
        field=field,
    )
