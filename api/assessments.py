"""Incentive and restraint assessment: indicators and scores per period and level.

``GET /assessments`` (JSON, paginated) and ``GET /assessments.csv`` (one row per subject and
indicator). A period computed by ``postloanctl assess`` answers from its stored scorecards
(``stored: true``); any other period is computed on the fly from the database.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import Reader, SessionDep
from api.schemas import Limit500, Offset, Page, Strict
from postloan.assessment import periods
from postloan.assessment import service as assessment
from postloan.assessment.results import LEVELS, Scorecard

router = APIRouter(tags=["assessments"])

PeriodQuery = Annotated[
    str,
    Query(
        max_length=10,
        description="a month `2026-09`, a quarter `2026-Q3` or a year `2026`",
        examples=["2026-Q3"],
    ),
]
LevelQuery = Annotated[
    str | None,
    Query(max_length=20, description=f"one of {', '.join(LEVELS)}; default: every level"),
]
SubjectQuery = Annotated[
    str | None,
    Query(
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="one subject: a user id, vendor id or branch code",
    ),
]


class IndicatorOut(Strict):
    key: str
    label: str
    value: float | None
    numerator: int | None
    denominator: int | None
    weight: float
    points: float
    explanation: str


class ScorecardOut(Strict):
    period: str
    level: str
    subject_id: str
    subject_name: str
    score: float
    band: str
    rank: int
    stored: bool
    indicators: list[IndicatorOut]


class AssessmentList(Page):
    items: list[ScorecardOut]


def _scorecards(
    session: Session, period: str, level: str | None, subject_id: str | None
) -> list[tuple[Scorecard, bool]]:
    levels = [level] if level is not None else list(LEVELS)
    return [
        (card, stored)
        for _level, stored, cards in assessment.by_level(session, period=period, levels=levels)
        for card in cards
        if subject_id is None or card.subject_id == subject_id
    ]


def _out(card: Scorecard, stored: bool) -> ScorecardOut:
    return ScorecardOut(
        period=card.period,
        level=card.level,
        subject_id=card.subject_id,
        subject_name=card.subject_name,
        score=card.score,
        band=card.band,
        rank=card.rank,
        stored=stored,
        indicators=[
            IndicatorOut(
                key=i.key,
                label=i.label,
                value=i.value,
                numerator=i.numerator,
                denominator=i.denominator,
                weight=i.weight,
                points=i.points,
                explanation=i.explanation,
            )
            for i in card.indicators
        ],
    )


@router.get(
    "/assessments",
    response_model=AssessmentList,
    summary="Scores, bands, ranks and explained indicators per subject of a period",
)
def list_assessments(
    session: SessionDep,
    caller: Reader,
    period: PeriodQuery,
    level: LevelQuery = None,
    subject_id: SubjectQuery = None,
    limit: Limit500 = 50,
    offset: Offset = 0,
) -> AssessmentList:
    found = _scorecards(session, period, level, subject_id)
    page = found[offset : offset + limit]
    return AssessmentList(
        total=len(found), limit=limit, offset=offset, items=[_out(c, s) for c, s in page]
    )


CSV_COLUMNS = (
    "period",
    "level",
    "subject_id",
    "subject_name",
    "score",
    "band",
    "rank",
    "indicator",
    "label",
    "value",
    "numerator",
    "denominator",
    "weight",
    "points",
    "explanation",
)


def _cell(value: object) -> object:
    """No cell may start a spreadsheet formula (names and labels come from people)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


@router.get(
    "/assessments.csv",
    summary="The same as CSV: one row per subject and indicator, with a header row",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8, header row"}},
)
def assessments_csv(
    session: SessionDep,
    caller: Reader,
    period: PeriodQuery,
    level: LevelQuery = None,
    subject_id: SubjectQuery = None,
) -> Response:
    found = _scorecards(session, period, level, subject_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for card, _stored in found:
        for i in card.indicators:
            row = (
                card.period,
                card.level,
                card.subject_id,
                card.subject_name,
                card.score,
                card.band,
                card.rank,
                i.key,
                i.label,
                i.value,
                i.numerator,
                i.denominator,
                i.weight,
                i.points,
                i.explanation,
            )
            writer.writerow([_cell(v) for v in row])
    name = f"assessments-{periods.parse(period).key}{'-' + level if level else ''}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
