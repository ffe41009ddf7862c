"""Bulk import and the demo portfolio generator, on a fresh SQLite file per test (a copy of the
session's migrated template, tests/sqlite_template.py; no engine)."""

from __future__ import annotations

import collections
import csv
import json
import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlite_template import copy_of

from api.import_rows import ROW_MODELS
from config.settings import ROOT, Settings
from postloan.audit import AuditEvent
from postloan.db import unit_of_work
from postloan.importer import Importer, ImportFailed
from postloan.loans.arrears import arrears_as_of
from postloan.loans.buckets import bucket_for
from postloan.loans.models import (
    ApprovalCondition,
    Collateral,
    CollateralValuation,
    DelinquencyBucketChange,
    Loan,
    Repayment,
)
from postloan.models import Customer, ExternalEvent, FinancialStatement
from postloanctl.generator import FILES, generate_portfolio, write_portfolio

TODAY = date(2026, 11, 28)
TABLES = {
    "customers": Customer,
    "loans": Loan,
    "repayments": Repayment,
    "financial-statements": FinancialStatement,
    "valuations": CollateralValuation,
    "external-events": ExternalEvent,
}


@pytest.fixture
def db(tmp_path, sqlite_template) -> str:
    return copy_of(sqlite_template, tmp_path / "import.db")


@pytest.fixture
def portfolio(tmp_path) -> tuple[Path, dict[str, int]]:
    out = tmp_path / "portfolio"
    return out, write_portfolio(generate_portfolio(300, seed=7, today=TODAY), out)


def import_dir(url: str, folder: Path, kinds=tuple(FILES)) -> dict[str, int]:
    with unit_of_work(url) as session:
        importer = Importer(session, ROW_MODELS, as_of=TODAY)
        return {k: importer.import_file(k, folder / FILES[k]).inserted for k in kinds}


def count(url: str, model) -> int:
    with unit_of_work(url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_generated_portfolio_round_trips(db, portfolio):
    folder, written = portfolio
    assert import_dir(db, folder) == written
    for kind, model in TABLES.items():
        assert count(db, model) == written[kind], kind
    first = json.loads((folder / FILES["loans"]).read_text().splitlines()[0])
    with unit_of_work(db) as session:
        loan = session.get(Loan, first["id"])
        assert (loan.customer_id, loan.product, loan.amount, loan.disbursed_on.isoformat()) == (
            first["customer_id"],
            first["product"],
            Decimal(first["amount"]),
            first["disbursed_on"],
        )
        conditions = session.scalars(
            select(ApprovalCondition.text)
            .where(ApprovalCondition.loan_id == loan.id)
            .order_by(ApprovalCondition.seq)
        ).all()
        assert conditions == first["approval_conditions"]
        collaterals = session.scalars(
            select(Collateral.id).where(Collateral.loan_id == loan.id).order_by(Collateral.id)
        ).all()
        assert collaterals == [c["id"] for c in first["collaterals"]]
        with (folder / FILES["repayments"]).open() as handle:
            due = sum(Decimal(r["due_amount"]) for r in csv.DictReader(handle))
        assert session.scalar(select(func.sum(Repayment.due_amount))) == due
        # The set-based bucket refresh after the import agrees with the per-loan rule.
        schedules = collections.defaultdict(list)
        for r in session.scalars(select(Repayment)):
            schedules[r.loan_id].append(r)
        for loan in session.scalars(select(Loan)):
            expected = bucket_for(arrears_as_of(schedules[loan.id], TODAY).days_past_due)
            assert loan.delinquency_bucket == expected, loan.id
        moved = session.scalar(select(func.count()).select_from(DelinquencyBucketChange))
        delinquent = session.scalar(
            select(func.count()).select_from(Loan).where(Loan.delinquency_bucket != "current")
        )
        assert moved == delinquent > 0
        assert session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "bulk_import.completed")
        ) == len(FILES)


