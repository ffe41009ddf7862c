"""Outsourced visits: the vendor registry (kept in step with ``config/vendors.yaml`` on every
read, hence a transaction even for reads), and a vendor's submitted batch, which owes its
``outsourced_visit_batch`` process."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from postloan.application import opportunities, task_context
from postloan.application.services import Services
from postloan.outbox import service as outbox
from postloan.vendors import quality
from postloan.vendors import service as vendors
from postloan.vendors.models import Vendor, VisitBatch

VISIT_BATCH_PROCESS = "outsourced_visit_batch"


def request_visit_batch_process(session: Session, batch: Any) -> None:
    outbox.enqueue_process_start(
        session,
        process_key=VISIT_BATCH_PROCESS,
        business_key=batch.id,
        attach_to="visit_batch",
        variables={
            "batch_id": batch.id,
            "vendor_id": batch.vendor_id,
            **task_context.for_visit_batch(session, batch),
        },
    )


def register_vendor(
    services: Services, *, vendor_id: str, name: str, active: bool, actor: str
) -> Vendor:
    """Register a vendor; a known id (in any case) is a conflict."""
    with services.transaction() as session:
        return vendors.register(session, vendor_id=vendor_id, name=name, active=active, actor=actor)


def list_vendors(services: Services) -> list[Vendor]:
    """Every vendor (the registry synchronised with the configuration first)."""
    with services.transaction() as session:
        return vendors.list_vendors(session)


def vendor_with_quality(services: Services, vendor_id: str) -> tuple[Vendor, dict[str, Any]]:
    """A vendor and the components of its quality score; NotFound for an unknown vendor."""
    with services.transaction() as session:
        vendor = vendors.get_vendor(session, vendor_id)
        return vendor, quality.components(session, vendor_id)


def submit_visit_batch(
    services: Services, vendor_id: str, visits: list[dict[str, Any]], *, actor: str
) -> VisitBatch:
    """Store a vendor's batch of visits and owe its review process, in one transaction; the
    batch is read back once delivered (``process_instance_id`` null until the relay started
    it). Raises InvalidInput for a visit of an inspection not assigned to the vendor."""
    with services.transaction() as session:
        batch = vendors.submit_batch(session, vendor_id, visits, actor)
        request_visit_batch_process(session, batch)
        opportunities.capture_from_visits(session, visits, captured_by=actor)
        batch_id = batch.id
    with services.uow() as session:
        return vendors.get_batch(session, batch_id)
