"""The dashboards' queries against a seeded SQLite database (no engine).

- The five-category migration matrix equals the hand-computed counts and amounts: the class at a
  date is the last applied change at or before it, else the from-class of the first later one,
  else the loan's current class; proposed and rejected changes do not count; loans disbursed
  after ``from`` are new, after ``to`` left out.
- Signals per week and month by severity, the range's edges included and nothing outside.
- Open rectifications and restrictions in force by age bucket (config/dashboards.yaml), the
  buckets' edges on the right side, closed and lifted ones left out.

Each runs on SQLite (fast tier) and on PostgreSQL (marker ``postgres``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import customer_row
from pgcluster import create_database
from sqlite_template import copy_of

from config.settings import Settings
from postloan.dashboards import queries
from postloan.dashboards import settings as dashboard_settings
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.errors import InvalidInput
from postloan.loans.models import ClassificationChange, Loan
from postloan.rectifications.models import Rectification, Restriction
from postloan.signals.models import RiskSignal
from postloanctl.__main__ import migrate

FROM, TO = date(2026, 6, 30), date(2026, 9, 30)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Any:
    """A migrated database with two customers: a SQLite copy, or a fresh PostgreSQL database
    (the same queries on both: set-based SQL, window functions, CASE buckets)."""
    if request.param == "sqlite":
        url = copy_of(sqlite_template, tmp_path / "dashboards.db")
    else:
        server = request.getfixturevalue("postgres_server")
        url = create_database(server, f"dashboards_{uuid.uuid4().hex[:8]}")
        migrate(Settings(database_url=url))
    with unit_of_work(url) as session:
        for cid, branch in (("C-A", "BR-SH-01"), ("C-B", "BR-BJ-02")):
            session.add(customer_row(cid, branch=branch, account_manager="am_li"))
    yield url
    db_engine(url).dispose()


def add_loan(
    session: Any,
    lid: str,
    disbursed: date,
    current: str,
    amount: str = "100000",
    currency: str = "CNY",
) -> None:
    session.add(
        Loan(
            id=lid,
            customer_id="C-A",
            product="P",
            amount=Decimal(amount),
            currency=currency,
            disbursed_on=disbursed,
            maturity_on=date(2030, 1, 1),
            purpose="stock",
            risk_class=current,
        )
    )
    session.flush()


def change(session: Any, lid: str, old: str, new: str, when: datetime, status="applied") -> None:
    session.add(
        ClassificationChange(
            loan_id=lid,
            from_class=old,
            to_class=new,
            reason="test",
            source="test",
            status=status,
            decided_by="tests",
            at=when,
        )
    )


def test_the_migration_matrix_equals_the_hand_computed_counts(db: str) -> None:
    old = date(2025, 1, 10)
    with unit_of_work(db) as s:
        # L1: special mention before `from`, substandard in between: SM -> substandard.
        add_loan(s, "L1", old, "substandard", "200000")
        change(s, "L1", "normal", "special_mention", at(date(2026, 3, 1)))
        change(s, "L1", "special_mention", "substandard", at(date(2026, 8, 1)))
        # L2 (USD) and L6: never changed (L6 only proposed and rejected): normal -> normal.
        add_loan(s, "L2", old, "normal", "50000", "USD")
        add_loan(s, "L6", old, "normal", "300000")
        change(s, "L6", "normal", "substandard", at(date(2026, 7, 15)), "proposed")
        change(s, "L6", "normal", "doubtful", at(date(2026, 5, 15)), "rejected")
        # L3: its only change is after `to`: its from-class holds on both dates.
        add_loan(s, "L3", old, "loss", "400000")
        change(s, "L3", "doubtful", "loss", at(date(2026, 10, 15)))
        # L4: disbursed after `from`: new -> special mention.
        add_loan(s, "L4", date(2026, 8, 1), "special_mention", "10000")
        change(s, "L4", "normal", "special_mention", at(date(2026, 9, 1)))
        # L5: disbursed after `to`: not in the matrix at all.
        add_loan(s, "L5", date(2026, 10, 1), "normal")
        # L7: changed late on the `from` day and again on the `to` day (both count as "at").
        add_loan(s, "L7", old, "normal", "70000")
        change(s, "L7", "normal", "special_mention", at(FROM, 23))
        change(s, "L7", "special_mention", "normal", at(TO, 1))
    with unit_of_work(db) as s:
        m = queries.migration(s, FROM, TO)
    got = {(c.from_class, c.to_class, c.currency): (c.loans, c.amount) for c in m.cells}
    assert got == {
        ("normal", "normal", "CNY"): (1, Decimal("300000")),
        ("normal", "normal", "USD"): (1, Decimal("50000")),
        ("special_mention", "substandard", "CNY"): (1, Decimal("200000")),
        ("special_mention", "normal", "CNY"): (1, Decimal("70000")),
        ("doubtful", "doubtful", "CNY"): (1, Decimal("400000")),
        ("new", "special_mention", "CNY"): (1, Decimal("10000")),
    }
    assert m.total == 6
    assert m.count("normal", "normal") == 2
    assert m.amounts("normal", "normal") == {"CNY": Decimal("300000"), "USD": Decimal("50000")}
    # One day earlier, L7's change on the `from` day has not happened yet: normal -> normal.
    with unit_of_work(db) as s:
        earlier = queries.migration(s, FROM - timedelta(days=1), TO)
    assert earlier.count("normal", "normal") == 3
    assert earlier.count("special_mention", "normal") == 0


def test_each_dashboard_query_is_one_statement_however_many_loans(db: str) -> None:
    """Set-based: one SELECT per chart, not one per loan."""
    from sqlalchemy import event

    with unit_of_work(db) as s:
        for n in range(40):
            add_loan(s, f"M{n}", date(2025, 1, 1), "normal")
            change(s, f"M{n}", "normal", "special_mention", at(date(2026, 8, 1 + n % 20)))
            signal(s, n, "red", at(date(2026, 9, 1 + n % 20)))
    statements: list[str] = []
    with unit_of_work(db) as s:
        connection = s.connection()
        event.listen(connection, "before_cursor_execute", lambda *a: statements.append(a[2]))
        m = queries.migration(s, FROM, TO)
        found = queries.signals_over_time(s, FROM, TO, "week")
        queries.ages(s, TODAY)
    assert m.count("normal", "special_mention") == 40 and found.total == 40
    # migration 1, signals 1, ages 3 (rectifications, restrictions, overdue)
    assert len(statements) == 5, statements


def test_a_migration_backwards_in_time_is_refused_naming_to(db: str) -> None:
    with unit_of_work(db) as s, pytest.raises(InvalidInput) as refused:
        queries.migration(s, TO, FROM)
    assert refused.value.field == "to"


def signal(session: Any, n: int, severity: str, when: datetime) -> None:
    session.add(
        RiskSignal(
            code="LITIGATION",
            customer_id="C-A",
            severity=severity,
            owner_role="account_manager",
            summary="test",
            source="test",
            dedupe_key=f"k-{n}",
            respond_by=when.date(),
            last_seen_at=when,
            created_at=when,
        )
    )


def test_signals_are_counted_per_week_and_month_by_severity(db: str) -> None:
    # Monday 7 September 2026 .. Sunday 27 September 2026: three weeks.
    with unit_of_work(db) as s:
        signal(s, 1, "red", at(date(2026, 9, 7), 0))  # the first moment of the range
        signal(s, 2, "red", at(date(2026, 9, 9)))
        signal(s, 3, "blue", at(date(2026, 9, 13), 23))  # the week's Sunday, late
        signal(s, 4, "orange", at(date(2026, 9, 14), 0))  # the next Monday
        signal(s, 5, "yellow", at(date(2026, 9, 27), 23))  # the last day of the range
        signal(s, 6, "red", at(date(2026, 9, 28), 0))  # after the range
        signal(s, 7, "red", at(date(2026, 9, 6), 23))  # before the range
    with unit_of_work(db) as s:
        weekly = queries.signals_over_time(s, date(2026, 9, 7), date(2026, 9, 27), "week")
        monthly = queries.signals_over_time(s, date(2026, 8, 20), date(2026, 9, 27), "month")
    assert [b.starts_on for b in weekly.buckets] == [
        date(2026, 9, 7),
        date(2026, 9, 14),
        date(2026, 9, 21),
    ]
    assert [b.ends_on for b in weekly.buckets][-1] == date(2026, 9, 27)
    assert [b.by_severity for b in weekly.buckets] == [
        {"red": 2, "orange": 0, "yellow": 0, "blue": 1},
        {"red": 0, "orange": 1, "yellow": 0, "blue": 0},
        {"red": 0, "orange": 0, "yellow": 1, "blue": 0},
    ]
    assert weekly.total == 5
    # By month: August's bucket starts on the range's first day; the 6 September one counts.
    assert [b.starts_on for b in monthly.buckets] == [date(2026, 8, 20), date(2026, 9, 1)]
    assert [b.total for b in monthly.buckets] == [0, 6]
    assert monthly.buckets[1].by_severity["red"] == 3


def test_a_week_bucket_starting_before_from_counts_only_from_from(db: str) -> None:
    with unit_of_work(db) as s:
        signal(s, 1, "red", at(date(2026, 9, 8)))  # Tuesday, before `from`
        signal(s, 2, "red", at(date(2026, 9, 10)))  # Thursday
    with unit_of_work(db) as s:
        found = queries.signals_over_time(s, date(2026, 9, 9), date(2026, 9, 13), "week")
    assert [(b.starts_on, b.total) for b in found.buckets] == [(date(2026, 9, 9), 1)]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((date(2026, 9, 9), date(2026, 9, 1), "week"), "to"),
        ((date(2026, 9, 1), date(2026, 9, 9), "day"), "bucket"),
        ((date(1990, 1, 1), date(2026, 9, 9), "week"), "from"),  # too many weeks to draw
    ],
)
def test_signal_ranges_that_cannot_be_drawn_are_refused_naming_the_field(
    db: str, args: tuple[date, date, str], field: str
) -> None:
    with unit_of_work(db) as s, pytest.raises(InvalidInput) as refused:
        queries.signals_over_time(s, *args)
    assert refused.value.field == field


def rectification(session: Any, rid: str, severity: str, opened: datetime, **extra: Any) -> None:
    session.add(
        Rectification(
            id=rid,
            customer_id="C-A",
            source="inspection",
            title=f"Fix {rid}",
            description="test",
            severity=severity,
            owner="am_li",
            raised_by="po_chen",
            deadline=extra.pop("deadline", TODAY + timedelta(days=10)),
            created_at=opened,
            **extra,
        )
    )
    session.flush()


TODAY = date(2026, 12, 3)


def ago(days: int, hour: int = 12) -> datetime:
    return at(TODAY - timedelta(days=days), hour)


def test_open_rectifications_and_restrictions_fall_in_their_age_buckets(db: str) -> None:
    with unit_of_work(db) as s:
        rectification(s, "R0", "critical", ago(0))
        rectification(s, "R30", "minor", ago(30, 0))  # 30 days: still the first bucket
        rectification(s, "R31", "minor", ago(31, 23))  # 31 days: the second
        rectification(s, "R60", "major", ago(60), status="evidence_submitted")
        rectification(s, "R61", "serious", ago(61), deadline=TODAY - timedelta(days=1))
        rectification(s, "R91", "critical", ago(91), status="escalated")
        rectification(s, "R400", "major", ago(400), status="reopened")
        rectification(s, "RC", "critical", ago(5), status="closed")  # closed: not open
        for kind, status, since in (
            ("disbursement_freeze", "active", 10),
            ("new_business_restriction", "lift_requested", 61),
            ("disbursement_freeze", "active", 95),
            ("disbursement_freeze", "lifted", 20),  # lifted: not in force
        ):
            s.add(
                Restriction(
                    customer_id="C-A",
                    kind=kind,
                    reason="test",
                    rectification_id="R0",
                    status=status,
                    started_at=ago(since),
                    started_by="tests",
                )
            )
    with unit_of_work(db) as s:
        a = queries.ages(s, TODAY)
    assert [r.label for r in a.rectifications] == [
        "0–30 days",
        "31–60 days",
        "61–90 days",
        "More than 90 days",
    ]
    assert [r.counts for r in a.rectifications] == [
        {"minor": 1, "major": 0, "serious": 0, "critical": 1},
        {"minor": 1, "major": 1, "serious": 0, "critical": 0},
        {"minor": 0, "major": 0, "serious": 1, "critical": 0},
        {"minor": 0, "major": 1, "serious": 0, "critical": 1},
    ]
    assert a.open_rectifications == 7
    assert a.overdue_rectifications == 1
    assert [r.counts for r in a.restrictions] == [
        {"disbursement_freeze": 1, "new_business_restriction": 0},
        {"disbursement_freeze": 0, "new_business_restriction": 0},
        {"disbursement_freeze": 0, "new_business_restriction": 1},
        {"disbursement_freeze": 1, "new_business_restriction": 0},
    ]
    assert a.restrictions_in_force == 3


def test_the_age_buckets_come_from_the_configuration(tmp_path: Path) -> None:
    good = tmp_path / "dashboards.yaml"
    good.write_text(
        "age_buckets:\n  - {label: Fresh, up_to_days: 7}\n  - {label: Old}\n"
        "max_signal_buckets: 10\ndefault_days_back: 30\non_time_target: 0.8\n",
        encoding="utf-8",
    )
    rules = dashboard_settings.load(good)
    assert [(b.label, b.up_to_days) for b in rules.age_buckets] == [("Fresh", 7), ("Old", None)]
    assert rules.on_time_target == 0.8
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "age_buckets:\n  - {label: A, up_to_days: 30}\n  - {label: B, up_to_days: 10}\n"
        "  - {label: C, up_to_days: 5}\nmax_signal_buckets: 0\ndefault_days_back: 30\n"
        "on_time_target: 90\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as refused:
        dashboard_settings.load(bad)
    message = str(refused.value)
    assert "must grow" in message and "last bucket" in message and "max_signal_buckets" in message
    assert "on_time_target" in message
