"""The bulk importer records restructurings (the same rules as REST, audited, the loan's
restructuring facts set) and customers' registered addresses (coordinates validated: ranges, both
or neither). No engine: a fresh SQLite file per test."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlite_template import copy_of

from api.import_rows import ROW_MODELS
from postloan.audit import AuditEvent
from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.importer import Importer, ImportFailed
from postloan.loans.models import Loan
from postloan.loans.restructuring import LoanRestructuring

TODAY = date.today()
CUSTOMERS_HEADER = "id,name,segment,industry,branch,account_manager,credit_rating"


@pytest.fixture
def db(tmp_path, sqlite_template) -> str:
    return copy_of(sqlite_template, tmp_path / "import.db")


def _import(db: str, kind: str, path) -> None:
    with unit_of_work(db) as session:
        Importer(session, ROW_MODELS, actor="import-test").import_file(kind, path)


def _customers(tmp_path, db, *rows: str, extra: str = ",registered_address,latitude,longitude"):
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS_HEADER + extra + "\n" + "".join(r + "\n" for r in rows))
    return path


def _loan(tmp_path, db) -> str:
    _import(db, "customers", _customers(tmp_path, db, "C1,One,sme,textiles,BR-SH-01,am_li,A,,,"))
    loans = tmp_path / "loans.jsonl"
    loan = {
        "id": "L1",
        "customer_id": "C1",
        "product": "SME-WORKING-CAPITAL",
        "amount": "100000",
        "currency": "CNY",
        "disbursed_on": (TODAY - timedelta(days=400)).isoformat(),
        "maturity_on": (TODAY + timedelta(days=300)).isoformat(),
        "purpose": "stock",
    }
    loans.write_text(json.dumps(loan) + "\n")
    _import(db, "loans", loans)
    return "L1"


class TestAddresses:
    def test_imported_with_the_customer(self, tmp_path, db):
        path = _customers(
            tmp_path,
            db,
            'C1,One,sme,textiles,BR-SH-01,am_li,A,"1 Beishan Road, Hangzhou",30.2741,120.1551',
            "C2,Two,sme,textiles,BR-SH-01,am_li,A,,,",
        )
        _import(db, "customers", path)
        with unit_of_work(db) as session:
            one, two = session.get(Customer, "C1"), session.get(Customer, "C2")
            assert (one.registered_address, one.latitude, one.longitude) == (
                "1 Beishan Road, Hangzhou",
                30.2741,
                120.1551,
            )
            assert (two.latitude, two.longitude) == (None, None)

    @pytest.mark.parametrize(
        ("cells", "field"),
        [
            ("x,95,120", "latitude"),
            ("x,30,-181", "longitude"),
            ("x,30,", "longitude"),
            ("x,,120", "latitude"),
            ("x,north,120", "latitude"),
        ],
    )
    def test_bad_coordinates_name_line_and_field_and_nothing_is_stored(
        self, tmp_path, db, cells, field
    ):
        path = _customers(
            tmp_path,
            db,
            "C1,One,sme,textiles,BR-SH-01,am_li,A,,,",
            f"C2,Two,sme,textiles,BR-SH-01,am_li,A,{cells}",
        )
        with pytest.raises(ImportFailed) as failure:
            _import(db, "customers", path)
        assert [(p.line, p.field) for p in failure.value.problems] == [(3, field)]
        with unit_of_work(db) as session:
            assert session.scalars(select(Customer)).all() == []


class TestRestructurings:
    def test_imported_audited_and_the_loan_follows(self, tmp_path, db):
        loan_id = _loan(tmp_path, db)
        first, second = TODAY - timedelta(days=200), TODAY - timedelta(days=20)
        new_maturity = TODAY + timedelta(days=800)
        path = tmp_path / "restructurings.csv"
        path.write_text(
            "loan_id,restructured_on,reason,new_maturity_on,new_instalment_amount,new_interest_rate\n"
            f"{loan_id},{second.isoformat()},Second: rate cut,,,3.10\n"
            f"{loan_id},{first.isoformat()},First: term extended,{new_maturity.isoformat()},8000,\n"
        )
        _import(db, "restructurings", path)
        with unit_of_work(db) as session:
            loan = session.get(Loan, loan_id)
            assert loan.restructured_on == second  # the latest, whatever the file's order
            assert loan.maturity_on == new_maturity
            rows = session.scalars(
                select(LoanRestructuring).order_by(LoanRestructuring.restructured_on)
            ).all()
            assert [(r.restructured_on, r.class_before, r.recorded_by) for r in rows] == [
                (first, "normal", "import-test"),
                (second, "normal", "import-test"),
            ]
            assert rows[0].new_instalment_amount == Decimal("8000.00")
            assert rows[1].new_interest_rate == Decimal("3.1000")
            audited = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "loan.restructured")
            ).all()
            assert sorted(e.detail["restructured_on"] for e in audited) == [
                first.isoformat(),
                second.isoformat(),
            ]

    @pytest.mark.parametrize(
        ("cells", "field"),
        [
            (
                f"{(TODAY - timedelta(days=500)).isoformat()},before disbursement,,,",
                "restructured_on",
            ),
            (f"{(TODAY + timedelta(days=30)).isoformat()},too far ahead,,,", "restructured_on"),
            (f"{TODAY.isoformat()},negative instalment,,-5,", "new_instalment_amount"),
            (f"{TODAY.isoformat()},negative rate,,,-1", "new_interest_rate"),
            (
                f"{TODAY.isoformat()},maturity before,{(TODAY - timedelta(days=1)).isoformat()},,",
                "new_maturity_on",
            ),
        ],
    )
    def test_bad_terms_name_line_and_field_and_nothing_is_stored(self, tmp_path, db, cells, field):
        loan_id = _loan(tmp_path, db)
        path = tmp_path / "restructurings.csv"
        path.write_text(
            "loan_id,restructured_on,reason,new_maturity_on,new_instalment_amount,new_interest_rate\n"
            f"{loan_id},{(TODAY - timedelta(days=50)).isoformat()},fine,,,\n"
            f"{loan_id},{cells}\n"
        )
        with pytest.raises(ImportFailed) as failure:
            _import(db, "restructurings", path)
        assert [(p.line, p.field) for p in failure.value.problems] == [(3, field)]
        with unit_of_work(db) as session:
            assert session.scalars(select(LoanRestructuring)).all() == []
            assert session.get(Loan, loan_id).restructured_on is None

    def test_unknown_loan_and_stored_duplicate_are_named(self, tmp_path, db):
        loan_id = _loan(tmp_path, db)
        on = (TODAY - timedelta(days=10)).isoformat()
        path = tmp_path / "restructurings.csv"
        path.write_text(f"loan_id,restructured_on,reason\n{loan_id},{on},once\n")
        _import(db, "restructurings", path)
        path.write_text(f"loan_id,restructured_on,reason\n{loan_id},{on},twice\nL-none,{on},x\n")
        with pytest.raises(ImportFailed) as failure:
            _import(db, "restructurings", path)
        assert sorted((p.line, p.field) for p in failure.value.problems) == [
            (2, "restructured_on"),
            (3, "loan_id"),
        ]
