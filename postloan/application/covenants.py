"""Covenants: define one on a loan (its tests on the statements already held owed with it)."""

from __future__ import annotations

from postloan.application import facts
from postloan.application.services import Services
from postloan.covenants import service
from postloan.covenants.config import load_config
from postloan.covenants.models import Covenant


def define_covenant(
    services: Services, loan_id: str, data: service.CovenantData, *, actor: str
) -> Covenant:
    """Attach the covenant in its own transaction; the ``fact_checks`` process of the covenant
    (outbox, same transaction) tests it on the statements already held for its periods, so
    its history is there within seconds. Later statements test it as they arrive."""
    with services.transaction() as session:
        covenant = service.define(session, loan_id, data, load_config(), actor=actor)
        facts.enqueue_checks(session, facts.FactKind.COVENANT, covenant.id)
        return covenant