def test_a_bad_row_names_line_and_field_and_nothing_is_imported(db, portfolio):
    folder, written = portfolio
    import_dir(db, folder, kinds=("customers", "loans"))
    rows = (folder / FILES["repayments"]).read_text().splitlines()
    header, line7 = rows[0].split(","), rows[6].split(",")  # line 7 of the file
    line7[header.index("due_amount")] = "-25.00"
    rows[6] = ",".join(line7)
    bad = folder / "bad-repayments.csv"
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(ImportFailed) as failure:
        with unit_of_work(db) as session:
            Importer(session, ROW_MODELS, as_of=TODAY).import_file("repayments", bad)
    assert [(p.line, p.field) for p in failure.value.problems] == [(7, "due_amount")]
    assert "greater than 0" in failure.value.problems[0].message
    assert count(db, Repayment) == 0 and count(db, DelinquencyBucketChange) == 0
    assert count(db, Loan) == written["loans"]

    # The command says the same, exits 1, and the database is still unchanged.
    env = {**os.environ, "POSTLOAN_DATABASE_URL": db}
    done = subprocess.run(
        [sys.executable, "-m", "postloanctl", "import", "--kind", "repayments", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "line 7, field due_amount" in done.stderr and "nothing was imported" in done.stderr
    assert count(db, Repayment) == 0


def test_a_key_repeated_in_the_file_is_found_after_the_first_batches(db, portfolio):
    folder, _ = portfolio
    import_dir(db, folder, kinds=("customers", "loans"))
    rows = (folder / FILES["repayments"]).read_text().splitlines()
    rows.append(rows[3])  # line 4 again, at the end: the database refuses the last batch
    bad = folder / "dup.csv"
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(ImportFailed) as failure, unit_of_work(db) as session:
        Importer(session, ROW_MODELS, batch=500, as_of=TODAY).import_file("repayments", bad)
    problem = failure.value.problems[0]
    assert (problem.line, problem.field) == (len(rows), "due_on")
    assert "repeats line 4" in problem.message
    assert count(db, Repayment) == 0


def test_unknown_references_and_nested_fields_are_named(db, tmp_path):
    loans = tmp_path / "loans.jsonl"
    loan = {
        "id": "L1",
        "customer_id": "C-nobody",
        "product": "CORP-TERM",
        "amount": "100",
        "currency": "CNY",
        "disbursed_on": "2026-01-01",
        "maturity_on": "2027-01-01",
        "purpose": "stock",
    }
    collateral = {"id": "COL1", "kind": "property", "value": "-1", "currency": "CNY"}
    loans.write_text(
        json.dumps(loan)
        + "\n"
        + json.dumps({**loan, "id": "L2", "collaterals": [collateral]})
        + "\n"
    )
    with pytest.raises(ImportFailed) as failure, unit_of_work(db) as session:
        Importer(session, ROW_MODELS).import_file("loans", loans)
    assert [(p.line, p.field) for p in failure.value.problems] == [
        (1, "customer_id"),
        (2, "collaterals.0.value"),
    ]
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "id,name,segment,industry,branch,account_manager,credit_rating\n"
        "C1,One,sme,textiles,BR-SH-01,am_li,A\n"
        "C2,Two,giant,textiles,BR-SH-01,am_li,A\n"
    )
    with pytest.raises(ImportFailed) as failure, unit_of_work(db) as session:
        Importer(session, ROW_MODELS).import_file("customers", customers)
    assert [(p.line, p.field) for p in failure.value.problems] == [(3, "segment")]
    assert count(db, Customer) == 0


def test_events_already_stored_are_skipped_not_refused(db, portfolio):
    folder, written = portfolio
    import_dir(db, folder, kinds=("customers", "external-events"))
    with unit_of_work(db) as session:
        result = Importer(session, ROW_MODELS).import_file(
            "external-events", folder / FILES["external-events"]
        )
    assert (result.inserted, result.skipped) == (0, written["external-events"])
    assert count(db, ExternalEvent) == written["external-events"]


def test_the_mixed_stream_import_used_by_the_demo(db):
    with unit_of_work(db) as session:
        counts = Importer(session, ROW_MODELS, as_of=TODAY).import_portfolio(
            generate_portfolio(120, seed=3, today=TODAY)
        )
    assert counts["loans"] == count(db, Loan) == 120
    assert counts["repayments"] == count(db, Repayment) > 120 * 5


class TestGenerator:
    def test_is_deterministic_and_keeps_the_demo_ids(self):
        a = list(generate_portfolio(50, seed=5, today=TODAY))
        assert a == list(generate_portfolio(50, seed=5, today=TODAY))
        customers = {r["id"]: r for k, r in a if k == "customers"}
        loans = {r["id"]: r for k, r in a if k == "loans"}
        assert len(loans) == 50
        for loan_id, manager in (
            ("L00001-1", "am_zhang"),
            ("L00002-1", "lead_hu"),
            ("L00003-1", "am_li"),
            ("L00007-1", "am_zhang"),
        ):
            assert customers[loans[loan_id]["customer_id"]]["account_manager"] == manager

    def test_has_the_realistic_mix(self):
        schedules = collections.defaultdict(list)
        kinds, segments, drops = collections.Counter(), collections.Counter(), 0
        revenue: dict[str, list[Decimal]] = collections.defaultdict(list)
        for kind, record in generate_portfolio(3000, seed=1, today=TODAY):
            kinds[kind] += 1
            if kind == "customers":
                segments[record["segment"]] += 1
            elif kind == "repayments":
                schedules[record["loan_id"]].append(ROW_MODELS["repayments"].model_validate(record))
            elif kind == "financial-statements":
                revenue[record["customer_id"]].append(Decimal(record["revenue"]))
        drops = sum(1 for r in revenue.values() if r[-1] < r[-2] * Decimal("0.7"))
        dpd = [arrears_as_of(s, TODAY).days_past_due for s in schedules.values()]
        late = sum(d > 0 for d in dpd) / len(dpd)
        assert 0.05 < late < 0.3
        assert sum(d > 90 for d in dpd) > 30 and sum(d > 270 for d in dpd) > 5
        unpaid_interest = sum(
            1
            for s in schedules.values()
            if any(
                r.kind == "interest" and r.paid_on is None and (TODAY - r.due_on).days > 60
                for r in s
            )
        )
        assert unpaid_interest > 10
        assert set(segments) == {"corporate", "sme", "micro", "retail"}
        assert drops > 20 and kinds["external-events"] > 10 and kinds["valuations"] > 1000
        assert 9 < kinds["repayments"] / 3000 < 14  # about a million rows for 100,000 loans


@pytest.mark.slow  # importing and scanning 2,000 loans takes seconds by itself
def test_the_demo_loads_two_thousand_generated_loans_in_seconds(tmp_path, sqlite_template):
    from postloan.access import service as access
    from postloanctl.__main__ import load_demo
    from postloanctl.demo import DEMO_API_KEYS

    settings = Settings(database_url=copy_of(sqlite_template, tmp_path / "demo.db"))
    started = time.perf_counter()
    load_demo(settings, start_inspections=False)
    assert time.perf_counter() - started < 30  # about 3 s on an idle machine
    assert count(settings.database_url, Loan) == 2000
    with unit_of_work(settings.database_url) as session:
        managers = {
            loan_id: session.get(Customer, session.get(Loan, loan_id).customer_id).account_manager
            for loan_id in ("L00001-1", "L00002-1", "L00003-1", "L00007-1")
        }
        assert set(managers.values()) == {"am_li", "am_zhang", "lead_hu"}
        assert all(access.authenticate(session, key) for _, key in DEMO_API_KEYS.values())
        assert (
            session.scalar(
                select(func.count())
                .select_from(Loan)
                .where(Loan.delinquency_bucket.in_(("91-180", "181-270", "271-360", "360+")))
            )
            > 20
        )
    load_demo(settings, start_inspections=False)  # a second run adds nothing
    assert count(settings.database_url, Loan) == 2000
