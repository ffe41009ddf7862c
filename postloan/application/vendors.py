"""Outsourced visits: a vendor's submitted batch owes its ``outsourced_visit_batch`` process."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from postloan.outbox import service as outbox

VISIT_BATCH_PROCESS = "outsourced_visit_batch"


def request_visit_batch_process(session: Session, batch: Any) -> None:
    outbox.enqueue_process_start(
        session,
        process_key=VISIT_BATCH_PROCESS,
        business_key=batch.id,
        attach_to="visit_batch",
        variables={"batch_id": batch.id, "vendor_id": batch.vendor_id},
    )
