"""Technical overdue: instalments paid in full 1 to N days late, per loan, account manager and
branch, from the recorded repayments; the boundaries (paid on the due date, N days, N + 1 days,
paid in part) and the period filter; the count on ``GET /loans/{id}``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlite_template import copy_of

from postloan.customers.models import Customer
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.loans import technical_overdue as tech
from postloan.loans.models import Loan, Repayment

N = tech.rule().max_days_late
START = date(2026, 1, 10)
DUE = Decimal("1000.00")


@dataclass(frozen=True)
class Item:
    due_on: date
    due_amount: Decimal
    paid_on: date | None
    paid_amount: Decimal


def paid(due_on: date, days: int | None, amount: Decimal = DUE) -> Item:
    return Item(due_on, DUE, None if days is None else due_on + timedelta(days=days), amount)


def test_boundaries_of_a_technical_overdue():
    due = START
    assert tech.days_late(paid(due, 0), N) is None  # on the due date: not late
    assert tech.days_late(paid(due, -2), N) is None  # early
    assert tech.days_late(paid(due, 1), N) == 1
    assert tech.days_late(paid(due, N), N) == N  # N days late: counted
    assert tech.days_late(paid(due, N + 1), N) is None  # a real overdue, not technical
    assert tech.days_late(paid(due, 1, DUE - 1), N) is None  # paid in part
    assert tech.days_late(paid(due, None, Decimal(0)), N) is None  # unpaid


def test_configured_rule_is_checked():
    assert N >= 1
    with pytest.raises(tech.TechnicalOverdueConfigError, match="max_days_late"):
        tech.parse_rule({"technical_overdue": {"max_days_late": 0, "window_days": 10}})
    with pytest.raises(tech.TechnicalOverdueConfigError, match="window_days"):
        tech.parse_rule({"technical_overdue": {"max_days_late": 3}})


# (branch, manager, loan, delays of its monthly instalments; None: unpaid, "part": paid in part)
SEED: list[tuple[str, str, str, list[Any]]] = [
    ("BR-SH-01", "am_li", "L-1", [0, 1, N, N + 1, None]),
    ("BR-SH-01", "am_li", "L-2", [2 if N >= 2 else 1, "part", -1]),
    ("BR-SH-01", "am_zhang", "L-3", [N + 5, 0]),
    ("BR-BJ-02", "am_zhang", "L-4", [1, 1, 1]),
]


def expected(rows: list[tuple[str, str, str, list[Any]]], upto: int | None = None) -> dict:
    """Hand count: delay in 1..N and paid in full, first ``upto`` instalments of each loan."""
    loans: dict[str, tech.Tally] = {}
    managers: dict[str, tech.Tally] = {}
    branches: dict[str, tech.Tally] = {}
    for branch, manager, loan, delays in rows:
        for delay in delays[:upto]:
            if isinstance(delay, int) and 1 <= delay <= N:
                for table, key in ((loans, loan), (managers, manager), (branches, branch)):
                    table[key] = table.get(key, tech.Tally()).plus(delay)
    return {"loans": loans, "managers": managers, "branches": branches}


@pytest.fixture
def db(tmp_path, sqlite_template) -> Any:
    url = copy_of(sqlite_template, tmp_path / "technical.db")
    with unit_of_work(url) as session:
        for branch, manager, loan_id, delays in SEED:
            customer_id = f"C-{loan_id}"
            session.add(
                Customer(
                    id=customer_id,
                    name=f"Customer of {loan_id}",
                    segment="sme",
                    industry="Manufacturing",
                    branch=branch,
                    account_manager=manager,
                    credit_rating="BBB",
                )
            )
            session.add(
                Loan(
                    id=loan_id,
                    customer_id=customer_id,
                    product="working_capital",
                    amount=Decimal("100000"),
                    currency="CNY",
                    disbursed_on=START - timedelta(days=30),
                    maturity_on=START + timedelta(days=720),
                    purpose="Stock",
                )
            )
            session.flush()
            for i, delay in enumerate(delays):
                due_on = START + timedelta(days=31 * i)
                if delay is None:
                    session.add(Repayment(loan_id=loan_id, due_on=due_on, due_amount=DUE))
                    continue
                days = 1 if delay == "part" else delay
                amount = DUE / 2 if delay == "part" else DUE
                session.add(
                    Repayment(
                        loan_id=loan_id,
                        due_on=due_on,
                        due_amount=DUE,
                        paid_on=due_on + timedelta(days=days),
                        paid_amount=amount,
                    )
                )
    yield url
    db_engine(url).dispose()


def test_counts_per_loan_manager_and_branch_equal_the_hand_count(db):
    # by hand: L-1 counts 1 and N (not 0, N + 1, unpaid); L-2 counts its first (not the part
    # payment, not the early one); L-3 none; L-4 all three, one day each
    two = 2 if N >= 2 else 1
    loans = {
        "L-1": tech.Tally(2, N),
        "L-2": tech.Tally(1, two),
        "L-3": tech.Tally(),
        "L-4": tech.Tally(3, 1),
    }
    assert expected(SEED)["loans"] == {k: v for k, v in loans.items() if v.count}
    with unit_of_work(db) as session:
        for loan_id, want in loans.items():
            assert tech.for_loan(session, loan_id) == want
        assert tech.by_account_manager(session) == {
            "am_li": tech.Tally(3, N),
            "am_zhang": tech.Tally(3, 1),
        }
        assert tech.by_branch(session) == {
            "BR-SH-01": tech.Tally(3, N),
            "BR-BJ-02": tech.Tally(3, 1),
        }


def test_period_filter_counts_only_instalments_due_in_it(db):
    # the first two instalments of each loan: due on START and START + 31 days
    period = tech.Period(START, START + timedelta(days=31))
    want = expected(SEED, upto=2)
    with unit_of_work(db) as session:
        assert tech.by_account_manager(session, period) == want["managers"]
        assert tech.by_branch(session, period) == want["branches"]
        assert tech.for_loan(session, "L-4", period) == want["loans"]["L-4"]
        later = tech.Period(start=START + timedelta(days=32))
        assert tech.for_loan(session, "L-4", later) == tech.Tally(1, 1)
        assert tech.for_loan(session, "L-4", tech.Period(end=START - timedelta(days=1))) == (
            tech.Tally()
        )
