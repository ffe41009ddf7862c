"""Audit trail fixtures: a fresh migrated SQLite file per test (a copy of the session's migrated
template, tests/sqlite_template.py), a populated trail, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pgcluster import create_database
from sqlite_template import copy_of, sqlite_template

from config.settings import Settings
from postloan.db import get_engine, unit_of_work

__all__ = ["create_database", "sqlite_template"]  # the PostgreSQL server: tests/conftest.py


def migrated(url: str) -> str:
    from postloanctl.__main__ import migrate

    migrate(Settings(database_url=url))
    return url


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    url = copy_of(sqlite_template, tmp_path / "audit.db")
    yield url
    get_engine(url).dispose()


def completed_inspection(url: str, suffix: str = "1") -> str:
    """A customer, a loan and a finalized inspection (its report stored and sealed)."""
    from postloan.customers import service as customers
    from postloan.inspections import service as inspections
    from postloan.loans import service as loans

    today = date.today()
    with unit_of_work(url) as session:
        customers.register(
            session,
            customers.CustomerData(
                id=f"C-A{suffix}",
                name="Audit Co",
                segment="micro",
                industry="textiles",
                branch="B1",
                account_manager="am_li",
                credit_rating="A",
            ),
            actor="tests",
        )
        loans.register(
            session,
            loans.LoanData(
                id=f"L-A{suffix}",
                customer_id=f"C-A{suffix}",
                product="MICRO",
                amount=Decimal("250000.00"),
                currency="CNY",
                disbursed_on=today - timedelta(days=90),
                maturity_on=today + timedelta(days=275),
                purpose="stock",
                approval_conditions=["Quarterly statements"],
            ),
            actor="tests",
        )
        inspection = inspections.request(
            session, loan_id=f"L-A{suffix}", kind="routine", reason="quarterly", actor="tests"
        )
        inspection_id = inspection.id
    with unit_of_work(url) as session:
        inspections.finalize(
            session,
            inspection_id,
            inspections.InspectionOutcome(
                inspector="am_li",
                findings_text="all in order",
                conclusion="normal",
                reviewer="po_chen",
                review_decision="approve",
                review_comment="ok",
                risk_class="normal",
                risk_class_reason="current",
            ),
            actor="worker:test",
        )
    return inspection_id
