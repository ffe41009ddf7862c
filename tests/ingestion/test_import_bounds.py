"""The bulk import applies the API's bounds: a bad row names its line and field, nothing is stored
(a fresh SQLite file per test, copied from the session's migrated template; no engine)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlite_template import copy_of

from api.import_rows import ROW_MODELS
from postloan.db import unit_of_work
from postloan.importer import Importer, ImportFailed
from postloan.loans.models import Collateral, Loan, Repayment
from postloan.models import Customer, ExternalEvent

TODAY = date.today()


@pytest.fixture
def db(tmp_path, sqlite_template) -> str:
    url = copy_of(sqlite_template, tmp_path / "bounds.db")
    with unit_of_work(url) as session:
        importer = Importer(session, ROW_MODELS)
        importer.import_rows("customers", lambda: [(2, customer("C-1"))])
        importer.import_rows("loans", lambda: [(2, loan("L-1", "C-1", "COL-1"))])
    return url


def customer(customer_id: str, **over: Any) -> dict[str, Any]:
    return {
        "id": customer_id,
        "name": "Import Co",
        "segment": "sme",
        "industry": "retail",
        "branch": "BR-SH-01",
        "account_manager": "am_li",
        "credit_rating": "BBB",
        **over,
    }


def loan(loan_id: str, customer_id: str, collateral_id: str, **over: Any) -> dict[str, Any]:
    return {
        "id": loan_id,
        "customer_id": customer_id,
        "product": "SME-WORKING-CAPITAL",
        "amount": "100000",
        "currency": "CNY",
        "disbursed_on": (TODAY - timedelta(days=100)).isoformat(),
        "maturity_on": (TODAY + timedelta(days=265)).isoformat(),
        "purpose": "stock",
        "collaterals": [
            {"id": collateral_id, "kind": "equipment", "value": "1", "currency": "CNY"}
        ],
        **over,
    }


def refused(url: str, kind: str, rows: list[dict[str, Any]], field: str) -> ImportFailed:
    with pytest.raises(ImportFailed) as failed, unit_of_work(url) as session:
        Importer(session, ROW_MODELS).import_rows(
            kind, lambda: [(n + 2, row) for n, row in enumerate(rows)]
        )
    assert failed.value.status == 422
    assert failed.value.field == field or failed.value.field.startswith(field + "."), (
        failed.value.detail
    )
    return failed.value


def rows(url: str, model: Any) -> int:
    with unit_of_work(url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"name": "Nul\x00Co"}, "name"),
        ({"credit_rating": "x" * 10_000_000}, "credit_rating"),
        ({"industry": "i" * 101}, "industry"),
    ],
)
def test_customer_rows_obey_the_text_bounds(db, over, field):
    refused(db, "customers", [customer("C-2"), customer("C-3", **over)], field)
    assert rows(db, Customer) == 1


def test_a_customer_id_differing_only_in_case_is_refused(db):
    problem = refused(db, "customers", [customer("c-1")], "id")
    assert problem.line == 2
    assert rows(db, Customer) == 1
    # within one file too: the database's lower(id) index, located to the repeating line
    problem = refused(db, "customers", [customer("C-9"), customer("c-9")], "id")
    assert "repeats line 2" in problem.detail
    assert rows(db, Customer) == 1


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"disbursed_on": "1900-01-01"}, "disbursed_on"),
        ({"maturity_on": "2999-01-01"}, "maturity_on"),
        ({"amount": "999999999999999"}, "amount"),
        ({"id": "l-1"}, "id"),
    ],
)
def test_loan_rows_obey_the_bounds(db, over, field):
    refused(db, "loans", [loan("L-2", "C-1", "COL-2", **over)], field)
    assert rows(db, Loan) == 1 and rows(db, Collateral) == 1


def test_a_collateral_id_differing_only_in_case_is_refused(db):
    refused(db, "loans", [loan("L-2", "C-1", "col-1")], "collaterals")
    assert rows(db, Loan) == 1


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"paid_amount": "100000"}, "paid_amount"),
        ({"paid_on": (TODAY - timedelta(days=101)).isoformat()}, "paid_on"),
        (
            {
                "due_on": (TODAY - timedelta(days=101)).isoformat(),
                "paid_on": None,
                "paid_amount": "0",
            },
            "due_on",
        ),
        ({"due_amount": "1000000", "paid_amount": "0", "paid_on": None}, "due_amount"),
    ],
)
def test_repayment_rows_obey_the_loans_dates_and_amounts(db, over, field):
    due = (TODAY - timedelta(days=10)).isoformat()
    row = {
        "loan_id": "L-1",
        "due_on": due,
        "due_amount": "100",
        "paid_on": due,
        "paid_amount": "100",
        **over,
    }
    refused(db, "repayments", [row], field)
    assert rows(db, Repayment) == 0


def test_event_rows_obey_the_date_bounds(db):
    row = {
        "customer_id": "C-1",
        "kind": "litigation",
        "occurred_on": "2999-01-01",
        "source": "court",
        "details": "",
    }
    refused(db, "external-events", [row], "occurred_on")
    assert rows(db, ExternalEvent) == 0
