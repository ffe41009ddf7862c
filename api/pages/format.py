"""Dates, times, amounts and codes in words, as config/labels.yaml says.

Every page formats through here, so a report and a dossier read the same: "12 November 2025",
"12 November 2025, 17:30 CST", "1,250,000.00 CNY", "Special mention" (not ``special_mention``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from config.settings import ROOT

LABELS_FILE = ROOT / "config" / "labels.yaml"
EMPTY = "—"


@lru_cache
def labels(path: Path = LABELS_FILE) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("format"), dict):
        raise ValueError(f"{path}: a mapping with a 'format' section is expected")
    return data


def _format() -> dict[str, Any]:
    return labels()["format"]


def zone() -> ZoneInfo:
    return ZoneInfo(str(_format().get("time_zone", "UTC")))


def _strftime(value: date, pattern: str) -> str:
    # %-d (day without a leading zero) is not portable: put the number in first.
    return value.strftime(pattern.replace("%-d", str(value.day)))


def _parse(value: date | datetime | str) -> date | datetime:
    if isinstance(value, date):
        return value
    text = value.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def day(value: date | datetime | str | None) -> str:
    """A date in words: ``2025-11-12`` -> ``12 November 2025`` (a time is shown in the pages'
    time zone first, so a late-evening UTC time falls on the right day)."""
    if value in (None, ""):
        return EMPTY
    assert value is not None
    parsed = _parse(value)
    if isinstance(parsed, datetime):
        parsed = _aware(parsed).astimezone(zone()).date()
    return _strftime(parsed, str(_format()["date"]))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def moment(value: date | datetime | str | None) -> str:
    """A point in time in words with its time zone: ``12 November 2025, 17:30 CST``; a bare
    date stays a date."""
    if value in (None, ""):
        return EMPTY
    assert value is not None
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return day(parsed)
    local = _aware(parsed).astimezone(zone())
    return _strftime(local, str(_format()["datetime"]))


def amount(value: Decimal | float | int | str | None, currency: str | None = None) -> str:
    """``1250000`` -> ``1,250,000.00 CNY`` (separators and decimals from the labels)."""
    if value in (None, ""):
        return EMPTY
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    fmt = _format()
    decimals = int(fmt.get("decimals", 2))
    text = f"{number:,.{decimals}f}"
    thousands, point = (
        str(fmt.get("thousands_separator", ",")),
        str(fmt.get("decimal_separator", ".")),
    )
    text = text.replace(",", "\0").replace(".", point).replace("\0", thousands)
    return f"{text} {currency}".strip() if currency else text


def word(vocabulary: str, code: Any) -> str:
    """A code in words from the labels' ``vocabulary``; an unknown code reads as itself."""
    if code in (None, ""):
        return EMPTY
    words = labels().get(vocabulary) or {}
    found = words.get(code) if isinstance(words, dict) else None
    if found is None:
        found = words.get(str(code)) if isinstance(words, dict) else None
    return str(found) if found is not None else str(code).replace("_", " ")


def yes_no(value: Any) -> str:
    if value is None:
        return EMPTY
    return "Yes" if value else "No"
