"""Tasks that say what they are: names, due dates and priorities of the human tasks, against the
real engine with bpmn/ deployed and the start variables of postloan/application/task_context.py.

Names are read from the engine's task (what Tasklist shows), due dates and priorities likewise;
the words and numbers come from config/tasks.yaml, the order of urgency is the design's (special
> first > routine; critical > serious > major > minor).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from helpers import PERFORM, new_loan, onsite_loan, task_of, wait_for

from gateway import processes
from gateway.engine import EngineGateway
from gateway.variables import parse_date
from postloan.application.task_context import end_of_day, rules
from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.inspections.models import Inspection
from postloan.loans.models import Loan
from postloan.vendors.models import Vendor, VisitAssignment
from tests.vendors.conftest import HOME

pytestmark = pytest.mark.engine

SEP = " · "


@pytest.fixture(scope="module")
def api_engine(provisioned) -> EngineGateway:  # noqa: ANN001
    """The engine as the API's technical user (who starts processes in production)."""
    return EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )


def customer_of(api: Any, loan_id: str) -> tuple[str, str]:
    loan = api.get(f"/api/v1/loans/{loan_id}").json()
    customer = api.get(f"/api/v1/customers/{loan['customer_id']}").json()
    return customer["id"], customer["name"]


def due_of(task: dict) -> datetime:
    assert task["due"], f"task {task['taskDefinitionKey']} has no due date"
    return parse_date(task["due"])


def assert_due_days_after_creation(task: dict, days: int) -> None:
    """Due ``days`` after the engine created the task (it resolves the duration a few
    milliseconds after stamping the creation time)."""
    late = due_of(task) - parse_date(task["created"]) - timedelta(days=days)
    assert timedelta(0) <= late < timedelta(seconds=5), (task["name"], late)


def start(database: str, engine: EngineGateway, loan_id: str, kind: str, due_on: date) -> str:
    with unit_of_work(database) as session:
        inspection = processes.start_planned_inspection(
            session,
            engine,
            loan_id=loan_id,
            kind=kind,
            reason=f"task titles test ({kind})",
            actor="test",
            due_on=due_on,
            mode="on_site",
        )
        return inspection.id


def due_on_of(database: str, inspection_id: str) -> date:
    with unit_of_work(database) as session:
        due_on = session.get(Inspection, inspection_id).due_on
    assert due_on is not None, f"inspection {inspection_id} has no due date"
    return due_on


@pytest.mark.parametrize("kind", ["first", "routine", "special"])
def test_perform_task_names_the_kind_customer_and_loan_due_on_the_inspection_date(
    workers, api, api_engine, as_user, database, kind
) -> None:
    loan_id = onsite_loan(api, "am_li")
    _, customer_name = customer_of(api, loan_id)
    if kind == "first":
        # registering the loan requested it, due as its plan says
        found = api.get("/api/v1/inspections", params={"loan_id": loan_id}).json()["items"]
        inspection_id = next(i["id"] for i in found if i["kind"] == "first")
    else:
        due_in = {"routine": 9, "special": 0}[kind]
        inspection_id = start(
            database, api_engine, loan_id, kind, date.today() + timedelta(days=due_in)
        )

    perform = task_of(as_user("am_li"), inspection_id, "perform_inspection")
    words = rules().kind(kind)
    assert words.label.lower().startswith(kind)
    assert perform["name"] == SEP.join([words.label, customer_name, loan_id])
    assert perform["priority"] == words.priority
    # Due at the end of the inspection's due day (UTC): not overdue during that day.
    assert due_of(perform) == end_of_day(due_on_of(database, inspection_id))


def test_priorities_follow_the_urgency_of_the_kinds_and_severities() -> None:
    config = rules()
    special, first, routine = (config.kind(k).priority for k in ("special", "first", "routine"))
    assert special > first > routine
    severities = config.rectification_severities
    assert severities["critical"] > severities["serious"] > severities["major"]
    assert severities["major"] > severities["minor"]


def test_review_names_the_kind_and_is_due_days_after_the_work_was_submitted(
    workers, api, api_engine, as_user, database
) -> None:
    loan_id = onsite_loan(api, "am_li")
    _, customer_name = customer_of(api, loan_id)
    inspection_id = start(database, api_engine, loan_id, "routine", date.today() + timedelta(5))
    am_li = as_user("am_li")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    items = am_li.task_variables(perform["id"])["inspection_items"]
    am_li.submit_form(perform["id"], {**PERFORM, "items_in_order": [i["code"] for i in items]})

    review = task_of(as_user("po_chen"), inspection_id, "review_inspection")
    words = rules().kind("routine")
    assert review["name"] == SEP.join([f"Review {words.noun}", customer_name, loan_id])
    assert review["priority"] == words.priority
    days = rules().due_days_after_creation["review_inspection"]
    assert_due_days_after_creation(review, days)


