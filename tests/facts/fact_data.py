"""Business data for the fact-check and covenant tests, written straight to the database (a
bulk import does the same: no first inspection, so only the checks under test run)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.financials.models import FinancialStatement
from postloan.loans.models import ApprovalCondition, Collateral, Loan
from postloan.signals.models import RiskSignal


def customer_and_loan(
    session: Session,
    *,
    disbursed_on: date | None = None,
    amount: str = "500000",
    collateral_value: str | None = None,
) -> Loan:
    suffix = uuid.uuid4().hex[:8]
    disbursed_on = disbursed_on or date.today() - timedelta(days=400)
    session.add(
        Customer(
            id=f"C-{suffix}",
            name=f"Facts Co {suffix}",
            segment="sme",
            industry="textiles",
            branch="BR-SH-01",
            account_manager="am_li",
            credit_rating="BBB",
        )
    )
    session.flush()
    loan = Loan(
        id=f"L-{suffix}",
        customer_id=f"C-{suffix}",
        product="SME-OPERATING",
        amount=Decimal(amount),
        currency="CNY",
        disbursed_on=disbursed_on,
        maturity_on=date.today() + timedelta(days=600),
        purpose="raw materials",
        # a recent inspection date keeps the scheduler away from this loan
        next_inspection_on=date.today() + timedelta(days=300),
    )
    session.add(loan)
    session.flush()
    session.add(ApprovalCondition(loan_id=loan.id, seq=1, text="Debt-to-asset ratio below 70%"))
    if collateral_value is not None:
        session.add(
            Collateral(
                id=f"COL-{suffix}",
                loan_id=loan.id,
                kind="commercial_property",
                value=Decimal(collateral_value),
                currency="CNY",
            )
        )
    session.flush()
    return loan


def statement(
    session: Session,
    customer_id: str,
    period_end: date,
    *,
    revenue: str = "1000000",
    net_profit: str = "50000",
    total_assets: str = "2000000",
    total_liabilities: str = "1000000",
    operating_cash_flow: str = "80000",
    current_assets: str | None = None,
    current_liabilities: str | None = None,
) -> FinancialStatement:
    row = FinancialStatement(
        customer_id=customer_id,
        period_end=period_end,
        revenue=Decimal(revenue),
        net_profit=Decimal(net_profit),
        total_assets=Decimal(total_assets),
        total_liabilities=Decimal(total_liabilities),
        operating_cash_flow=Decimal(operating_cash_flow),
        current_assets=None if current_assets is None else Decimal(current_assets),
        current_liabilities=None if current_liabilities is None else Decimal(current_liabilities),
    )
    session.add(row)
    session.flush()
    return row


def signal_of(database: str, customer_id: str, code: str) -> RiskSignal | None:
    with unit_of_work(database) as session:
        found = session.scalars(
            select(RiskSignal).where(RiskSignal.customer_id == customer_id, RiskSignal.code == code)
        ).one_or_none()
        if found is not None:
            session.expunge(found)
        return found


def post_statement(api, customer_id: str, period_end: date, **figures: str) -> dict:
    body = {
        "period_end": period_end.isoformat(),
        "revenue": "1000000",
        "net_profit": "50000",
        "total_assets": "2000000",
        "total_liabilities": "1000000",
        "operating_cash_flow": "80000",
        **figures,
    }
    r = api.post(f"/api/v1/customers/{customer_id}/financial-statements", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def fact_check_completed(admin, business_key: str) -> bool:
    found = admin.historic_process_instances(
        processDefinitionKey="fact_checks", processInstanceBusinessKey=business_key
    )
    return bool(found) and all(p["state"] == "COMPLETED" for p in found)
