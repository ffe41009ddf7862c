"""Five-category classification: a loan's history of class moves, and changes by status."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter

from api.deps import Reader, SessionDep
from api.schemas import Limit1000, Offset, PathId, Strict
from postloan.classification import service
from postloan.loans.models import ClassificationChange

router = APIRouter(tags=["classification"])


class ClassificationChangeOut(Strict):
    id: int
    loan_id: str
    from_class: str
    to_class: str
    reason: str
    source: str
    status: str
    decided_by: str
    at: datetime

    @classmethod
    def of(cls, change: ClassificationChange) -> ClassificationChangeOut:
        return cls(
            id=change.id,
            loan_id=change.loan_id,
            from_class=change.from_class,
            to_class=change.to_class,
            reason=change.reason,
            source=change.source,
            status=change.status,
            decided_by=change.decided_by,
            at=change.at,
        )


@router.get("/loans/{loan_id}/classification-history", response_model=list[ClassificationChangeOut])
def classification_history(
    loan_id: PathId, session: SessionDep, caller: Reader
) -> list[ClassificationChangeOut]:
    """Every move of the loan's class, oldest first: proposed, applied and rejected."""
    return [ClassificationChangeOut.of(c) for c in service.history(session, loan_id)]


@router.get("/classification-changes", response_model=list[ClassificationChangeOut])
def classification_changes(
    session: SessionDep,
    caller: Reader,
    status: Literal["applied", "proposed", "rejected"] | None = None,
    limit: Limit1000 = 100,
    offset: Offset = 0,
) -> list[ClassificationChangeOut]:
    """Classification changes, e.g. ``?status=proposed``: downgrades awaiting confirmation."""
    return [
        ClassificationChangeOut.of(c)
        for c in service.changes(session, status=status, limit=limit, offset=offset)
    ]
