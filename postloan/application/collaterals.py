"""Collateral valuations: record one (the same valuation date again replaces it)."""

from __future__ import annotations

from postloan.application.services import Services
from postloan.loans import valuations as service
from postloan.loans.models import CollateralValuation


def record_valuation(
    services: Services, collateral_id: str, data: service.ValuationData, *, actor: str
) -> tuple[CollateralValuation, bool]:
    """Store the valuation in its own transaction; returns it and whether it replaced one of
    the same date."""
    with services.transaction() as session:
        return service.record_valuation(session, collateral_id, data, actor=actor)
