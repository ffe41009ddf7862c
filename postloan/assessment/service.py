"""Assessment use cases (issue 12): compute a period's indicators and scorecards, store the
scorecards of a closed period, read them back.

A closed period computed by ``postloanctl assess`` is stored (``assessment_run`` and
``assessment_result``); recomputing replaces it in one transaction. A period not computed yet
(an open one, or a closed one nobody ran the command for) is computed on the fly from the
database, nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.assessment import config as assessment_config
from postloan.assessment import indicators as facts
from postloan.assessment import periods
from postloan.assessment.models import AssessmentResult, AssessmentRun
from postloan.assessment.results import LEVELS, IndicatorValue, Scorecard
from postloan.assessment.scorecard import ScorecardTable, bundled, score_level
from postloan.customers.references import branches
from postloan.errors import InvalidInput
from postloan.vendors.models import Vendor


def parse_level(level: str | None, field: str = "level") -> str:
    if level not in LEVELS:
        raise InvalidInput(
            f"{field} must be one of {', '.join(LEVELS)}, not {level!r}", field=field
        )
    return level


def _names(session: Session, level: str) -> dict[str, str]:
    if level == "vendor":
        return {v: n for v, n in session.execute(select(Vendor.id, Vendor.name))}
    if level == "branch":
        return dict(branches())
    return assessment_config.person_names()


def compute(
    session: Session,
    *,
    period: str,
    levels: Iterable[str] = LEVELS,
    today: date | None = None,
    table: ScorecardTable | None = None,
) -> dict[str, list[Scorecard]]:
    """Compute (never read the stored copy) the scorecards of ``levels`` in ``period``."""
    span = periods.parse(period)
    wanted = [parse_level(level) for level in levels]
    config = assessment_config.load()
    measured = facts.compute(session, span, today=today or date.today(), config=config)
    table = table or bundled()
    return {
        level: score_level(
            period=span.key,
            level=level,
            measures=measured.level(level),
            names=_names(session, level),
            table=table,
            config=config,
        )
        for level in wanted
    }


def stored_run(session: Session, *, period: str, level: str) -> AssessmentRun | None:
    return session.scalars(
        select(AssessmentRun).where(AssessmentRun.period == period, AssessmentRun.level == level)
    ).one_or_none()


def scorecards(
    session: Session,
    *,
    period: str,
    level: str,
    today: date | None = None,
    table: ScorecardTable | None = None,
) -> list[Scorecard]:
    """Every subject's scorecard of the level in the period, best first.

    The stored scorecards when the period was computed (``postloanctl assess``, closed periods
    only); otherwise — an open period, or a closed one not computed yet — computed on the fly
    from the database and not stored. ``period``/``level`` that are not valid raise
    :class:`InvalidInput` naming the field.
    """
    span = periods.parse(period)
    level = parse_level(level)
    run = stored_run(session, period=span.key, level=level)
    if run is None:
        return compute(session, period=span.key, levels=[level], today=today, table=table)[level]
    rows = session.scalars(
        select(AssessmentResult)
        .where(AssessmentResult.run_id == run.id)
        .order_by(AssessmentResult.rank, AssessmentResult.subject_id)
    )
    return [
        Scorecard(
            period=run.period,
            level=run.level,
            subject_id=r.subject_id,
            subject_name=r.subject_name,
            score=r.score,
            band=r.band,
            rank=r.rank,
            indicators=tuple(IndicatorValue(**i) for i in r.indicators),
        )
        for r in rows
    ]


def by_level(
    session: Session, *, period: str, levels: Iterable[str] = LEVELS, today: date | None = None
) -> list[tuple[str, bool, list[Scorecard]]]:
    """``(level, stored, scorecards)`` for each level, in order: the stored scorecards where the
    period was computed, the rest computed on the fly together (one pass over the facts)."""
    span = periods.parse(period)
    wanted = [parse_level(level) for level in levels]
    stored = {lvl for lvl in wanted if stored_run(session, period=span.key, level=lvl) is not None}
    missing = [lvl for lvl in wanted if lvl not in stored]
    fresh = compute(session, period=span.key, levels=missing, today=today) if missing else {}
    return [
        (
            lvl,
            lvl in stored,
            scorecards(session, period=span.key, level=lvl) if lvl in stored else fresh[lvl],
        )
        for lvl in wanted
    ]


def store_period(
    session: Session,
    *,
    period: str,
    levels: Iterable[str] = LEVELS,
    actor: str,
    today: date | None = None,
    table: ScorecardTable | None = None,
) -> dict[str, list[Scorecard]]:
    """Compute a closed period and store its scorecards, replacing an earlier computation.

    The caller owns the transaction: the old runs are deleted and the new ones written in it, so
    a failure leaves the earlier computation as it was. An open period is refused (its facts
    still change), naming the field ``period``.
    """
    span = periods.parse(period)
    today = today or date.today()
    if not span.is_closed(today):
        raise InvalidInput(
            f"period {span.key} is not closed yet (it ends on {span.end.isoformat()}); "
            "only a closed period is computed and stored",
            field="period",
        )
    wanted = [parse_level(level) for level in levels]
    digest = (table or bundled()).digest
    computed = compute(session, period=span.key, levels=wanted, today=today, table=table)
    for level, cards in computed.items():
        old = stored_run(session, period=span.key, level=level)
        replaced = old is not None
        if old is not None:
            session.execute(delete(AssessmentResult).where(AssessmentResult.run_id == old.id))
            session.delete(old)
            session.flush()
        run = AssessmentRun(
            period=span.key,
            level=level,
            computed_by=actor,
            subjects=len(cards),
            scorecard_digest=digest,
        )
        session.add(run)
        session.flush()
        session.add_all(
            AssessmentResult(
                run_id=run.id,
                subject_id=c.subject_id,
                subject_name=c.subject_name,
                score=c.score,
                band=c.band,
                rank=c.rank,
                indicators=[asdict(i) for i in c.indicators],
            )
            for c in cards
        )
        audit.record(
            session,
            actor=actor,
            action="assessment.computed",
            object_type="assessment",
            object_id=f"{span.key}/{level}",
            detail={
                "period": span.key,
                "level": level,
                "subjects": len(cards),
                "replaced": replaced,
                "scorecard_digest": digest,
            },
        )
    session.flush()
    return computed
