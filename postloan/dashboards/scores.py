"""The assessment's scorecards as the dashboards draw them: the on-time inspection rate of each
branch, and a level's ranking with every score's explanation (postloan.assessment)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from postloan.assessment import periods
from postloan.assessment import service as assessment
from postloan.assessment.results import LEVELS, IndicatorValue, Scorecard
from postloan.errors import InvalidInput

ON_TIME = "inspections_on_time"


@dataclass(frozen=True)
class BranchOnTime:
    """One branch's inspections done by their due date in the period."""

    branch_id: str
    branch_name: str
    rate: float | None  # 0..1; None: no inspection was due
    on_time: int | None
    due: int | None
    explanation: str


def on_time_by_branch(session: Session, period: str) -> list[BranchOnTime]:
    """Every branch's on-time inspection rate in ``period`` (best first, branches with nothing
    due last), from the branch scorecards' ``inspections_on_time`` indicator."""
    key = periods.parse(period).key
    rows = []
    for card in assessment.scorecards(session, period=key, level="branch"):
        indicator = _indicator(card, ON_TIME)
        if indicator is None:
            continue
        rows.append(
            BranchOnTime(
                card.subject_id,
                card.subject_name,
                indicator.value,
                indicator.numerator,
                indicator.denominator,
                indicator.explanation,
            )
        )
    return sorted(rows, key=lambda r: (r.rate is None, -(r.rate or 0.0), r.branch_name))


def _indicator(card: Scorecard, key: str) -> IndicatorValue | None:
    return next((i for i in card.indicators if i.key == key), None)


def ranking(session: Session, period: str, level: str) -> list[Scorecard]:
    """The level's scorecards in ``period``, best (rank 1) first."""
    if level not in LEVELS:
        raise InvalidInput(
            f"level must be one of {', '.join(LEVELS)}, not {level!r}", field="level"
        )
    key = periods.parse(period).key
    cards = assessment.scorecards(session, period=key, level=level)
    return sorted(cards, key=lambda c: (c.rank, c.subject_name))
