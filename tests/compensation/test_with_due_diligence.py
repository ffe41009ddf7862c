"""The ledger driven by the real due-diligence use case (postloan/due_diligence/service.py, no
engine): a loan of am_qian turns substandard, its review is determined *full accountability*
and becomes final when the appeal window closes — the deferred pay of the year the loan was
disbursed in is held at the determination and clawed back when final; determined *exempt*, the
hold is lifted and nothing is clawed back.

The review is built with the due-diligence tests' own helpers (tests/due_diligence), so both
slices are exercised exactly as they are wired."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from due_diligence.test_reviews_unit import DISBURSED, _determinable
from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.compensation import service as compensation
from postloan.compensation.models import CompensationEntry
from postloan.db import get_session_factory
from postloan.due_diligence import service as reviews

D = Decimal
PERSON = "am_qian"  # the account manager of the helpers' loans
TODAY = date.today()


@pytest.fixture
def session(db: str) -> Iterator[Session]:
    session = get_session_factory(db)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def _rows(session: Session, kind: str) -> list[tuple[int | None, Decimal, str | None]]:
    return [
        (e.tranche, e.amount, e.review_id)
        for e in session.scalars(
            select(CompensationEntry)
            .where(CompensationEntry.person == PERSON, CompensationEntry.kind == kind)
            .order_by(CompensationEntry.id)
        )
    ]


def _pay_for_the_disbursement_year(session: Session) -> None:
    compensation.import_bases(
        session,
        [compensation.PayBaseItem(PERSON, str(DISBURSED.year), D("100000.00"), "CNY")],
        actor="payroll",
        today=TODAY,
    )


@pytest.mark.parametrize(
    ("outcome", "clawed"),
    [
        ("full_accountability", [D("13333.33"), D("13333.33"), D("13333.34")]),
        ("reduced", [D("6666.67"), D("6666.67"), D("6666.67")]),
        ("exempt", []),
    ],
)
def test_a_determination_holds_and_the_final_outcome_claws_back(session, outcome, clawed):
    _pay_for_the_disbursement_year(session)
    review = _determinable(session)
    long_ago = datetime.now(UTC) - timedelta(days=16)  # the appeal window (15 days) is over
    reviews.record_determination(
        session, review.id, outcome=outcome, note="as found", actor="cm_gao", now=long_ago
    )
    held = _rows(session, "hold")
    assert [(t, a) for t, a, _ in held] == [
        (1, D("13333.33")),
        (2, D("13333.33")),
        (3, D("13333.34")),
    ]
    assert {r for _, _, r in held} == {str(review.id)}
    assert _rows(session, "clawback") == []
    reviews.close_window(session, review.id, actor="worker")
    assert [a for _, a, _ in _rows(session, "clawback")] == clawed
    assert len(_rows(session, "hold_lifted")) == 3
    [totals] = compensation.person_totals(session, compensation.LedgerFilter(), {PERSON})
    assert totals.clawed_back == sum(clawed, D("0.00"))
    assert totals.held == D("0.00")
    assert totals.deferred_outstanding == D("40000.00") - totals.clawed_back
