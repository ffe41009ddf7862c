"""Risk compensation use cases (issue 12): deferred pay released or clawed back."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

#: The outcomes of a due-diligence review.
OUTCOMES = ("exempt", "reduced", "full_accountability")


def record_determination(
    session: Session,
    *,
    review_id: str,
    loan_id: str,
    person: str,
    outcome: str,
    determined_on: date,
    actor: str,
) -> None:
    """A review of ``person``'s loan was determined (not yet final: an appeal may follow).

    Called by the due-diligence use case in its own transaction; idempotent by ``review_id``."""
    raise NotImplementedError("issue 12: being built")


def record_final(
    session: Session, *, review_id: str, outcome: str, final_on: date, actor: str
) -> None:
    """The review's outcome is final (appeal window passed, or the appeal decided): release or
    claw back the person's deferred pay accordingly. Idempotent by ``review_id``."""
    raise NotImplementedError("issue 12: being built")
