"""Covenants of a loan as computed tests: define one, read each with its test history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, status
from pydantic import Field

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import BOUNDS, LongText, PathId, ScheduledDate, Strict, text
from postloan.application import covenants as covenant_cases
from postloan.covenants import service
from postloan.covenants.config import CovenantsConfig, load_config
from postloan.covenants.models import Covenant, CovenantTest

router = APIRouter(tags=["covenants"])

Threshold = Annotated[
    Decimal,
    Field(
        ge=-BOUNDS.amounts.statement_max,
        le=BOUNDS.amounts.statement_max,
        max_digits=20,
        decimal_places=4,
        examples=["0.70"],
    ),
]


class CovenantIn(Strict):
    #: a ratio of config/covenants.yaml (debt_to_asset, equity_ratio, net_worth, net_margin, ...)
    ratio: Annotated[str, *text(40, min_length=1)]
    operator: Literal["<", "<=", ">", ">="]
    threshold: Threshold
    #: a frequency of config/covenants.yaml (quarterly, semiannual, annual)
    frequency: Annotated[str, *text(20, min_length=1)]
    #: the first test period is the one containing this day (default: the disbursement)
    tested_from: ScheduledDate | None = None
    #: the approval condition of this loan the covenant makes computable
    approval_condition_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
    description: LongText = ""


class CovenantTestOut(Strict):
    period_end: date
    outcome: str
    value: Decimal | None
    operator: str
    threshold: Decimal
    margin: float
    statement_id: int | None
    statement_period_end: date | None
    figures: dict[str, Any]
    signal_id: int | None
    tested_at: datetime
    missing_recorded_at: datetime | None

    @classmethod
    def of(cls, row: CovenantTest) -> CovenantTestOut:
        return cls(
            period_end=row.period_end,
            outcome=row.outcome,
            value=row.value,
            operator=row.operator,
            threshold=row.threshold,
            margin=row.margin,
            statement_id=row.statement_id,
            statement_period_end=row.statement_period_end,
            figures=row.figures or {},
            signal_id=row.signal_id,
            tested_at=row.tested_at,
            missing_recorded_at=row.missing_recorded_at,
        )


class CovenantOut(Strict):
    id: int
    loan_id: str
    approval_condition_id: int | None
    ratio: str
    label: str
    formula: str
    operator: str
    threshold: Decimal
    frequency: str
    tested_from: date
    description: str
    near_breach_margin: float
    #: the newest period's test (computed value and pass / near_breach / breach), if any
    latest: CovenantTestOut | None
    tests: list[CovenantTestOut]

    @classmethod
    def of(
        cls, covenant: Covenant, tests: list[CovenantTest], config: CovenantsConfig
    ) -> CovenantOut:
        definition = config.ratios.get(covenant.ratio)
        rows = [CovenantTestOut.of(t) for t in tests]
        return cls(
            id=covenant.id,
            loan_id=covenant.loan_id,
            approval_condition_id=covenant.approval_condition_id,
            ratio=covenant.ratio,
            label=definition.label if definition else covenant.ratio,
            formula=definition.formula() if definition else "(ratio no longer configured)",
            operator=covenant.operator,
            threshold=covenant.threshold,
            frequency=covenant.frequency,
            tested_from=covenant.tested_from,
            description=covenant.description,
            near_breach_margin=config.margin_for(covenant.ratio),
            latest=rows[0] if rows else None,
            tests=rows,
        )


@router.post(
    "/loans/{loan_id}/covenants",
    status_code=status.HTTP_201_CREATED,
    response_model=CovenantOut,
)
def define_covenant(
    loan_id: PathId, body: CovenantIn, services: ServicesDep, caller: Integrator
) -> CovenantOut:
    """Attach a computable covenant (ratio, operator, threshold, test frequency). Every
    statement posted for the customer then records a test; the statements already held are
    tested within seconds (process ``fact_checks``)."""
    covenant = covenant_cases.define_covenant(
        services, loan_id, service.CovenantData(**body.model_dump()), actor=caller.actor
    )
    return CovenantOut.of(covenant, [], load_config())


@router.get("/loans/{loan_id}/covenants", response_model=list[CovenantOut])
def list_covenants(loan_id: PathId, session: SessionDep, caller: Reader) -> list[CovenantOut]:
    """The loan's covenants: formula, threshold, the computed value and outcome of the newest
    test, and the test history (newest period first)."""
    config = load_config()
    return [CovenantOut.of(c, tests, config) for c, tests in service.of_loan(session, loan_id)]
