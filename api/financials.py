"""Financial statements of customers, as core banking or a statement-collection tool sends them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Response, status

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import FactDate, PathId, StatementFigure, StatementNonNegative, Strict
from postloan.application import financials as financial_cases
from postloan.financials import service
from postloan.financials.models import FinancialStatement

router = APIRouter(tags=["financial statements"])

#: Amounts that may be negative (profit, cash flow) and those that may not (assets, revenue),
#: both within the configured maximum (config/input_bounds.yaml).
Amount = StatementFigure
NonNegative = StatementNonNegative


class StatementIn(Strict):
    period_end: FactDate
    revenue: NonNegative
    net_profit: Amount
    total_assets: NonNegative
    total_liabilities: NonNegative
    operating_cash_flow: Amount
    #: water, electricity, gas in one common unit; optional (small enterprises' red flag)
    utility_consumption: NonNegative | None = None
    #: optional; a current ratio covenant needs both (without them its test is not computable)
    current_assets: NonNegative | None = None
    current_liabilities: NonNegative | None = None


class StatementOut(Strict):
    id: int
    period_end: date
    revenue: Decimal
    net_profit: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    operating_cash_flow: Decimal
    utility_consumption: Decimal | None = None
    current_assets: Decimal | None = None
    current_liabilities: Decimal | None = None
    customer_id: str
    replaced: bool = False

    @classmethod
    def of(cls, s: FinancialStatement, replaced: bool = False) -> StatementOut:
        return cls(
            id=s.id,
            customer_id=s.customer_id,
            period_end=s.period_end,
            revenue=s.revenue,
            net_profit=s.net_profit,
            total_assets=s.total_assets,
            total_liabilities=s.total_liabilities,
            operating_cash_flow=s.operating_cash_flow,
            utility_consumption=s.utility_consumption,
            current_assets=s.current_assets,
            current_liabilities=s.current_liabilities,
            replaced=replaced,
        )


@router.post(
    "/customers/{customer_id}/financial-statements",
    status_code=status.HTTP_201_CREATED,
    response_model=StatementOut,
    responses={200: {"description": "the period was known: its statement was replaced"}},
)
def record_statement(
    customer_id: PathId,
    body: StatementIn,
    response: Response,
    services: ServicesDep,
    caller: Integrator,
) -> StatementOut:
    """Store a period's statement; re-sending the same period_end replaces it (answer 200)."""
    statement, replaced = financial_cases.record_statement(
        services, customer_id, service.StatementData(**body.model_dump()), actor=caller.actor
    )
    if replaced:
        response.status_code = status.HTTP_200_OK
    return StatementOut.of(statement, replaced)


@router.get("/customers/{customer_id}/financial-statements", response_model=list[StatementOut])
def list_statements(customer_id: PathId, session: SessionDep, caller: Reader) -> list[StatementOut]:
    """The customer's statements, newest period first."""
    return [StatementOut.of(s) for s in service.statements(session, customer_id)]
