"""Checks on fact arrival against the real engine, real workers and the real relay: facts posted
over REST raise (or close) their signals within seconds, with no inspection started; covenants
defined over REST are computed from posted statements (breach and near breach, with numbers)."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from helpers import wait_for
from sqlalchemy import select

from postloan.db import unit_of_work
from postloan.inspections.models import Inspection
from postloan.signals.models import SignalStatus
from tests.facts.fact_data import (
    customer_and_loan,
    fact_check_completed,
    post_statement,
    signal_of,
)

pytestmark = pytest.mark.engine

TODAY = date.today()
#: "within seconds": the worker long-polls, the relay starts the process right after the commit
WITHIN_SECONDS = 15


def _quiet_loan(database: str, **kw) -> tuple[str, str]:
    with unit_of_work(database) as session:
        loan = customer_and_loan(session, **kw)
        return loan.customer_id, loan.id


def _inspections(database: str, loan_id: str) -> int:
    with unit_of_work(database) as session:
        return len(session.scalars(select(Inspection).where(Inspection.loan_id == loan_id)).all())


def test_revenue_down_35_percent_raises_its_signal_within_seconds(workers, api, admin, database):
    customer_id, loan_id = _quiet_loan(database)
    earlier = post_statement(api, customer_id, TODAY - timedelta(days=400), revenue="1000000")
    # The earlier statement's own checks first: run after the second POST (a loaded machine),
    # they would see both statements and raise the drop under the earlier one's key.
    wait_for(
        lambda: fact_check_completed(admin, f"financial_statement:{earlier['id']}"), timeout=60
    )
    assert signal_of(database, customer_id, "REVENUE_DROP_30") is None
    started = time.monotonic()
    latest = post_statement(api, customer_id, TODAY - timedelta(days=35), revenue="650000")
    signal = wait_for(
        lambda: signal_of(database, customer_id, "REVENUE_DROP_30"),
        timeout=WITHIN_SECONDS,
        what="the REVENUE_DROP_30 signal of the posted statement",
    )
    elapsed = time.monotonic() - started
    assert signal.source == "financials" and signal.status == SignalStatus.OPEN
    assert signal.evidence["drop"] == 0.35
    assert signal.evidence["fact"] == f"financial_statement:{latest['id']}"
    assert _inspections(database, loan_id) == 0  # no inspection, by hand or otherwise
    wait_for(lambda: fact_check_completed(admin, f"financial_statement:{latest['id']}"), timeout=15)
    print(f"REVENUE_DROP_30 raised {elapsed:.1f} s after the statement was posted")


def test_a_valuation_raises_ltv_high(workers, api, admin, database):
    customer_id, loan_id = _quiet_loan(database, amount="500000", collateral_value="800000")
    r = api.post(
        f"/api/v1/collaterals/COL-{loan_id[2:]}/valuations",
        json={
            "valued_on": (TODAY - timedelta(days=1)).isoformat(),
            "value": "550000",
            "valuer": "Valuer Ltd",
        },
    )
    assert r.status_code == 201, r.text
    signal = wait_for(
        lambda: signal_of(database, customer_id, "LTV_HIGH"),
        timeout=WITHIN_SECONDS,
        what="LTV_HIGH from the posted valuation",
    )
    assert (signal.source, signal.loan_id) == ("collateral", loan_id)
    assert signal.evidence["fact"] == f"collateral_valuation:{r.json()['id']}"


def test_a_repayment_raises_the_overdue_signal_and_its_payment_closes_it(
    workers, api, admin, database
):
    customer_id, loan_id = _quiet_loan(database)
    r = api.post(
        f"/api/v1/loans/{loan_id}/repayments",
        json={"due_on": (TODAY - timedelta(days=12)).isoformat(), "due_amount": "25000"},
    )
    assert r.status_code == 201, r.text
    overdue = wait_for(
        lambda: signal_of(database, customer_id, "OVERDUE_1_30"),
        timeout=WITHIN_SECONDS,
        what="OVERDUE_1_30 from the posted instalment",
    )
    assert overdue.status != SignalStatus.RESOLVED
    instalment = r.json()["id"]
    # the payment arrives: the instalment amended with what was paid
    r = api.post(
        f"/api/v1/loans/{loan_id}/repayments/{instalment}/amendments",
        json={
            "due_on": (TODAY - timedelta(days=12)).isoformat(),
            "due_amount": "25000",
            "paid_on": TODAY.isoformat(),
            "paid_amount": "25000",
            "reason": "payment received",
        },
    )
    assert r.status_code == 201, r.text

    def closed():
        s = signal_of(database, customer_id, "OVERDUE_1_30")
        return s if s is not None and s.status == SignalStatus.RESOLVED else None

    resolved = wait_for(closed, timeout=WITHIN_SECONDS, what="the overdue signal to close")
    assert resolved.id == overdue.id
    assert resolved.evidence["cleared_by"]["fact"] == f"repayment:{instalment}"
    assert resolved.evidence["cleared_by"]["days_past_due"] == 0


def test_covenant_breach_and_near_breach_computed_from_posted_statements(
    workers, api, admin, database
):
    customer_id, loan_id = _quiet_loan(database)
    r = api.post(
        f"/api/v1/loans/{loan_id}/covenants",
        json={
            "ratio": "quick_ratio",
            "operator": ">=",
            "threshold": "1.2",
            "frequency": "annual",
        },
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid_input", r.text
    assert "ratio" in r.text
    r = api.post(
        f"/api/v1/loans/{loan_id}/covenants",
        json={"ratio": "debt_to_asset", "operator": "<", "threshold": "0.9", "frequency": "yearly"},
    )
    assert r.status_code == 422 and "frequency" in r.text, r.text
    since = (TODAY - timedelta(days=800)).isoformat()
    debt = api.post(
        f"/api/v1/loans/{loan_id}/covenants",
        json={
            "ratio": "debt_to_asset",
            "operator": "<",
            "threshold": "0.70",
            "frequency": "quarterly",
            "tested_from": since,
            "description": "Debt-to-asset ratio below 70%",
        },
    )
    assert debt.status_code == 201, debt.text
    assert debt.json()["formula"] == "total_liabilities / total_assets"
    worth = api.post(
        f"/api/v1/loans/{loan_id}/covenants",
        json={
            "ratio": "net_worth",
            "operator": ">=",
            "threshold": "600000",
            "frequency": "quarterly",
            "tested_from": since,
        },
    )
    assert worth.status_code == 201, worth.text

    # Statement 1: 1 440 000 / 2 000 000 = 0.72 -> breach; net worth 560 000 -> breach.
    first = post_statement(
        api, customer_id, TODAY - timedelta(days=200), total_liabilities="1440000"
    )
    # Statement 2 (a later quarter): 1 360 000 / 2 000 000 = 0.68, within 5% of 0.70 -> near
    # breach; net worth 640 000 -> pass (more than 30 000 above 600 000).
    second = post_statement(
        api, customer_id, TODAY - timedelta(days=20), total_liabilities="1360000"
    )

    def tested():
        rows = api.get(f"/api/v1/loans/{loan_id}/covenants").json()
        return rows if all(len(c["tests"]) == 2 for c in rows) else None

    covenants = {c["ratio"]: c for c in wait_for(tested, timeout=WITHIN_SECONDS * 2)}
    d = covenants["debt_to_asset"]
    assert [(t["outcome"], Decimal(t["value"]), t["statement_id"]) for t in d["tests"]] == [
        ("near_breach", Decimal("0.68"), second["id"]),
        ("breach", Decimal("0.72"), first["id"]),
    ]
    assert d["latest"]["outcome"] == "near_breach"
    assert d["tests"][1]["figures"]["numerator"] == "1440000.00"
    assert d["tests"][1]["figures"]["denominator"] == "2000000.00"
    w = covenants["net_worth"]
    assert [(t["outcome"], Decimal(t["value"])) for t in w["tests"]] == [
        ("pass", Decimal("640000")),
        ("breach", Decimal("560000")),
    ]
    breach = signal_of(database, customer_id, "COVENANT_BREACH")
    near = signal_of(database, customer_id, "COVENANT_NEAR_BREACH")
    assert breach is not None and near is not None
    assert (breach.loan_id, breach.source) == (loan_id, "covenants")
    assert d["tests"][1]["signal_id"] == breach.id
    assert d["tests"][0]["signal_id"] == near.id
    assert _inspections(database, loan_id) == 0
