"""Starting processes for business objects: the database row and its process instance together."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.engine import EngineError, EngineGateway
from postloan.errors import Unavailable
from postloan.inspections import service as inspections
from postloan.inspections.models import Inspection

INSPECTION_PROCESS = "post_loan_inspection"


def start_inspection(
    session: Session, engine: EngineGateway, *, loan_id: str, kind: str, reason: str, actor: str
) -> Inspection:
    """Record an inspection and start its ``post_loan_inspection`` instance (business key: its id).

    The row is committed before the process starts, because the first worker may run within
    milliseconds and must find it. If the engine refuses, the request is withdrawn again, so
    nothing is left half-written.
    """
    inspection = inspections.request(session, loan_id=loan_id, kind=kind, reason=reason,
                                     actor=actor)
    session.commit()
    try:
        pid = engine.start_process(INSPECTION_PROCESS, inspection.id, {
            "inspection_id": inspection.id, "loan_id": loan_id, "kind": kind,
        })
    except EngineError as exc:
        inspections.withdraw(session, inspection.id, f"engine refused: {exc.message}",
                             actor=actor)
        session.commit()
        raise Unavailable(
            f"the inspection could not be started, nothing was saved: {exc.message}"
        ) from exc
    inspections.attach_process(session, inspection.id, pid)
    session.commit()
    return inspection
