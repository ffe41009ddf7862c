"""Two callers at once: the same review made final twice, the release run twice, the same pay
base imported twice — one set of rows each time (the unique constraints decide, not a look
before the write). SQLite here; PostgreSQL in the ``postgres`` tier below."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from postloan.compensation import service as compensation
from postloan.compensation.models import CompensationEntry, CompensationReview, PayBase
from postloan.db import get_engine, unit_of_work

from .conftest import PERSON, create_database, migrated, seed

D = Decimal


def at_once(n: int, work: Callable[[], object]) -> list[BaseException]:
    """Run ``work`` on ``n`` threads released together; the exceptions they raised."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def _import(url: str) -> None:
    with unit_of_work(url) as session:
        compensation.import_bases(
            session,
            [compensation.PayBaseItem(PERSON, "2025", D("100000.00"), "CNY")],
            actor="payroll",
            today=date(2026, 12, 3),
        )


def _rows(url: str, kind: str | None = None) -> list[tuple[str, int | None, Decimal]]:
    with unit_of_work(url) as session:
        query = select(CompensationEntry).order_by(CompensationEntry.id)
        if kind:
            query = query.where(CompensationEntry.kind == kind)
        return [(e.kind, e.tranche, e.amount) for e in session.scalars(query)]


def _final(url: str, review: str) -> Callable[[], None]:
    def work() -> None:
        with unit_of_work(url) as session:
            compensation.record_final(
                session,
                review_id=review,
                outcome="full_accountability",
                final_on=date(2027, 4, 1),
                actor="cm_liu",
            )

    return work


def concurrent_final_leaves_one_set_of_rows(url: str) -> None:
    _import(url)
    with unit_of_work(url) as session:
        compensation.record_determination(
            session,
            review_id="R-C",
            loan_id="L-C1",
            person=PERSON,
            outcome="full_accountability",
            determined_on=date(2027, 3, 1),
            actor="cm_liu",
        )
    assert at_once(2, _final(url, "R-C")) == []
    assert _rows(url, "clawback") == [
        ("clawback", 1, D("13333.33")),
        ("clawback", 2, D("13333.33")),
        ("clawback", 3, D("13333.34")),
    ]
    assert len(_rows(url, "hold_lifted")) == 3
    with unit_of_work(url) as session:
        assert session.scalar(select(func.count()).select_from(CompensationReview)) == 2


def concurrent_release_runs_release_once(url: str) -> None:
    _import(url)

    def work() -> None:
        with unit_of_work(url) as session:
            compensation.release_due(session, as_of=date(2030, 1, 1), actor="postloanctl")

    assert at_once(3, work) == []
    assert _rows(url, "release") == [
        ("release", 1, D("13333.33")),
        ("release", 2, D("13333.33")),
        ("release", 3, D("13333.34")),
    ]


def concurrent_imports_write_one_pay_base(url: str) -> None:
    assert at_once(3, lambda: _import(url)) == []
    with unit_of_work(url) as session:
        assert session.scalar(select(func.count()).select_from(PayBase)) == 1
    assert len(_rows(url)) == 4


SCENARIOS = [
    concurrent_final_leaves_one_set_of_rows,
    concurrent_release_runs_release_once,
    concurrent_imports_write_one_pay_base,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_on_sqlite(db, scenario):
    scenario(db)


@pytest.mark.postgres
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_on_postgresql(postgres_server, scenario):
    url = migrated(create_database(postgres_server, f"comp_{scenario.__name__[:40]}"))
    try:
        seed(url)
        scenario(url)
    finally:
        get_engine(url).dispose()
