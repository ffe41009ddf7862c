"""Data builders of the classification tests: customers and loans written through the services."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from postloan.customers import service as customers
from postloan.db import unit_of_work
from postloan.loans import service as loans

TODAY = date.today()


@pytest.fixture
def debtor(database: str) -> Callable[..., tuple[str, list[str]]]:
    """debtor(*loans): a new customer with loans; each loan a dict of amount, days_overdue,
    restructured_on, risk_class (written as the loan's current class), paid_periods."""

    def make(*specs: dict) -> tuple[str, list[str]]:
        suffix = uuid.uuid4().hex[:8]
        customer_id = f"CC-{suffix}"
        ids = []
        with unit_of_work(database) as session:
            customers.register(
                session,
                customers.CustomerData(
                    id=customer_id,
                    name=f"Classification Co {suffix}",
                    segment="sme",
                    industry="machinery",
                    branch="BR-SH-01",
                    account_manager="am_li",
                    credit_rating="BBB",
                ),
                actor="tests",
            )
            for n, spec in enumerate(specs, start=1):
                loan_id = f"LC-{suffix}-{n}"
                loans.register(
                    session,
                    loans.LoanData(
                        id=loan_id,
                        customer_id=customer_id,
                        product="SME-OPERATING",
                        amount=Decimal(spec.get("amount", "500000")),
                        currency="CNY",
                        disbursed_on=TODAY - timedelta(days=900),
                        maturity_on=TODAY + timedelta(days=400),
                        purpose="working capital",
                    ),
                    actor="tests",
                )
                for k in range(spec.get("paid_periods", 1), 0, -1):
                    due = TODAY - timedelta(days=30 * k + spec.get("days_overdue", 0))
                    loans.record_repayment(
                        session,
                        loan_id,
                        loans.RepaymentData(
                            due_on=due,
                            due_amount=Decimal("10000"),
                            paid_on=due,
                            paid_amount=Decimal("10000"),
                        ),
                        actor="tests",
                    )
                if spec.get("days_overdue"):
                    loans.record_repayment(
                        session,
                        loan_id,
                        loans.RepaymentData(
                            due_on=TODAY - timedelta(days=spec["days_overdue"]),
                            due_amount=Decimal("10000"),
                            paid_on=None,
                            paid_amount=Decimal(0),
                        ),
                        actor="tests",
                    )
                loan = loans.get(session, loan_id)
                loan.restructured_on = spec.get("restructured_on")
                if "risk_class" in spec:
                    loan.risk_class = spec["risk_class"]
                    loan.risk_class_reason = "set by the test"
                ids.append(loan_id)
        return customer_id, ids

    return make
