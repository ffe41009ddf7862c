"""Compensation fixtures: a fresh migrated SQLite file per test (a copy of the session's
template, tests/sqlite_template.py), a customer of am_li with loans disbursed on known days,
and PostgreSQL for the concurrency test there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import customer_row
from pgcluster import create_database
from sqlite_template import copy_of, sqlite_template

from config.settings import Settings
from postloan.db import get_engine, unit_of_work
from postloan.loans.models import Loan

__all__ = ["create_database", "sqlite_template"]

#: The account manager whose pay the tests follow, and their loans: disbursed on these days.
PERSON = "am_li"
LOANS = {"L-C1": date(2025, 3, 1), "L-C2": date(2026, 5, 1)}


def seed(url: str) -> None:
    """A customer of ``PERSON`` with the loans of ``LOANS``."""
    with unit_of_work(url) as session:
        session.add(
            customer_row(
                "C-C1",
                name="Deferred Pay Co",
                segment="micro",
                branch="BR-SH-01",
                account_manager=PERSON,
            )
        )
        session.flush()
        for loan_id, disbursed_on in LOANS.items():
            session.add(
                Loan(
                    id=loan_id,
                    customer_id="C-C1",
                    product="MICRO",
                    amount=Decimal("500000.00"),
                    currency="CNY",
                    disbursed_on=disbursed_on,
                    maturity_on=date(2029, 1, 1),
                    purpose="stock",
                )
            )


@pytest.fixture
def db(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    url = copy_of(sqlite_template, tmp_path / "compensation.db")
    seed(url)
    yield url
    get_engine(url).dispose()


def migrated(url: str) -> str:
    from postloanctl.__main__ import migrate

    migrate(Settings(database_url=url))
    return url
