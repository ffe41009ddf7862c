"""Shared field types of the REST contract: every text, id, date, amount and page is bounded here.

Bounds come from ``config/input_bounds.yaml`` (:mod:`postloan.bounds`). A value beyond them is a
422 ``invalid_input`` naming the field; the bulk importer validates rows with the same models.

* Texts: ``Annotated[str, *text(max_length)]`` — stripped, at most ``max_length`` characters,
  no control characters (NUL, escape, C1...) and no unpaired surrogates; multi-line texts
  (notes, descriptions, details) may hold line breaks and tabs.
* Ids: letters, digits and ``_ . : -``, at most 64. Ids are case-sensitive, but a new customer,
  loan, collateral or vendor whose id equals an existing one ignoring case is refused (409): see
  the services and migration 0008's case-insensitive unique indexes.
* Dates: ``FactDate`` (something that happened: not before the configured earliest day, at most
  a few days ahead), ``ScheduledDate`` (maturity, due dates: at most N years ahead).
* Amounts: ``Money`` (> 0), ``MoneyOrZero``; loans, collaterals and statements have configured
  maxima.
* Responses: every datetime carries a time zone; a naive one (SQLite) is UTC (see ``Strict``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from postloan.bounds import bounds, control_character_problem

BOUNDS = bounds()

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
#: What the no-control-characters rule looks like in the OpenAPI document (JSON Schema regex).
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F]*$"
MULTILINE_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"


def _single_line(value: str) -> str:
    problem = control_character_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _multiline(value: str) -> str:
    problem = control_character_problem(value, multiline=True)
    if problem:
        raise ValueError(problem)
    return value


def text(max_length: int, *, min_length: int = 0, multiline: bool = False) -> tuple[Any, ...]:
    """The rules of a text field, as ``Annotated[str, *text(...)]`` (a plain str to the type
    checker): stripped, ``min_length``..``max_length`` characters, no control characters (line
    breaks and tabs allowed when ``multiline``)."""
    return (
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_multiline if multiline else _single_line),
        Field(
            json_schema_extra={"pattern": MULTILINE_PATTERN if multiline else SINGLE_LINE_PATTERN}
        ),
    )


Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=64, examples=["C-000123"])]
Name = Annotated[str, *text(200, min_length=1)]
#: A short single-line label (a rating, a code word).
Label = Annotated[str, *text(20, min_length=1)]
#: A person or system named as actor / owner / submitter.
Actor = Annotated[str, *text(100, min_length=1)]
#: A one-line reason or title.
Reason = Annotated[str, *text(2000, min_length=1)]
#: Multi-line free text: notes, descriptions, details, resolutions.
LongText = Annotated[str, *text(10_000, multiline=True)]
NonEmptyLongText = Annotated[str, *text(10_000, min_length=1, multiline=True)]


def _currency(code: str) -> str:
    problem = BOUNDS.currency_problem(code)
    if problem:
        raise ValueError(problem)
    return code


Currency = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        examples=["CNY"],
        json_schema_extra={"enum": sorted(BOUNDS.currencies)},
    ),
    AfterValidator(_currency),
]

_MONEY_DIGITS = {"max_digits": 18, "decimal_places": 2}
Money = Annotated[Decimal, Field(gt=0, **_MONEY_DIGITS)]
MoneyOrZero = Annotated[Decimal, Field(ge=0, **_MONEY_DIGITS)]
LoanAmount = Annotated[Decimal, Field(gt=0, le=BOUNDS.amounts.loan_max, **_MONEY_DIGITS)]
CollateralValue = Annotated[Decimal, Field(ge=0, le=BOUNDS.amounts.collateral_max, **_MONEY_DIGITS)]
StatementFigure = Annotated[
    Decimal,
    Field(ge=-BOUNDS.amounts.statement_max, le=BOUNDS.amounts.statement_max, **_MONEY_DIGITS),
]
StatementNonNegative = Annotated[
    Decimal, Field(ge=0, le=BOUNDS.amounts.statement_max, **_MONEY_DIGITS)
]


def _fact_date(value: date) -> date:
    problem = BOUNDS.fact_date_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _scheduled_date(value: date) -> date:
    problem = BOUNDS.scheduled_date_problem(value)
    if problem:
        raise ValueError(problem)
    return value


_FACT_HELP = (
    f"not before {BOUNDS.dates.earliest.isoformat()}, at most "
    f"{BOUNDS.dates.facts_max_days_ahead} days after today"
)
_SCHEDULE_HELP = (
    f"not before {BOUNDS.dates.earliest.isoformat()}, at most "
    f"{BOUNDS.dates.schedule_max_years_ahead} years after today"
)
#: The date of something that happened (disbursement, payment, event, valuation, period end).
FactDate = Annotated[date, AfterValidator(_fact_date), Field(description=_FACT_HELP)]
#: A scheduled date (maturity, an instalment's due date).
ScheduledDate = Annotated[date, AfterValidator(_scheduled_date), Field(description=_SCHEDULE_HELP)]


def _fact_datetime(value: datetime) -> datetime:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    problem = BOUNDS.fact_date_problem(value.astimezone(UTC).date())
    if problem:
        raise ValueError(problem)
    return value


#: When something happened (a visit); without a time zone it is UTC.
FactDateTime = Annotated[datetime, AfterValidator(_fact_datetime), Field(description=_FACT_HELP)]

# -- path and query parameters --------------------------------------------------------------

#: An id in a path: the id pattern (anything else cannot exist: 422, not a lookup).
PathId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]
#: An id filter in a query.
QueryId = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)]
#: A numeric id in a path (database integers are 64-bit).
PathInt = Annotated[int, Path(ge=1, le=2**63 - 1)]
OFFSET_MAX = BOUNDS.paging.offset_max
Offset = Annotated[
    int, Query(ge=0, le=OFFSET_MAX, description=f"rows to skip, at most {OFFSET_MAX}")
]
#: Page sizes (give the default at the parameter).
Limit500 = Annotated[int, Query(ge=1, le=500)]
Limit1000 = Annotated[int, Query(ge=1, le=1000)]


def _iso_day(value: object) -> object:
    """A day in a query is written ``2026-12-31`` (not a number such as ``0``, which pydantic
    would read as a Unix timestamp)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a day written like 2026-12-31")
    return value


#: A day as a query filter (optional).
QueryDate = Annotated[
    date | None,
    BeforeValidator(_iso_day),
    Query(ge=date(1900, 1, 1), le=date(2200, 12, 31), description="a day, e.g. 2026-12-31"),
]


# -- models ---------------------------------------------------------------------------------


def _with_time_zone(value: Any) -> Any:
    """Naive datetimes (SQLite returns them) are UTC; nested dicts and lists too."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dict):
        return {k: _with_time_zone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_time_zone(v) for v in value]
    return value


class Strict(BaseModel):
    """Unknown fields are refused: a misspelt field must not be silently dropped.

    Every datetime of every model (responses included) carries a time zone: a naive value is
    taken as UTC, so responses always serialize with ``+00:00`` or the stored offset."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _aware(cls, value: Any) -> Any:
        return _with_time_zone(value)


class Page(BaseModel):
    total: int
    limit: int
    offset: int
