"""Business data for the check tests, written straight to the database."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from postloan.customers.models import Customer
from postloan.inspections.models import Inspection
from postloan.loans.models import Collateral, Loan, Repayment


def customer_and_loan(
    session: Session,
    *,
    disbursed_on: date,
    amount: str = "500000",
    purpose: str = "raw materials",
    collaterals=(),
) -> Loan:
    suffix = uuid.uuid4().hex[:8]
    customer = Customer(
        id=f"C-{suffix}",
        name=f"Check Co {suffix}",
        segment="sme",
        industry="textiles",
        branch="BR-1",
        account_manager="am_li",
        credit_rating="BBB",
    )
    loan = Loan(
        id=f"L-{suffix}",
        customer_id=customer.id,
        product="SME-OPERATING",
        amount=Decimal(amount),
        currency="CNY",
        disbursed_on=disbursed_on,
        maturity_on=disbursed_on + timedelta(days=1000),
        purpose=purpose,
    )
    session.add_all([customer, loan])
    session.flush()
    for i, (kind, value) in enumerate(collaterals):
        session.add(
            Collateral(
                id=f"COL-{suffix}-{i}",
                loan_id=loan.id,
                kind=kind,
                value=Decimal(value),
                currency="CNY",
            )
        )
    session.flush()
    return loan


def instalment(
    session: Session,
    loan: Loan,
    due_on: date,
    amount: str = "1000",
    paid_on: date | None = None,
    kind: str = "instalment",
    paid: str | None = None,
) -> None:
    session.add(
        Repayment(
            loan_id=loan.id,
            due_on=due_on,
            due_amount=Decimal(amount),
            paid_on=paid_on,
            paid_amount=Decimal(paid if paid is not None else (amount if paid_on else "0")),
            kind=kind,
        )
    )
    session.flush()


def inspection_of(session: Session, loan: Loan) -> Inspection:
    inspection = Inspection(
        id=f"INS-T{uuid.uuid4().hex[:10].upper()}",
        loan_id=loan.id,
        kind="routine",
        reason="check tests",
        requested_by="tests",
    )
    session.add(inspection)
    session.flush()
    return inspection
