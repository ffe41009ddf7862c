"""The arithmetic of deferred pay, pure (no database): pay periods, the split of a period's
performance pay into the part paid now and the deferred tranches, and a clawback's amount.

Amounts are :class:`~decimal.Decimal` with two places. The deferred amount is the performance
pay times the deferred share, rounded as configured; the tranches are cut down to the cent and
the last one takes the remainder, so they always sum exactly to the deferred amount (and the
paid-now part plus the tranches exactly to the performance pay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from postloan.compensation.config import CompensationRules

CENT = Decimal("0.01")

#: How a period is written, per ``pay_period``.
PERIOD_FORMATS = {
    "year": (re.compile(r"^([0-9]{4})$"), "2026"),
    "quarter": (re.compile(r"^([0-9]{4})-Q([1-4])$"), "2026-Q3"),
    "month": (re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$"), "2026-07"),
}


@dataclass(frozen=True)
class PayPeriod:
    """A pay period: its label (``2026``, ``2026-Q3``, ``2026-07``), first and last day."""

    label: str
    start: date
    end: date


def period_problem(label: str, pay_period: str) -> str | None:
    """Why ``label`` is not a period of the configured convention, or None."""
    pattern, example = PERIOD_FORMATS[pay_period]
    match = pattern.fullmatch(label)
    if not match or not 1900 <= int(match.group(1)) <= 2200:
        return f"{label!r} is not a {pay_period} period: write it like {example!r}"
    return None


def parse_period(label: str, pay_period: str) -> PayPeriod:
    """The period ``label`` names (its format checked first with :func:`period_problem`)."""
    problem = period_problem(label, pay_period)
    if problem:
        raise ValueError(problem)
    year = int(label[:4])
    if pay_period == "year":
        first, months = 1, 12
    elif pay_period == "quarter":
        first, months = (int(label[-1]) - 1) * 3 + 1, 3
    else:
        first, months = int(label[5:7]), 1
    start = date(year, first, 1)
    after = first + months
    end = (date(year + 1, 1, 1) if after > 12 else date(year, after, 1)) - timedelta(days=1)
    return PayPeriod(label, start, end)


def anniversary(day: date, years: int) -> date:
    """``day`` ``years`` years later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Tranche:
    number: int  # 1 .. deferral_years
    amount: Decimal
    due_on: date


@dataclass(frozen=True)
class Split:
    """A period's performance pay: ``paid_now`` + the ``tranches`` (summing to ``deferred``)."""

    paid_now: Decimal
    deferred: Decimal
    tranches: tuple[Tranche, ...]


def split(performance_pay: Decimal, period: PayPeriod, rules: CompensationRules) -> Split:
    """Divide ``performance_pay`` of ``period`` as the rules say (see the module docstring)."""
    pay = performance_pay.quantize(CENT, rounding=ROUND_DOWN)
    if pay != performance_pay:
        raise ValueError(f"{performance_pay} has more than two decimal places")
    deferred = (pay * rules.deferred_share).quantize(CENT, rounding=rules.rounding_mode)
    years = rules.deferral_years
    each = (deferred / years).quantize(CENT, rounding=ROUND_DOWN)
    amounts = [each] * (years - 1) + [deferred - each * (years - 1)]
    tranches = tuple(
        Tranche(number=n, amount=amount, due_on=anniversary(period.end, n))
        for n, amount in enumerate(amounts, start=1)
    )
    return Split(paid_now=pay - deferred, deferred=deferred, tranches=tranches)


def clawback(outstanding: Decimal, share: Decimal, rules: CompensationRules) -> Decimal:
    """What ``share`` of an ``outstanding`` tranche is clawed back (never more than it)."""
    return min(outstanding, (outstanding * share).quantize(CENT, rounding=rules.rounding_mode))


def in_reach(period: PayPeriod, *, reaches_from: date | None, reaches_until: date) -> bool:
    """Whether a review reaches ``period``: it began on or before ``reaches_until`` (the
    determination) and ended on or after ``reaches_from`` (the loan's disbursement; None: any)."""
    return period.start <= reaches_until and (reaches_from is None or period.end >= reaches_from)
