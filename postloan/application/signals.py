"""Risk signals: their owner acknowledges them, then resolves them."""

from __future__ import annotations

from postloan.application.services import Services
from postloan.signals import service
from postloan.signals.models import RiskSignal


def acknowledge_signal(
    services: Services, signal_id: int, *, actor: str, comment: str | None = None
) -> RiskSignal:
    with services.transaction() as session:
        return service.acknowledge(session, signal_id, actor=actor, comment=comment)


def resolve_signal(
    services: Services, signal_id: int, *, resolution: str, actor: str
) -> RiskSignal:
    with services.transaction() as session:
        return service.resolve(session, signal_id, resolution=resolution, actor=actor)
