"""The checks as pure functions over the database: findings, codes and evidence."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from checks_data import customer_and_loan, inspection_of, instalment

from postloan.checks import add_months, collateral, external, financials, repayment, use_of_funds
from postloan.checks.config import load_config
from postloan.db import unit_of_work
from postloan.events.models import ExternalEvent
from postloan.financials.models import FinancialStatement
from postloan.inspections.models import InspectionItem
from postloan.loans.models import CollateralValuation

AS_OF = date(2026, 6, 30)
CONFIG = load_config()


@pytest.fixture
def session(database):
    with unit_of_work(database) as s:
        yield s
        s.rollback()


def codes(findings) -> set[str]:
    return {f.code for f in findings}


def test_add_months_clamps_to_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 3, 15), -15) == date(2024, 12, 15)


def test_repayment_bands_trend_and_unpaid_interest(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))
    # Six monthly instalments: the first three on time, the last three unpaid.
    for i in range(6):
        due = date(2026, 1, 5) + timedelta(days=30 * i)
        instalment(session, loan, due, paid_on=due if i < 3 else None)
    instalment(session, loan, date(2026, 4, 1), amount="300", kind="interest")
    result = repayment.check(session, loan, AS_OF, CONFIG.repayment)
    # The unpaid interest of 2026-04-01 is the oldest unpaid item.
    assert result.days_past_due == (AS_OF - date(2026, 4, 1)).days == 90
    assert result.interest_unpaid_days == (AS_OF - date(2026, 4, 1)).days > 60
    found = {f.code: f for f in result.findings}
    assert {"REPAYMENT_OVERDUE", "OVERDUE_31_90", "ARREARS_RISING", "INTEREST_UNPAID_60"} <= set(
        found
    )
    assert found["ARREARS_RISING"].evidence["late_newer"] == 3
    assert found["ARREARS_RISING"].evidence["late_older"] == 0
    assert found["INTEREST_UNPAID_60"].evidence["interest_overdue"] == "300.00"


def test_repayment_current_and_long_overdue(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))
    instalment(session, loan, date(2026, 5, 1), paid_on=date(2026, 5, 1))
    assert codes(repayment.check(session, loan, AS_OF, CONFIG.repayment).findings) == {
        "REPAYMENT_CURRENT"
    }
    instalment(session, loan, date(2026, 3, 1))
    result = repayment.check(session, loan, AS_OF, CONFIG.repayment)
    assert "OVERDUE_90_PLUS" in codes(result.findings)
    assert "OVERDUE_31_90" not in codes(result.findings)


def _statement(session, customer_id, period_end, **values):
    base = dict(
        revenue="1000000",
        net_profit="50000",
        total_assets="2000000",
        total_liabilities="1000000",
        operating_cash_flow="200000",
        utility_consumption="1000",
    )
    base.update(values)
    session.add(
        FinancialStatement(
            customer_id=customer_id,
            period_end=period_end,
            **{k: Decimal(v) if v is not None else None for k, v in base.items()},
        )
    )
    session.flush()


def test_financial_drops_equity_margin(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))
    _statement(session, loan.customer_id, date(2024, 12, 31))
    _statement(
        session,
        loan.customer_id,
        date(2025, 12, 31),
        revenue="690000",
        operating_cash_flow="150000",
        utility_consumption="600",
        net_profit="-20000",
        total_liabilities="1850000",
    )
    found = {
        f.code: f for f in financials.check(session, loan.customer_id, AS_OF, CONFIG.financials)
    }
    # Revenue -31%, utility -40%: flagged; cash flow -25%: not; equity 7.5%: low, not critical.
    assert set(found) == {
        "REVENUE_DROP_30",
        "UTILITY_DROP_30",
        "EQUITY_RATIO_LOW",
        "NET_MARGIN_NEGATIVE",
    }
    assert found["REVENUE_DROP_30"].evidence["previous"]["period_end"] == "2024-12-31"
    assert found["EQUITY_RATIO_LOW"].evidence["equity_ratio"] == pytest.approx(0.075)
    assert all(f.scope == "customer" for f in found.values())


def test_financial_critical_equity_and_stale_statement(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))
    assert codes(financials.check(session, loan.customer_id, AS_OF, CONFIG.financials)) == {
        "STATEMENT_MISSING"
    }
    _statement(session, loan.customer_id, date(2025, 3, 1), total_liabilities="1950000")
    assert codes(financials.check(session, loan.customer_id, AS_OF, CONFIG.financials)) == {
        "STATEMENT_MISSING",
        "EQUITY_RATIO_CRITICAL",
    }


def test_collateral_ltv_from_latest_valuation_and_overdue_revaluation(session):
    loan = customer_and_loan(
        session,
        disbursed_on=date(2024, 1, 1),
        amount="800000",
        collaterals=[("commercial_property", "1200000"), ("residential_property", "300000")],
    )
    # Without valuations: 800k / 1.5m = 53%; commercial not revalued since 2024-01-01.
    found = {f.code: f for f in collateral.check(session, loan, AS_OF, CONFIG.collateral)}
    assert set(found) == {"REVALUATION_OVERDUE"}
    assert [o["kind"] for o in found["REVALUATION_OVERDUE"].evidence["overdue"]] == [
        "commercial_property"
    ]
    session.add(
        CollateralValuation(
            collateral_id=f"COL-{loan.id[2:]}-0",
            valued_on=date(2026, 3, 1),
            value=Decimal("600000"),
            valuer="Valuer Ltd",
        )
    )
    session.flush()
    found = {f.code: f for f in collateral.check(session, loan, AS_OF, CONFIG.collateral)}
    assert set(found) == {"LTV_HIGH"}  # 800k / 900k = 89% > 80%
    assert found["LTV_HIGH"].evidence["ltv"] == pytest.approx(800 / 900)
    assert found["LTV_HIGH"].evidence["collaterals"][0]["valuer"] == "Valuer Ltd"


def test_external_events_in_the_last_twelve_months(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))
    for kind, day in [
        ("litigation", date(2026, 5, 1)),
        ("litigation", date(2026, 6, 1)),
        ("tax_arrears", date(2025, 5, 1)),
        ("shareholder_change", date(2026, 1, 2)),
    ]:
        session.add(
            ExternalEvent(
                customer_id=loan.customer_id,
                kind=kind,
                occurred_on=day,
                source="court",
                details=f"{kind} on {day}",
            )
        )
    session.flush()
    found = {f.code: f for f in external.check(session, loan.customer_id, AS_OF, CONFIG.external)}
    assert set(found) == {"LITIGATION", "SHAREHOLDER_CHANGE"}  # tax arrears too old
    assert len(found["LITIGATION"].evidence["events"]) == 2


def test_use_of_funds_verification(session):
    loan = customer_and_loan(session, disbursed_on=date(2026, 1, 10), purpose=" ")
    found, verified = use_of_funds.check(session, loan, AS_OF, CONFIG.use_of_funds)
    assert codes(found) == {"LOAN_PURPOSE_MISSING", "USE_OF_FUNDS_UNVERIFIED"}
    assert not verified
    # Before the three months are over nothing is overdue yet.
    found, _ = use_of_funds.check(session, loan, date(2026, 3, 1), CONFIG.use_of_funds)
    assert "USE_OF_FUNDS_UNVERIFIED" not in codes(found)
    inspection = inspection_of(session, loan)
    session.add(
        InspectionItem(
            inspection_id=inspection.id,
            seq=1,
            code="funds_1",
            label="Use of funds",
            source="use_of_funds",
            result="ok",
        )
    )
    session.flush()
    # An item on an inspection that is not completed does not count.
    assert not use_of_funds.check(session, loan, AS_OF, CONFIG.use_of_funds)[1]
    from datetime import UTC, datetime

    inspection.status, inspection.report = "completed", {"x": 1}
    inspection.completed_at = datetime(2026, 3, 20, tzinfo=UTC)
    session.flush()
    found, verified = use_of_funds.check(session, loan, AS_OF, CONFIG.use_of_funds)
    assert verified and codes(found) == {"LOAN_PURPOSE_MISSING"}
