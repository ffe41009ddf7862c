"""One ``stage`` vocabulary: the list and the detail of inspections say the same, derived from
the activity the engine's instance waits in (``postloan.inspections.service.stage_of``), and
the document lists the values; ``rework_count`` and ``reviewer`` follow the engine at once
after a return for rework, not only when the inspector submits again.

The fast tests run an app of their own whose engine is a stand-in placing each inspection's
instance in a chosen activity (every stage, the vendor visit's wait included); the engine
tests walk real instances of the real diagram through the stages.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import PERFORM, new_loan, start_inspection, task_of, wait_for
from sqlite_template import copy_of, sqlite_template  # noqa: F401 - the fixture

from api.deps import get_engine
from api.main import app as shared_app
from config.settings import Settings, get_settings
from postloan.access import service as access
from postloan.application.ports import EngineFailure
from postloan.customers import service as customers
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.inspections import service as inspections
from postloan.inspections.models import ACTIVITY_STAGES, Inspection, InspectionStage
from postloan.loans import service as loans

DIAGRAM = Path(__file__).resolve().parents[2] / "bpmn" / "post_loan_inspection.bpmn"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
WAIT_STATES = (
    "userTask",
    "serviceTask",
    "businessRuleTask",
    "intermediateCatchEvent",
    "receiveTask",
    "callActivity",
    "subProcess",
)
TODAY = date.today()

#: (activities the stand-in engine reports, the stage both list and detail must say)
CASES: list[tuple[list[str], InspectionStage]] = [
    (["check_financials"], InspectionStage.AUTOMATED_CHECKS),
    (["resolve_inspection_data"], InspectionStage.DATA_TO_RESOLVE),
    (["assign_vendor_visit"], InspectionStage.AWAITING_VENDOR_VISIT),
    (["vendor_visit_received"], InspectionStage.AWAITING_VENDOR_VISIT),
    (["perform_inspection"], InspectionStage.AWAITING_PERFORM),
    (["review_inspection"], InspectionStage.UNDER_REVIEW),
    (["onsite_verification"], InspectionStage.UNDER_REVIEW),
    (["confirm_classification"], InspectionStage.CLASSIFICATION_TO_CONFIRM),
    (["finalize_inspection"], InspectionStage.FINALIZING),
    ([], InspectionStage.FINALIZING),
]


class StandInEngine:
    """An ActivityReader: each instance waits where the test put it; ``down`` fails it."""

    def __init__(self) -> None:
        self.where: dict[str, list[str]] = {}
        self.variables: dict[str, dict[str, Any]] = {}
        self.down = False
        self.reads = 0

    def _up(self) -> None:
        if self.down:
            raise EngineFailure(0, "engine unreachable (test)")

    def active_activities(self, pid: str) -> list[str]:
        self._up()
        return list(self.where.get(pid, []))

    def waiting_in(self, pids: Any) -> dict[str, list[str]]:
        self._up()
        self.reads += 1
        return {p: list(self.where.get(p, [])) for p in pids}

    def variables_of(self, pids: Any, names: Any) -> dict[str, dict[str, Any]]:
        self._up()
        return {p: dict(self.variables.get(p, {})) for p in pids}


# -- the vocabulary -------------------------------------------------------------------------


def test_every_wait_state_of_the_diagram_has_its_stage():
    tree = ET.parse(DIAGRAM)
    process = tree.find(f"{BPMN}process")
    assert process is not None
    activities = {
        el.get("id") for kind in WAIT_STATES for el in process.iter(f"{BPMN}{kind}") if el.get("id")
    }
    assert activities, "no activities read"
    assert activities - set(ACTIVITY_STAGES) == set(), "activities without a stage"
    assert set(ACTIVITY_STAGES) - activities == set(), "stages of activities the diagram lost"


def test_stage_of_closed_unstarted_and_unreachable_inspections():
    def of(status: str, pid: str | None, activities: list[str] | None) -> InspectionStage:
        inspection = Inspection(status=status, process_instance_id=pid)
        return inspections.stage_of(inspection, activities)

    assert of("requested", None, None) is InspectionStage.REQUESTED
    assert of("completed", "p", ["perform_inspection"]) is InspectionStage.COMPLETED
    assert of("cancelled", "p", []) is InspectionStage.CANCELLED
    assert of("in_progress", "p", None) is InspectionStage.UNKNOWN
    assert of("in_progress", "p", ["perform_inspection"]) is InspectionStage.AWAITING_PERFORM
    # the further one wins when an instance waits in two places at once
    assert (
        of("in_progress", "p", ["perform_inspection", "review_inspection"])
        is InspectionStage.UNDER_REVIEW
    )


def test_the_document_lists_the_stages_as_an_enum():
    document = TestClient(shared_app).get("/openapi.json").json()
    out = document["components"]["schemas"]["InspectionOut"]["properties"]["stage"]
    ref = out.get("$ref") or next(x["$ref"] for x in out.get("allOf", []))
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema["enum"]) == {s.value for s in InspectionStage}
    assert "in_progress" not in schema["enum"] and "vendor_visit_received" not in schema["enum"]


# -- list and detail agree, stage by stage -------------------------------------------------


@pytest.fixture
def db(tmp_path, sqlite_template) -> Any:  # noqa: F811
    url = copy_of(sqlite_template, tmp_path / "stages.db")
    yield url
    db_engine(url).dispose()


@pytest.fixture
def engine() -> StandInEngine:
    return StandInEngine()


@pytest.fixture
def client(db, engine) -> TestClient:
    from api.main import create_app

    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(database_url=db)
    app.dependency_overrides[get_engine] = lambda: engine
    with unit_of_work(db) as session:
        key = access.issue(session, name="k-view", role="viewer", actor="tests")
    test_client = TestClient(app)
    test_client.headers["Authorization"] = f"Bearer {key}"
    return test_client


def seed(db: str, engine: StandInEngine) -> dict[str, InspectionStage]:
    """One inspection per case (each on a loan of its own), its instance placed by the case;
    plus one requested without a process, one completed and one cancelled."""
    expected: dict[str, InspectionStage] = {}
    with unit_of_work(db) as session:
        customers.register(
            session,
            customers.CustomerData(
                id="C-ST",
                name="Stage Co",
                segment="sme",
                industry="textiles",
                branch="BR-SH-01",
                account_manager="am_li",
                credit_rating="A",
            ),
            actor="tests",
        )
        for n in range(len(CASES) + 3):
            loans.register(
                session,
                loans.LoanData(
                    id=f"L-ST{n}",
                    customer_id="C-ST",
                    product="SME-WORKING-CAPITAL",
                    amount=Decimal("100000"),
                    currency="CNY",
                    disbursed_on=TODAY - timedelta(days=60),
                    maturity_on=TODAY + timedelta(days=300),
                    purpose="stock",
                ),
                actor="tests",
            )
        for n, (activities, stage) in enumerate(CASES):
            i = inspections.request(
                session, loan_id=f"L-ST{n}", kind="routine", reason="stage", actor="tests"
            )
            i.status, i.process_instance_id = "in_progress", f"pid-{n}"
            engine.where[f"pid-{n}"] = activities
            expected[i.id] = stage
        extra = len(CASES)
        requested = inspections.request(
            session, loan_id=f"L-ST{extra}", kind="routine", reason="stage", actor="tests"
        )
        expected[requested.id] = InspectionStage.REQUESTED
        done = inspections.request(
            session, loan_id=f"L-ST{extra + 1}", kind="routine", reason="stage", actor="tests"
        )
        done.status, done.report, done.process_instance_id = "completed", {"x": 1}, "pid-done"
        engine.where["pid-done"] = ["perform_inspection"]  # an ended one is never asked
        expected[done.id] = InspectionStage.COMPLETED
        cancelled = inspections.request(
            session, loan_id=f"L-ST{extra + 2}", kind="routine", reason="stage", actor="tests"
        )
        cancelled.status, cancelled.process_instance_id = "cancelled", "pid-cancelled"
        expected[cancelled.id] = InspectionStage.CANCELLED
    return expected


def test_the_list_and_the_detail_say_the_same_stage_for_every_stage(client, db, engine):
    expected = seed(db, engine)
    page = client.get("/api/v1/inspections", params={"limit": 500})
    assert page.status_code == 200, page.text
    listed = {i["id"]: i["stage"] for i in page.json()["items"]}
    assert engine.reads == 1  # the whole page in one read, not one per inspection
    detail = {i: client.get(f"/api/v1/inspections/{i}").json()["stage"] for i in expected}
    assert listed == detail == {i: s.value for i, s in expected.items()}
    assert {s for s in listed.values()} >= {
        "awaiting_vendor_visit",
        "awaiting_perform",
        "under_review",
        "classification_to_confirm",
        "requested",
        "completed",
    }


def test_an_unreachable_engine_makes_the_open_ones_unknown_in_both(client, db, engine):
    expected = seed(db, engine)
    engine.down = True
    listed = {i["id"]: i["stage"] for i in client.get("/api/v1/inspections").json()["items"]}
    for inspection_id, stage in expected.items():
        want = "unknown" if stage.value not in ("requested", "completed", "cancelled") else stage
        assert listed[inspection_id] == want
        assert client.get(f"/api/v1/inspections/{inspection_id}").json()["stage"] == want


def test_rework_count_and_reviewer_follow_the_engine_in_list_and_detail(client, db, engine):
    expected = seed(db, engine)
    inspection_id = next(i for i, s in expected.items() if s is InspectionStage.AWAITING_PERFORM)
    with unit_of_work(db) as session:
        pid = session.get(Inspection, inspection_id).process_instance_id
    engine.variables[pid] = {"rework_count": 2, "reviewer": "po_chen"}
    detail = client.get(f"/api/v1/inspections/{inspection_id}").json()
    listed = next(
        i for i in client.get("/api/v1/inspections").json()["items"] if i["id"] == inspection_id
    )
    for body in (detail, listed):
        assert (body["rework_count"], body["reviewer"]) == (2, "po_chen")


# -- the real engine ------------------------------------------------------------------------


def stages(api, inspection_id: str) -> tuple[str, str]:
    detail = api.get(f"/api/v1/inspections/{inspection_id}").json()
    loan = detail["loan_id"]
    items = api.get("/api/v1/inspections", params={"loan_id": loan}).json()["items"]
    listed = next(i for i in items if i["id"] == inspection_id)
    return listed["stage"], detail["stage"]


def fields(api, inspection_id: str) -> list[tuple[int, str | None]]:
    detail = api.get(f"/api/v1/inspections/{inspection_id}").json()
    items = api.get("/api/v1/inspections", params={"loan_id": detail["loan_id"]}).json()["items"]
    listed = next(i for i in items if i["id"] == inspection_id)
    return [(b["rework_count"], b["reviewer"]) for b in (listed, detail)]


@pytest.mark.engine
def test_a_real_inspection_reads_the_same_stage_in_list_and_detail_and_follows_a_rework(
    workers, api, as_user
):
    inspection_id = start_inspection(api, new_loan(api, account_manager="am_li"))
    am_li, po_chen = as_user("am_li"), as_user("po_chen")

    perform = task_of(am_li, inspection_id, "perform_inspection")
    assert stages(api, inspection_id) == ("awaiting_perform", "awaiting_perform")
    assert fields(api, inspection_id) == [(0, None), (0, None)]
    items = am_li.task_variables(perform["id"])["inspection_items"]
    am_li.submit_form(perform["id"], {**PERFORM, "items_in_order": [i["code"] for i in items]})

    review = task_of(po_chen, inspection_id, "review_inspection")
    wait_for(lambda: stages(api, inspection_id) == ("under_review", "under_review"), what="review")
    po_chen.claim(review["id"], "po_chen")
    po_chen.submit_form(
        review["id"],
        {"review_decision": "rework", "review_comment": "no", "rework_reason": "photos missing"},
    )
    # back with the account manager: the count and the reviewer are there at once, before the
    # inspector submits again (they were stored only then)
    task_of(am_li, inspection_id, "perform_inspection")
    assert stages(api, inspection_id) == ("awaiting_perform", "awaiting_perform")
    assert fields(api, inspection_id) == [(1, "po_chen"), (1, "po_chen")]


@pytest.mark.engine
def test_a_waiting_vendor_visit_reads_awaiting_vendor_visit_in_list_and_detail(
    workers, api, admin, database, provisioned
):
    from gateway.engine import EngineGateway
    from gateway.processes import start_planned_inspection

    loan_id = new_loan(api, account_manager="am_li")
    engine = EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )
    with unit_of_work(database) as session:
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
    wait_for(
        lambda: "vendor_visit_received" in admin.active_activities(pid),
        what="the inspection to wait for the vendor's visit",
    )
    assert stages(api, inspection_id) == ("awaiting_vendor_visit", "awaiting_vendor_visit")
