"""Collateral valuations: one per collateral and date; re-sending a date replaces it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.errors import NotFound
from postloan.loans.models import Collateral, CollateralValuation


@dataclass(frozen=True)
class ValuationData:
    valued_on: date
    value: Decimal
    valuer: str


def record_valuation(
    session: Session, collateral_id: str, data: ValuationData, *, actor: str
) -> tuple[CollateralValuation, bool]:
    """Store a valuation; the same date twice replaces the first. Returns (row, replaced)."""
    collateral = session.get(Collateral, collateral_id)
    if collateral is None:
        raise NotFound(f"collateral {collateral_id!r} does not exist")
    valuation = session.scalars(
        select(CollateralValuation).where(
            CollateralValuation.collateral_id == collateral_id,
            CollateralValuation.valued_on == data.valued_on,
        )
    ).one_or_none()
    replaced = valuation is not None
    if valuation is None:
        valuation = CollateralValuation(collateral_id=collateral_id, valued_on=data.valued_on)
        session.add(valuation)
    valuation.value = data.value
    valuation.valuer = data.valuer
    audit.record(
        session,
        actor=actor,
        action="collateral_valuation.replaced" if replaced else "collateral_valuation.recorded",
        object_type="loan",
        object_id=collateral.loan_id,
        detail={
            "collateral_id": collateral_id,
            "valued_on": data.valued_on.isoformat(),
            "value": str(data.value),
            "valuer": data.valuer,
        },
    )
    session.flush()
    return valuation, replaced


def valuations(session: Session, collateral_id: str) -> list[CollateralValuation]:
    """The collateral's valuations, newest first."""
    if session.get(Collateral, collateral_id) is None:
        raise NotFound(f"collateral {collateral_id!r} does not exist")
    return list(
        session.scalars(
            select(CollateralValuation)
            .where(CollateralValuation.collateral_id == collateral_id)
            .order_by(CollateralValuation.valued_on.desc())
        )
    )
