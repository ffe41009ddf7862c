"""Vendor fixtures: outsourced inspections waiting for their vendor visit, the vendor's keys."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import new_loan, wait_for

FIXTURES = Path(__file__).parent / "fixtures"
#: Registered address of every test customer (Shanghai, People's Square).
HOME = (31.2304, 121.4737)


@pytest.fixture(scope="session")
def wait_process(admin: Any) -> str:
    """Deploys the test-only process standing in for post_loan_inspection's outsourced branch."""
    admin.deploy_folder(FIXTURES, "vendor-test-fixtures")
    return "test_vendor_visit_wait"


@pytest.fixture(scope="session")
def vendor_key(database: str) -> Callable[[str], str]:
    from postloan.access import service as access
    from postloan.db import unit_of_work

    keys: dict[str, str] = {}

    def make(role: str) -> str:
        if role not in keys:
            with unit_of_work(database) as session:
                keys[role] = access.issue(
                    session, name=f"test-{role}-{uuid.uuid4().hex[:6]}", role=role, actor="tests"
                )
        return keys[role]

    return make


@pytest.fixture
def supervision_rate() -> Iterator[Callable[[float], None]]:
    """Set the supervision sample rate for this test (the workers run in this process)."""
    from postloan.vendors import config

    def set_rate(rate: float) -> None:
        config.OVERRIDES["supervision"] = {"sample_rate": rate}

    yield set_rate
    config.OVERRIDES.pop("supervision", None)


@pytest.fixture
def outsourced(
    workers: Any, api: Any, admin: Any, database: str, wait_process: str
) -> Callable[[], dict[str, Any]]:
    """``outsourced()``: a micro loan's inspection in outsourced mode, assigned to a vendor by
    the ``inspection.assign-vendor`` worker and waiting for ``vendor_visit_accepted``."""
    from postloan.customers.models import Customer
    from postloan.db import unit_of_work
    from postloan.inspections import service as inspections
    from postloan.vendors.models import VisitAssignment

    def make() -> dict[str, Any]:
        loan_id = new_loan(api, account_manager="am_li")
        # An inspection with no post_loan_inspection instance of its own: only the test's
        # wait process (same business key) takes part, so nothing else races for the message.
        with unit_of_work(database) as session:
            inspection = inspections.request(
                session,
                loan_id=loan_id,
                kind="special",
                reason="outsourced visit test",
                actor="tests",
            )
            inspection.mode = "outsourced"
            inspection_id = inspection.id
            customer = session.get(
                Customer, api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]
            )
            customer.latitude, customer.longitude = HOME
        pid = admin.start_process(wait_process, inspection_id, {"inspection_id": inspection_id})

        def assigned() -> Any:
            with unit_of_work(database) as session:
                row = (
                    session.query(VisitAssignment)
                    .filter_by(inspection_id=inspection_id)
                    .one_or_none()
                )
                return row and {"vendor_id": row.vendor_id, "window_start": row.window_start}

        assignment = wait_for(assigned, what=f"vendor assignment of {inspection_id}")
        return {"loan_id": loan_id, "inspection_id": inspection_id, "wait_pid": pid, **assignment}

    return make