@pytest.mark.parametrize("severity", ["critical", "minor"])
def test_rectification_tasks_name_the_severity_and_are_due_on_the_deadline(
    workers, api, api_engine, as_user, admin, database, severity
) -> None:
    loan_id = onsite_loan(api, "am_li")
    customer_id, customer_name = customer_of(api, loan_id)
    with unit_of_work(database) as session:
        item = processes.open_rectification(
            session,
            api_engine,
            customer_id=customer_id,
            loan_id=loan_id,
            source="inspection",
            source_ref="INS-TITLES",
            title=f"{severity} finding",
            description="Collateral insurance lapsed",
            severity=severity,
            owner="am_li",
            raised_by="po_chen",
        )
        rectification_id, deadline = item.id, item.deadline

    evidence = task_of(as_user("am_li"), rectification_id, "awaiting_evidence")
    assert evidence["name"] == SEP.join(
        [f"Submit evidence of {severity} rectification", customer_name, loan_id]
    )
    assert evidence["priority"] == rules().rectification_severities[severity]
    # due when the item's deadline passes (the deadline timer's own date)
    assert due_of(evidence) == datetime.combine(
        deadline + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    )

    # the owner submits the evidence in Tasklist (the task's form)
    as_user("am_li").submit_form(
        evidence["id"],
        {
            "evidence_description": "Insurance renewed with the same insurer",
            "evidence_documents": "policy-2027.pdf",
        },
    )
    verify = task_of(as_user("po_wang"), rectification_id, "verify_rectification")
    assert verify["name"] == SEP.join([f"Verify {severity} rectification", customer_name, loan_id])
    assert verify["priority"] == rules().rectification_severities[severity]
    days = rules().due_days_after_creation["verify_rectification"]
    assert_due_days_after_creation(verify, days)


def test_a_process_started_without_the_labels_still_names_its_tasks(
    workers, admin, as_user
) -> None:
    """An integrator's start with the documented variables only (inspection_id): the diagram's
    defaults stand in, nothing fails at task creation."""
    key = f"INS-BARE-{uuid.uuid4().hex[:6]}"
    pid = admin.start_process("post_loan_inspection", key, {"inspection_id": key})
    resolve = task_of(as_user("po_chen"), key, "resolve_inspection_data")
    assert resolve["name"] == SEP.join(
        ["Resolve data of inspection", "customer not given", "loan not given"]
    )
    assert resolve["due"] is None and resolve["priority"] == 50
    assert admin.incidents(processInstanceId=pid) == []


def test_credit_approval_names_the_customer_and_what_is_applied_for(workers, api, as_user) -> None:
    loan_id = onsite_loan(api, "am_li")
    customer_id, customer_name = customer_of(api, loan_id)
    r = api.post(
        "/api/v1/credit-applications",
        json={"customer_id": customer_id, "product": "MICRO-OPERATING", "amount": "250000.00"},
    )
    assert r.status_code == 201, r.text
    application_id = r.json()["id"]

    def approval() -> dict | None:
        tasks = as_user("ca_zhao").tasks(
            processInstanceBusinessKey=application_id, taskDefinitionKey="approve_credit"
        )
        return tasks[0] if tasks else None

    task = wait_for(approval, what="approve_credit")
    assert task["name"] == SEP.join(
        ["Approve credit", customer_name, "MICRO-OPERATING 250,000.00 CNY"]
    )
    assert task["priority"] == rules().credit_application_priority
    days = rules().due_days_after_creation["approve_credit"]
    assert_due_days_after_creation(task, days)


def test_visit_batch_review_names_the_vendor_and_the_number_of_visits(
    workers, api, api_keys, api_engine, as_user, database
) -> None:
    loan_id = new_loan(api, account_manager="am_li")
    with unit_of_work(database) as session:
        customer = session.get(Customer, session.get(Loan, loan_id).customer_id)
        customer.latitude, customer.longitude = HOME
        session.commit()
        inspection_id = processes.start_planned_inspection(
            session,
            api_engine,
            loan_id=loan_id,
            kind="routine",
            reason="outsourced field visit",
            actor="test",
            mode="outsourced",
        ).id

    def assignment() -> tuple[str, str] | None:
        with unit_of_work(database) as session:
            row = session.query(VisitAssignment).filter_by(inspection_id=inspection_id).first()
            return (row.vendor_id, session.get(Vendor, row.vendor_id).name) if row else None

    vendor_id, vendor_name = wait_for(assignment, what="the vendor assignment")
    r = api.post(
        f"/api/v1/vendors/{vendor_id}/visit-batches",
        headers={"Authorization": f"Bearer {api_keys['vendor:' + vendor_id]}"},
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
    review = task_of(as_user("po_chen"), r.json()["id"], "review_visit_batch")
    assert review["name"] == SEP.join(["Review visit batch", vendor_name, "1 visit"])
    assert review["priority"] == rules().visit_batch_priority
    assert_due_days_after_creation(review, rules().due_days_after_creation["review_visit_batch"])
