"""Plausibility bounds of input, read from ``config/input_bounds.yaml`` and validated.

The API's field types (``api.schemas``) and the services both use them: the field types for what a
value alone can tell (a date in 1900, a currency ``XYZ``), the services for what needs stored data
(a payment before the loan's disbursement). The bulk importer validates rows with the API's
models and repeats the services' checks, so a file row obeys the same bounds as a REST call.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "config" / "input_bounds.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateBounds(_Strict):
    earliest: date
    facts_max_days_ahead: int = Field(ge=0, le=366)
    schedule_max_years_ahead: int = Field(ge=1, le=100)
    due_after_maturity_max_days: int = Field(ge=0)


class AmountBounds(_Strict):
    loan_max: Decimal = Field(gt=0, lt=Decimal(10) ** 16)
    collateral_max: Decimal = Field(gt=0, lt=Decimal(10) ** 16)
    statement_max: Decimal = Field(gt=0, lt=Decimal(10) ** 16)
    payment_max_multiple_of_due: Decimal = Field(ge=1)
    due_max_multiple_of_loan: Decimal = Field(gt=0)


class PagingBounds(_Strict):
    offset_max: int = Field(ge=0, le=2**62)


class InputBounds(_Strict):
    dates: DateBounds
    amounts: AmountBounds
    paging: PagingBounds
    currencies: frozenset[str] = Field(min_length=1)

    # -- dates -----------------------------------------------------------------------------

    def latest_fact(self, today: date | None = None) -> date:
        return (today or date.today()) + timedelta(days=self.dates.facts_max_days_ahead)

    def latest_scheduled(self, today: date | None = None) -> date:
        today = today or date.today()
        try:
            return today.replace(year=today.year + self.dates.schedule_max_years_ahead)
        except ValueError:  # 29 February
            return today.replace(year=today.year + self.dates.schedule_max_years_ahead, day=28)

    def fact_date_problem(self, value: date, today: date | None = None) -> str | None:
        """Why a date of something that happened is implausible, or None."""
        if value < self.dates.earliest:
            return f"must not be before {self.dates.earliest.isoformat()}"
        latest = self.latest_fact(today)
        if value > latest:
            return (
                f"must not be after {latest.isoformat()} (at most "
                f"{self.dates.facts_max_days_ahead} days ahead)"
            )
        return None

    def scheduled_date_problem(self, value: date, today: date | None = None) -> str | None:
        """Why a scheduled date (maturity, due date) is implausible, or None."""
        if value < self.dates.earliest:
            return f"must not be before {self.dates.earliest.isoformat()}"
        latest = self.latest_scheduled(today)
        if value > latest:
            return (
                f"must not be after {latest.isoformat()} (at most "
                f"{self.dates.schedule_max_years_ahead} years ahead)"
            )
        return None

    # -- currencies ------------------------------------------------------------------------

    def currency_problem(self, code: str) -> str | None:
        if code not in self.currencies:
            return f"{code!r} is not an active ISO 4217 currency code"
        return None


def load_bounds(path: Path | None = None) -> InputBounds:
    path = path or Path(os.environ.get("POSTLOAN_INPUT_BOUNDS_FILE", DEFAULT_PATH))
    with path.open(encoding="utf-8") as f:
        return InputBounds.model_validate(yaml.safe_load(f) or {})


@lru_cache
def bounds() -> InputBounds:
    """The process-wide bounds, read once."""
    return load_bounds()


# -- ids ------------------------------------------------------------------------------------


def id_taken_message(kind: str, wanted: str, stored: str) -> str:
    """The 409 text for a new id that is taken (exactly, or ignoring case)."""
    if wanted == stored:
        return f"{kind} {wanted!r} already exists"
    return (
        f"{kind} {stored!r} already exists; ids are case-sensitive but may not differ only "
        f"in case ({wanted!r})"
    )


# -- text ------------------------------------------------------------------------------------

#: Line breaks and tabs are allowed in multi-line texts (notes, descriptions, details) only.
MULTILINE_ALLOWED = frozenset("\n\r\t")


def control_character_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why a text is refused: a control character (NUL, escape, C1 controls...) or a lone
    surrogate (not encodable, refused by PostgreSQL). Line breaks and tabs only in multi-line
    texts. None when the text is clean."""
    for position, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cc" and not (multiline and char in MULTILINE_ALLOWED):
            return f"must not contain control characters (U+{ord(char):04X} at position {position})"
        if category == "Cs":
            return (
                f"must not contain unpaired surrogates (U+{ord(char):04X} at position {position})"
            )
    return None
