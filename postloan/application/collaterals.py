"""Collateral valuations: record one (the same valuation date again replaces it)."""

from __future__ import annotations

from postloan.application import facts
from postloan.application.services import Services
from postloan.loans import valuations as service
from postloan.loans.models import CollateralValuation


def record_valuation(
    services: Services, collateral_id: str, data: service.ValuationData, *, actor: str
) -> tuple[CollateralValuation, bool]:
    """Store the valuation in its own transaction; returns it and whether it replaced one of
    the same date. The collateral check it feeds is owed with it (``fact_checks``, outbox)."""
    with services.transaction() as session:
        valuation, replaced = service.record_valuation(session, collateral_id, data, actor=actor)
        facts.enqueue_checks(session, facts.FactKind.COLLATERAL_VALUATION, valuation.id)
        return valuation, replaced
