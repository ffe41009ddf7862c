"""Risk compensation use cases: import pay bases (REST, ``postloanctl compensation import``),
the release run (``postloanctl compensation release``). Each owns its transaction; the
due-diligence use case records its determinations and final outcomes in its own transaction
through :mod:`postloan.compensation.service` (``record_determination`` / ``record_final``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from postloan.application.services import Services
from postloan.compensation import service as compensation
from postloan.compensation.models import CompensationEntry

log = logging.getLogger(__name__)


def import_pay_bases(
    services: Services,
    items: Sequence[compensation.PayBaseItem],
    *,
    actor: str,
    today: date | None = None,
) -> list[compensation.ImportResult]:
    """A batch of performance pay figures: all written, or none (the first problem raises:
    422 naming ``items.<i>.<field>``, 409 for a stored period with another figure)."""
    with services.transaction() as session:
        results = compensation.import_bases(
            session, items, actor=actor, today=today or date.today()
        )
    created = sum(1 for r in results if r.status == "created")
    log.info("pay bases: %d imported, %d unchanged", created, len(results) - created)
    return results


def release_due(services: Services, *, as_of: date, actor: str) -> list[CompensationEntry]:
    """Release the tranches due by ``as_of`` that no open review holds (idempotent)."""
    with services.transaction() as session:
        released = compensation.release_due(session, as_of=as_of, actor=actor)
    log.info("release run as of %s: %d tranche(s) released", as_of, len(released))
    return released
