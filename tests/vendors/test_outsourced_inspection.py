"""An inspection whose plan says "outsourced" waits for a vendor's visit, accepted in a batch
review, before the account manager performs it — the real post_loan_inspection diagram."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from helpers import new_loan, task_of, wait_for

from gateway.engine import EngineGateway
from gateway.processes import start_planned_inspection
from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.loans.models import Loan
from postloan.vendors.models import VisitAssignment
from tests.vendors.conftest import HOME


def test_an_outsourced_inspection_waits_for_the_accepted_vendor_visit(
    workers, api, api_keys, admin, as_user, database, provisioned
) -> None:
    loan_id = new_loan(api, account_manager="am_li")
    engine = EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )
    with unit_of_work(database) as session:
        customer = session.get(Customer, session.get(Loan, loan_id).customer_id)
        customer.latitude, customer.longitude = HOME
        session.commit()
        inspection = start_planned_inspection(
            session,
            engine,
            loan_id=loan_id,
            kind="routine",
            reason="outsourced field visit",
            actor="test",
            mode="outsourced",
        )
        inspection_id, pid = inspection.id, inspection.process_instance_id

    def assignment() -> VisitAssignment | None:
        with unit_of_work(database) as session:
            return (
                session.query(VisitAssignment).filter_by(inspection_id=inspection_id).one_or_none()
            )

    assigned = wait_for(assignment, what="the vendor assignment")
    wait_for(
        lambda: "vendor_visit_received" in admin.active_activities(pid),
        what="the inspection to wait for the vendor's visit",
    )
    assert (
        admin.tasks(
            processInstanceBusinessKey=inspection_id, taskDefinitionKey="perform_inspection"
        )
        == []
    )

    vendor = {"Authorization": f"Bearer {api_keys['vendor:' + assigned.vendor_id]}"}
    r = api.post(
        f"/api/v1/vendors/{assigned.vendor_id}/visit-batches",
        headers=vendor,
        json={
            "visits": [
                {
                    "inspection_id": inspection_id,
                    "visited_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
                    "latitude": HOME[0] + 0.001,
                    "longitude": HOME[1],
                    "photo_sha256": [hashlib.sha256(uuid.uuid4().bytes).hexdigest()],
                    "notes": f"Shop open, stock checked ({uuid.uuid4().hex})",
                    "checklist_answers": {"business_operating_normally": True},
                }
            ]
        },
    )
    assert r.status_code == 201, r.text
    batch_id = r.json()["id"]
    review = task_of(admin, batch_id, "review_visit_batch")
    options = admin.task_variables(review["id"])["visit_options"]
    po_chen = as_user("po_chen")
    po_chen.claim(review["id"], "po_chen")
    po_chen.complete_task(
        review["id"], {"visits_accepted": [o["value"] for o in options], "rejection_reasons": ""}
    )

    perform = task_of(as_user("am_li"), inspection_id, "perform_inspection")
    assert perform["assignee"] == "am_li"
