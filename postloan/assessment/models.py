"""Tables of assessment (issue 12): the stored scorecards of computed (closed) periods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postloan.db import Base, utcnow


class AssessmentRun(Base):
    """One computation of a closed period at one level by ``postloanctl assess``.

    Unique per period and level: recomputing deletes the old run (its results go with it) and
    writes the new one in the same transaction, so readers see the old scorecards or the new
    ones, never a mix. ``scorecard_digest`` is the SHA-256 of the scorecard DMN that scored it.
    """

    __tablename__ = "assessment_run"
    __table_args__ = (UniqueConstraint("period", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(20))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    computed_by: Mapped[str] = mapped_column(String(100))
    subjects: Mapped[int] = mapped_column(Integer)
    scorecard_digest: Mapped[str] = mapped_column(String(64))


class AssessmentResult(Base):
    """One subject's scorecard in a run; ``indicators`` holds its explained indicator values
    (the fields of :class:`postloan.assessment.results.IndicatorValue`, in order)."""

    __tablename__ = "assessment_result"
    __table_args__ = (UniqueConstraint("run_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_run.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[str] = mapped_column(String(100))
    subject_name: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
