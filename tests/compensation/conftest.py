"""Compensation fixtures: a fresh migrated SQLite file per test (a copy of the session's
template, tests/sqlite_template.py), a customer of am_li with loans disbursed on known days,
and PostgreSQL for the concurrency test there."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlite_template import copy_of, sqlite_template

from config.settings import Settings
from postloan.customers.models import Customer
from postloan.db import get_engine, unit_of_work
from postloan.loans.models import Loan

_PG = Path(__file__).resolve().parents[1] / "postgres" / "conftest.py"
_spec = importlib.util.spec_from_file_location("postloan_tests_postgres_conftest_c", _PG)
assert _spec is not None and _spec.loader is not None
_pg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pg)
#: The suite's throwaway PostgreSQL server (``tests/postgres/conftest.py``).
postgres_server = _pg.postgres_server
create_database: Callable[[str, str], str] = _pg.create_database
__all__ = ["postgres_server", "sqlite_template"]

#: The account manager whose pay the tests follow, and their loans: disbursed on these days.
PERSON = "am_li"
LOANS = {"L-C1": date(2025, 3, 1), "L-C2": date(2026, 5, 1)}


def seed(url: str) -> None:
    """A customer of ``PERSON`` with the loans of ``LOANS``."""
    with unit_of_work(url) as session:
        session.add(
            Customer(
                id="C-C1",
                name="Deferred Pay Co",
                segment="micro",
                industry="textiles",
                branch="BR-SH-01",
                account_manager=PERSON,
                credit_rating="A",
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
