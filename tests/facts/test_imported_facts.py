"""Imported facts owe their checks, bounded: one fact_checks start per subject whose rows an
import inserted (its latest row), none on a first load of a kind or above the cap, none on a
rerun of the same file. Against a migrated database, no engine (the outbox is read)."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from api.import_rows import ROW_MODELS
from postloan.application import facts
from postloan.db import unit_of_work
from postloan.events.models import ExternalEvent
from postloan.importer import KINDS, Importer, ImportFailed
from postloan.outbox.models import OutboxMessage
from tests.facts.fact_data import customer_and_loan, statement

TODAY = date.today()


@pytest.fixture
def session(database):
    with unit_of_work(database) as s:
        yield s
        s.rollback()


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _statement_row(customer_id: str, period_end: date, revenue: str) -> dict:
    return {
        "customer_id": customer_id,
        "period_end": period_end.isoformat(),
        "revenue": revenue,
        "net_profit": "50000",
        "total_assets": "2000000",
        "total_liabilities": "1000000",
        "operating_cash_flow": "80000",
    }


def _owed(session, customer_ids) -> list[str]:
    """Business keys of fact_checks starts owed for statements of these customers."""
    from postloan.financials.models import FinancialStatement

    ids = {
        f"financial_statement:{i}"
        for i in session.scalars(
            select(FinancialStatement.id).where(FinancialStatement.customer_id.in_(customer_ids))
        )
    }
    return sorted(
        m.business_key
        for m in session.scalars(select(OutboxMessage).where(OutboxMessage.business_key.in_(ids)))
    )


def test_one_check_per_customer_for_its_latest_imported_statement(session, tmp_path):
    a = customer_and_loan(session).customer_id
    b = customer_and_loan(session).customer_id
    statement(session, a, TODAY - timedelta(days=800))  # the table is not empty: no first load
    path = _jsonl(
        tmp_path / "statements.jsonl",
        [
            _statement_row(a, TODAY - timedelta(days=400), "1000000"),
            _statement_row(a, TODAY - timedelta(days=35), "650000"),
            _statement_row(b, TODAY - timedelta(days=35), "900000"),
        ],
    )
    result = Importer(session, ROW_MODELS, actor="tests").import_file("financial-statements", path)
    assert (result.inserted, result.fact_checks, result.fact_checks_left) == (3, 2, "")
    assert "2 fact checks started" in result.summary()
    from postloan.financials.models import FinancialStatement

    latest_a = session.scalars(
        select(FinancialStatement.id).where(
            FinancialStatement.customer_id == a,
            FinancialStatement.period_end == TODAY - timedelta(days=35),
        )
    ).one()
    owed = _owed(session, [a, b])
    assert len(owed) == 2 and f"financial_statement:{latest_a}" in owed
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.business_key == f"financial_statement:{latest_a}")
    ).one()
    assert message.payload["process_key"] == "fact_checks"
    assert message.payload["variables"] == {
        "fact_kind": "financial_statement",
        "fact_id": str(latest_a),
    }
    # the same file again: refused (already stored), nothing inserted, nothing more owed
    with pytest.raises(ImportFailed):
        Importer(session, ROW_MODELS, actor="tests").import_file("financial-statements", path)
    assert _owed(session, [a, b]) == owed


def test_a_rerun_of_events_inserts_and_starts_nothing(session, tmp_path):
    c = customer_and_loan(session).customer_id
    row = {
        "customer_id": c,
        "kind": "litigation",
        "occurred_on": (TODAY - timedelta(days=3)).isoformat(),
        "source": "court-feed",
        "source_ref": f"case-{uuid.uuid4().hex[:6]}",
        "details": "a supplier sued for unpaid invoices",
    }
    path = _jsonl(tmp_path / "events.jsonl", [row])
    session.add(
        ExternalEvent(
            customer_id=c, kind="litigation", occurred_on=TODAY - timedelta(days=90), source="x"
        )
    )
    session.flush()

    def owed() -> int:
        ids = [
            f"external_event:{i}"
            for i in session.scalars(select(ExternalEvent.id).where(ExternalEvent.customer_id == c))
        ]
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.business_key.in_(ids))
            )
            or 0
        )

    first = Importer(session, ROW_MODELS, actor="tests").import_file("external-events", path)
    assert (first.inserted, first.fact_checks) == (1, 1)
    assert owed() == 1
    again = Importer(session, ROW_MODELS, actor="tests").import_file("external-events", path)
    assert (again.inserted, again.skipped, again.fact_checks) == (0, 1, 0)
    assert owed() == 1


def test_above_the_cap_and_first_load_start_none_and_say_so(session):
    feed = KINDS["financial-statements"].fact
    assert feed is not None
    customers = [customer_and_loan(session).customer_id for _ in range(3)]
    statement(session, customers[0], TODAY - timedelta(days=800))  # the table holds one already
    watermark = facts.fact_watermark(session, feed)
    for c in customers:
        statement(session, c, TODAY - timedelta(days=35))
    capped = facts.enqueue_imported(
        session, feed, watermark, facts.ImportChecksConfig(max_starts=2)
    )
    assert (capped.subjects, capped.started) == (3, 0)
    assert "cap of 2" in capped.left and "inspections" in capped.left
    assert _owed(session, customers) == []
    # a first load (the table was empty before the import): none, whatever the cap
    first = facts.enqueue_imported(session, feed, None, facts.ImportChecksConfig(max_starts=10**6))
    assert first.started == 0 and first.left.startswith("first load of financial_statement")
    assert _owed(session, customers) == []
    # within the cap: one each
    within = facts.enqueue_imported(
        session, feed, watermark, facts.ImportChecksConfig(max_starts=3)
    )
    assert (within.subjects, within.started) == (3, 3)
    assert len(_owed(session, customers)) == 3


def test_the_configured_cap_keeps_a_portfolio_load_from_flooding_the_engine():
    config = facts.load_import_config()
    assert config.first_load_starts_none is True
    assert 0 < config.max_starts < 2000  # the demo's portfolio has 2,000 loans
