"""Financial statements: received from integrators or a bulk import, one per customer and period."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.errors import NotFound
from postloan.financials.models import FinancialStatement


@dataclass(frozen=True)
class StatementData:
    period_end: date
    revenue: Decimal
    net_profit: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    operating_cash_flow: Decimal
    utility_consumption: Decimal | None = None
    current_assets: Decimal | None = None
    current_liabilities: Decimal | None = None


def record_statement(
    session: Session, customer_id: str, data: StatementData, *, actor: str
) -> tuple[FinancialStatement, bool]:
    """Store the statement of a period; re-sending a period replaces it. Returns (row, replaced)."""
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id!r} does not exist")
    statement = session.scalars(
        select(FinancialStatement).where(
            FinancialStatement.customer_id == customer_id,
            FinancialStatement.period_end == data.period_end,
        )
    ).one_or_none()
    replaced = statement is not None
    if statement is None:
        statement = FinancialStatement(customer_id=customer_id)
        session.add(statement)
    for name, value in asdict(data).items():
        setattr(statement, name, value)
    audit.record(
        session,
        actor=actor,
        action="financial_statement.replaced" if replaced else "financial_statement.recorded",
        object_type="customer",
        object_id=customer_id,
        detail={"period_end": data.period_end.isoformat(), "revenue": str(data.revenue)},
    )
    session.flush()
    return statement, replaced


def statements(session: Session, customer_id: str) -> list[FinancialStatement]:
    """The customer's statements, newest period first."""
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id!r} does not exist")
    return list(
        session.scalars(
            select(FinancialStatement)
            .where(FinancialStatement.customer_id == customer_id)
            .order_by(FinancialStatement.period_end.desc())
        )
    )
