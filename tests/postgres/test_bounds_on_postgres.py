"""Migration 0008's indexes on PostgreSQL: the models' schema exactly, one open inspection per loan
and kind (a race the service's look-up missed still ends in a 409 naming the open one), and no
two ids differing only in case."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import create_database
from sqlalchemy.exc import IntegrityError

from config.settings import Settings
from postloan.customers import service as customers
from postloan.customers.models import Customer
from postloan.db import get_engine, unit_of_work
from postloan.errors import Conflict
from postloan.inspections import service as inspections
from postloan.loans import service as loans
from postloan.models import Base
from postloanctl.__main__ import migrate

pytestmark = pytest.mark.postgres


def test_open_inspection_and_case_insensitive_ids_on_postgresql(postgres_server, monkeypatch):
    url = create_database(postgres_server, "postloan_bounds")
    migrate(Settings(database_url=url))
    with get_engine(url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

    today = date.today()
    with unit_of_work(url) as session:
        customers.register(
            session,
            customers.CustomerData(
                id="C-Pg",
                name="PG Co",
                segment="micro",
                industry="textiles",
                branch="B1",
                account_manager="am_li",
                credit_rating="A",
            ),
            actor="test",
        )
        loans.register(
            session,
            loans.LoanData(
                id="L-Pg",
                customer_id="C-Pg",
                product="MICRO",
                amount=Decimal("1000.00"),
                currency="CNY",
                disbursed_on=today - timedelta(days=200),
                maturity_on=today + timedelta(days=200),
                purpose="stock",
            ),
            actor="test",
        )
        first = inspections.request(
            session, loan_id="L-Pg", kind="routine", reason="one", actor="test"
        ).id

    with pytest.raises(Conflict) as taken, unit_of_work(url) as session:
        customers.register(
            session,
            customers.CustomerData(
                id="c-pg",
                name="Twin",
                segment="micro",
                industry="textiles",
                branch="B1",
                account_manager="am_li",
                credit_rating="A",
            ),
            actor="test",
        )
    assert taken.value.field == "id" and "'C-Pg'" in taken.value.detail
    with pytest.raises(IntegrityError), unit_of_work(url) as session:
        session.add(
            Customer(
                id="C-PG",
                name="Twin",
                segment="micro",
                industry="t",
                branch="B1",
                account_manager="am_li",
                credit_rating="A",
            )
        )
        session.flush()

    # a concurrent request inserted first, after this one looked: the index decides, 409
    monkeypatch.setattr(inspections, "open_inspection", _missed_once(inspections.open_inspection))
    with pytest.raises(inspections.OpenInspectionExists) as race, unit_of_work(url) as session:
        inspections.request(session, loan_id="L-Pg", kind="routine", reason="two", actor="test")
    assert race.value.status == 409 and race.value.inspection_id == first
    assert first in race.value.detail
    with unit_of_work(url) as session:
        # another kind may open alongside
        inspections.request(session, loan_id="L-Pg", kind="special", reason="s", actor="test")


def _missed_once(look_up):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def patched(session, loan_id, kind):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return None if calls["n"] == 1 else look_up(session, loan_id, kind)

    return patched
