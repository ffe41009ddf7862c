"""Imported facts re-run their checks against the real engine, the real workers and the real
relay: a statement imported with revenue down 35% raises its signal within seconds, and the
same file again starts nothing new. A current ratio covenant is computed from statements posted
over REST: pass, near breach, breach with the numbers, not computable without the figures."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from helpers import wait_for
from sqlalchemy import func, select

from api.import_rows import ROW_MODELS
from postloan.db import unit_of_work
from postloan.importer import Importer, ImportFailed
from postloan.outbox.models import OutboxMessage
from postloan.signals.models import SignalStatus
from tests.facts.fact_data import (
    customer_and_loan,
    fact_check_completed,
    post_statement,
    signal_of,
    statement,
)

pytestmark = pytest.mark.engine

TODAY = date.today()
WITHIN_SECONDS = 15


def _fact_check_starts(database: str) -> int:
    with unit_of_work(database) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.business_key.like("financial_statement:%"))
            )
            or 0
        )


def test_imported_statement_with_revenue_down_35_percent_raises_its_signal(
    workers, admin, database, tmp_path
):
    with unit_of_work(database) as session:
        loan = customer_and_loan(session)
        customer_id, loan_id = loan.customer_id, loan.id
        statement(session, customer_id, TODAY - timedelta(days=400), revenue="1000000")
    assert signal_of(database, customer_id, "REVENUE_DROP_30") is None
    path = tmp_path / "statements.jsonl"
    row = {
        "customer_id": customer_id,
        "period_end": (TODAY - timedelta(days=35)).isoformat(),
        "revenue": "650000",
        "net_profit": "50000",
        "total_assets": "2000000",
        "total_liabilities": "1000000",
        "operating_cash_flow": "80000",
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    before = _fact_check_starts(database)
    started = time.monotonic()
    with unit_of_work(database) as session:
        result = Importer(session, ROW_MODELS, actor="tests").import_file(
            "financial-statements", path
        )
    assert (result.inserted, result.fact_checks) == (1, 1)
    signal = wait_for(
        lambda: signal_of(database, customer_id, "REVENUE_DROP_30"),
        timeout=WITHIN_SECONDS,
        what="the REVENUE_DROP_30 signal of the imported statement",
    )
    elapsed = time.monotonic() - started
    assert signal.source == "financials" and signal.status == SignalStatus.OPEN
    assert signal.evidence["drop"] == 0.35
    fact = signal.evidence["fact"]
    assert fact.startswith("financial_statement:")
    assert _fact_check_starts(database) == before + 1
    wait_for(lambda: fact_check_completed(admin, fact), timeout=WITHIN_SECONDS)

    # The same file again: refused as already stored; nothing inserted, nothing started.
    with pytest.raises(ImportFailed), unit_of_work(database) as session:
        Importer(session, ROW_MODELS, actor="tests").import_file("financial-statements", path)
    time.sleep(2)  # the relay would have delivered anything owed by now
    assert _fact_check_starts(database) == before + 1
    found = admin.historic_process_instances(
        processDefinitionKey="fact_checks", processInstanceBusinessKey=fact
    )
    assert len(found) == 1
    assert signal_of(database, customer_id, "REVENUE_DROP_30").id == signal.id
    print(f"REVENUE_DROP_30 raised {elapsed:.1f} s after the import committed ({loan_id})")


def test_current_ratio_covenant_from_posted_statements(workers, api, database):
    with unit_of_work(database) as session:
        loan = customer_and_loan(session)
        customer_id, loan_id = loan.customer_id, loan.id
    r = api.post(
        f"/api/v1/loans/{loan_id}/covenants",
        json={
            "ratio": "current_ratio",
            "operator": ">=",
            "threshold": "1.2",
            "frequency": "quarterly",
            "tested_from": (TODAY - timedelta(days=800)).isoformat(),
            "description": "Current ratio at least 1.2",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["formula"] == "current_assets / current_liabilities"
    # a bound like the other figures: negative current assets are refused, naming the field
    bad = api.post(
        f"/api/v1/customers/{customer_id}/financial-statements",
        json={
            "period_end": (TODAY - timedelta(days=10)).isoformat(),
            "revenue": "1",
            "net_profit": "1",
            "total_assets": "1",
            "total_liabilities": "1",
            "operating_cash_flow": "1",
            "current_assets": "-5",
        },
    )
    assert bad.status_code == 422 and "current_assets" in bad.text, bad.text
    # four quarters, oldest first: 1.5 pass, 1.25 near breach, 1.1 breach, no figures
    quarters = [TODAY - timedelta(days=days) for days in (315, 220, 125, 30)]
    posted = [
        post_statement(
            api, customer_id, quarters[0], current_assets="900000", current_liabilities="600000"
        ),
        post_statement(
            api, customer_id, quarters[1], current_assets="750000", current_liabilities="600000"
        ),
        post_statement(
            api, customer_id, quarters[2], current_assets="660000", current_liabilities="600000"
        ),
        post_statement(api, customer_id, quarters[3]),
    ]
    assert Decimal(posted[0]["current_assets"]) == Decimal("900000")
    assert posted[3]["current_assets"] is None and posted[3]["current_liabilities"] is None

    def tested():
        rows = api.get(f"/api/v1/loans/{loan_id}/covenants").json()
        return rows if rows and len(rows[0]["tests"]) == 4 else None

    [covenant] = wait_for(tested, timeout=WITHIN_SECONDS * 2, what="four covenant tests")
    by_statement = {t["statement_id"]: t for t in covenant["tests"]}
    outcomes = [
        (
            by_statement[p["id"]]["outcome"],
            None
            if by_statement[p["id"]]["value"] is None
            else Decimal(by_statement[p["id"]]["value"]),
        )
        for p in posted
    ]
    assert outcomes == [
        ("pass", Decimal("1.5")),
        ("near_breach", Decimal("1.25")),
        ("breach", Decimal("1.1")),
        ("not_computable", None),
    ]
    breach = by_statement[posted[2]["id"]]
    assert breach["figures"]["numerator"] == "660000.00"
    assert breach["figures"]["denominator"] == "600000.00"
    absent = by_statement[posted[3]["id"]]
    assert absent["figures"]["missing"] == ["current_assets", "current_liabilities"]
    assert absent["signal_id"] is None
    assert breach["signal_id"] is not None
    signal = signal_of(database, customer_id, "COVENANT_BREACH")
    assert signal is not None and signal.id == breach["signal_id"]
