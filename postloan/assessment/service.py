"""Assessment use cases (issue 12): compute a period's indicators and scorecards."""

from __future__ import annotations

from sqlalchemy.orm import Session

from postloan.assessment.results import Scorecard


def scorecards(session: Session, *, period: str, level: str) -> list[Scorecard]:
    """Every subject's scorecard of the level in the period, best first."""
    raise NotImplementedError("issue 12: being built")
