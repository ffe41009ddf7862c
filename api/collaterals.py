"""Collateral valuations, as valuers or the collateral system send them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Response, status

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import CollateralValue, FactDate, Name, PathId, Strict
from postloan.application import collaterals as collateral_cases
from postloan.loans import valuations as service
from postloan.loans.models import CollateralValuation

router = APIRouter(tags=["collaterals"])


class ValuationIn(Strict):
    valued_on: FactDate
    value: CollateralValue
    valuer: Name


class ValuationOut(Strict):
    id: int
    valued_on: date
    value: Decimal
    valuer: str
    collateral_id: str
    replaced: bool = False

    @classmethod
    def of(cls, v: CollateralValuation, replaced: bool = False) -> ValuationOut:
        return cls(
            id=v.id,
            collateral_id=v.collateral_id,
            valued_on=v.valued_on,
            value=v.value,
            valuer=v.valuer,
            replaced=replaced,
        )


@router.post(
    "/collaterals/{collateral_id}/valuations",
    status_code=status.HTTP_201_CREATED,
    response_model=ValuationOut,
    responses={200: {"description": "a valuation of that date existed: replaced"}},
)
def record_valuation(
    collateral_id: PathId,
    body: ValuationIn,
    response: Response,
    services: ServicesDep,
    caller: Integrator,
) -> ValuationOut:
    """Store a valuation; the same valued_on twice replaces the first (answer 200)."""
    valuation, replaced = collateral_cases.record_valuation(
        services, collateral_id, service.ValuationData(**body.model_dump()), actor=caller.actor
    )
    if replaced:
        response.status_code = status.HTTP_200_OK
    return ValuationOut.of(valuation, replaced)


@router.get("/collaterals/{collateral_id}/valuations", response_model=list[ValuationOut])
def list_valuations(
    collateral_id: PathId, session: SessionDep, caller: Reader
) -> list[ValuationOut]:
    """The collateral's valuations, newest first."""
    return [ValuationOut.of(v) for v in service.valuations(session, collateral_id)]
