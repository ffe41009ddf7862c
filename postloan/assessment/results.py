"""What an assessment gives: a scorecard per subject (a person, vendor or branch) and period,
each score explained by its indicators. Shared by the API, the dashboards and the command."""

from __future__ import annotations

from dataclasses import dataclass

#: The levels a period is assessed at.
LEVELS = ("account_manager", "postloan_officer", "vendor", "branch")


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator of one subject in one period, and what it adds to the score."""

    key: str  # e.g. "inspections_on_time"
    label: str  # words for people, e.g. "Inspections done on time"
    value: float | None  # a rate 0..1, a count or days; None: nothing to measure this period
    numerator: int | None
    denominator: int | None
    weight: float  # from the scorecard (DMN assessment_scorecard)
    points: float  # what it adds to the score
    explanation: str  # e.g. "18 of 20 planned inspections done by their due date"


@dataclass(frozen=True)
class Scorecard:
    period: str  # "2026-09", "2026-Q3" or "2026"
    level: str  # one of LEVELS
    subject_id: str
    subject_name: str
    score: float  # 0..100
    band: str  # from the scorecard's bands
    rank: int  # 1 = best of the level in the period
    indicators: tuple[IndicatorValue, ...]
