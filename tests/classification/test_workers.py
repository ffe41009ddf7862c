"""The classification workers in the real engine: inputs -> business rule task -> proposal.

A test-only process (fixtures/classification_probe.bpmn) runs the same three steps the
integrator puts into post_loan_inspection, with the real workers and the deployed DMN.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import wait_for

from postloan.classification import service
from postloan.db import unit_of_work
from postloan.inspections import service as inspections
from postloan.loans.models import Loan

pytestmark = pytest.mark.engine
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def probe(admin):
    path = HERE / "fixtures" / "classification_probe.bpmn"
    admin.call(
        "POST",
        "/deployment/create",
        data={"deployment-name": "classification-probe", "enable-duplicate-filtering": "true"},
        files=[(path.name, (path.name, path.read_bytes(), "application/octet-stream"))],
    )
    return admin


def _run(probe, database, loan_id):
    with unit_of_work(database) as session:
        inspection_id = inspections.request(
            session, loan_id=loan_id, kind="special", reason="classification probe", actor="tests"
        ).id
    pid = probe.start_process(
        "classification_probe", inspection_id, {"inspection_id": inspection_id}
    )
    wait_for(lambda: "probe_wait" in probe.active_activities(pid), what="probe at the wait")
    return probe.process_variables(pid)


def test_contagion_downgrade_from_an_inspection_is_proposed(probe, workers, database, debtor):
    _c, (sick, healthy) = debtor({"days_overdue": 100}, {})
    variables = _run(probe, database, healthy)
    assert variables["debtor_npl_share"] == 0.5
    assert variables["classification"]["risk_class"] == "substandard"
    assert variables["classification_downgrade"] is True
    assert variables["previous_class"] == "normal"
    with unit_of_work(database) as session:
        assert session.get(Loan, healthy).risk_class == "normal"  # waits for confirmation
        change = [c for c in service.history(session, healthy) if c.status == "proposed"][0]
        assert change.id == variables["classification_change_id"]
        assert "50%" in change.reason


def test_upgrade_from_an_inspection_applies(probe, workers, database, debtor):
    _c, (loan_id,) = debtor({"risk_class": "special_mention"})
    variables = _run(probe, database, loan_id)
    assert variables["current_class"] == "special_mention"
    assert variables["classification_downgrade"] is False
    with unit_of_work(database) as session:
        assert session.get(Loan, loan_id).risk_class == "normal"
