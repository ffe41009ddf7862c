"""The check workers against the real engine: a test-only process runs the check topics in the
order of ``post_loan_inspection``; findings and signals land in the database; the escalation
timer process escalates overdue signals; the catalogue follows the deployed DMN."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import new_loan, wait_for
from sqlalchemy import select

from gateway.catalogue import DeployedCatalogue
from postloan.customers import service as customers
from postloan.db import unit_of_work
from postloan.events.models import ExternalEvent
from postloan.inspections import service as inspections
from postloan.inspections.models import InspectionFinding
from postloan.loans import service as loans
from postloan.loans.models import Loan
from postloan.signals import service
from postloan.signals.catalogue import EarlyWarningCatalogue
from postloan.signals.models import RiskSignal

pytestmark = pytest.mark.engine

FIXTURES = Path(__file__).parent / "fixtures"
DMN = Path(__file__).resolve().parents[2] / "bpmn" / "early_warning.dmn"


def _deploy(admin, name: str, files: dict[str, bytes]) -> dict:
    return admin.call(
        "POST",
        "/deployment/create",
        data={"deployment-name": name},
        files=[(n, (n, content, "application/octet-stream")) for n, content in files.items()],
    )


@pytest.fixture(scope="module")
def probe(admin) -> str:
    _deploy(
        admin, "checks-probe", {"checks_probe.bpmn": (FIXTURES / "checks_probe.bpmn").read_bytes()}
    )
    return "checks_probe"


def _run_probe(admin, inspection_id: str) -> dict:
    pid = admin.start_process("checks_probe", inspection_id, {"inspection_id": inspection_id})

    def finished():
        found = admin.historic_process_instances(processInstanceId=pid)
        return found and found[0]["state"] == "COMPLETED"

    wait_for(finished, timeout=60, what="the checks probe to complete")
    rows = admin.call("GET", "/history/variable-instance", params={"processInstanceId": pid})
    return {r["name"]: r["value"] for r in rows}


def quiet_loan(database: str, days_overdue: int) -> str:
    """A customer and a loan loaded as a bulk import does: no first inspection, no special
    inspection, so only the probe process runs checks on them."""
    suffix = uuid.uuid4().hex[:8]
    today = date.today()
    with unit_of_work(database) as session:
        customers.register(
            session,
            customers.CustomerData(
                id=f"C-{suffix}",
                name="Checks Co",
                segment="micro",
                industry="textiles",
                branch="BR-SH-01",
                account_manager="am_li",
                credit_rating="BBB",
            ),
            actor="import",
        )
        loans.register(
            session,
            loans.LoanData(
                id=f"L-{suffix}",
                customer_id=f"C-{suffix}",
                product="MICRO-OPERATING",
                amount=Decimal("500000"),
                currency="CNY",
                disbursed_on=today - timedelta(days=400),
                maturity_on=today + timedelta(days=330),
                purpose="purchase of raw materials",
            ),
            actor="import",
        )
        loans.record_repayment(
            session,
            f"L-{suffix}",
            loans.RepaymentData(
                due_on=today - timedelta(days=days_overdue),
                due_amount=Decimal("25000"),
                paid_on=None,
                paid_amount=Decimal("0"),
            ),
            actor="import",
        )
    return f"L-{suffix}"


def test_checks_record_findings_and_raise_signals(workers, api, admin, probe, database):
    loan_id = quiet_loan(database, 95)
    with unit_of_work(database) as session:
        customer_id = session.get(Loan, loan_id).customer_id
        session.add(
            ExternalEvent(
                customer_id=customer_id,
                kind="litigation",
                occurred_on=date.today() - timedelta(days=20),
                source="court registry",
                source_ref="2026-001",
                details="Supplier sues for unpaid invoices",
            )
        )
        inspection_id = inspections.request(
            session, loan_id=loan_id, kind="special", reason="checks test", actor="test"
        ).id

    out = _run_probe(admin, inspection_id)
    assert out["days_past_due"] == 95 and out["interest_unpaid_days"] == 0
    assert out["max_severity"] == "red" and out["serious_signal"] is True

    with unit_of_work(database) as session:
        findings = {
            (f.source, f.code): f
            for f in session.scalars(
                select(InspectionFinding).where(InspectionFinding.inspection_id == inspection_id)
            )
        }
        signals = {
            s.code: s
            for s in session.scalars(
                select(RiskSignal).where(RiskSignal.customer_id == customer_id)
            )
        }
    assert {
        ("repayment", "REPAYMENT_OVERDUE"),
        ("repayment", "OVERDUE_90_PLUS"),
        ("external", "LITIGATION"),
        ("financials", "STATEMENT_MISSING"),
        ("use_of_funds", "USE_OF_FUNDS_UNVERIFIED"),
    } <= set(findings)
    assert findings[("repayment", "OVERDUE_90_PLUS")].severity == "red"
    assert findings[("external", "LITIGATION")].evidence["events"][0]["source_ref"] == "2026-001"
    assert out["signals_raised"] == len(signals)
    assert signals["OVERDUE_90_PLUS"].loan_id == loan_id
    assert signals["LITIGATION"].loan_id is None  # about the customer, not one loan
    assert signals["LITIGATION"].evidence["inspection_id"] == inspection_id
    assert "REPAYMENT_OVERDUE" not in signals  # a finding only, not in the catalogue

    # The same checks of the same inspection again (a step handed out anew after an engine
    # crash, or the data-resolution loop): no second signal, and the inspection's occurrence
    # is counted once: its findings name the signals they stand for.
    again = _run_probe(admin, inspection_id)
    assert again["signals_raised"] == out["signals_raised"]
    with unit_of_work(database) as session:
        live = list(
            session.scalars(select(RiskSignal).where(RiskSignal.customer_id == customer_id))
        )
    assert len(live) == len(signals)
    assert {s.occurrences for s in live} == {1}

    # Through the API: filter, acknowledge, resolve.
    page = api.get(
        "/api/v1/signals", params={"customer_id": customer_id, "severity": "red", "limit": 1}
    ).json()
    assert page["total"] >= 2 and len(page["items"]) == 1
    by_loan = api.get("/api/v1/signals", params={"loan_id": loan_id}).json()["items"]
    assert "LITIGATION" not in {s["code"] for s in by_loan}
    signal_id = signals["LITIGATION"].id
    r = api.post(f"/api/v1/signals/{signal_id}/acknowledge", json={"actor": "po_chen"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged", r.text
    r = api.post(f"/api/v1/signals/{signal_id}/resolve", json={"actor": "po_chen"})
    assert r.status_code == 422 and r.json()["field"] == "resolution", r.text
    r = api.post(
        f"/api/v1/signals/{signal_id}/resolve",
        json={"actor": "po_chen", "resolution": "Settled out of court"},
    )
    assert r.status_code == 200 and r.json()["resolved_by"].endswith("/po_chen"), r.text
    r = api.post(
        f"/api/v1/signals/{signal_id}/resolve", json={"actor": "po_chen", "resolution": "again"}
    )
    assert r.status_code == 409
    assert api.get("/api/v1/signals", params={"status": "nonsense"}).status_code == 422
    assert api.post("/api/v1/signals/999999999/acknowledge", json={"actor": "x"}).status_code == 404


def test_viewer_may_read_but_not_acknowledge(api, api_keys):
    viewer = {"Authorization": f"Bearer {api_keys['viewer']}"}
    assert api.get("/api/v1/signals", headers=viewer).status_code == 200
    r = api.post("/api/v1/signals/1/acknowledge", json={"actor": "x"}, headers=viewer)
    assert r.status_code == 403


def test_escalation_timer_escalates_overdue_signals(workers, api, admin, database):
    loan_id = new_loan(api, account_manager="am_zhang")
    catalogue = EarlyWarningCatalogue.from_file(DMN)
    with unit_of_work(database) as session:
        loan = session.get(Loan, loan_id)
        from postloan.db import utcnow

        signal, _ = service.raise_signal(
            session,
            code="TAX_ARREARS",
            customer_id=loan.customer_id,
            loan_id=loan.id,
            summary="tax office list",
            evidence={},
            source="test",
            catalogue=catalogue,
            now=utcnow() - timedelta(days=30),
        )
        signal_id = signal.id
    jobs = admin.call("GET", "/job", params={"processDefinitionKey": "signal_escalation"})
    assert len(jobs) == 1, jobs
    assert (
        admin.call("GET", f"/job-definition/{jobs[0]['jobDefinitionId']}")["jobConfiguration"]
        == "CYCLE: R/PT15M"
    )
    admin.call("POST", f"/job/{jobs[0]['id']}/execute")

    def escalated():
        with unit_of_work(database) as session:
            return session.get(RiskSignal, signal_id).status == "escalated"

    wait_for(escalated, timeout=60, what="the overdue signal to be escalated")
    body = api.get("/api/v1/signals", params={"loan_id": loan_id}).json()
    # (the loan's first inspection may have raised signals of its own)
    mine = [s for s in body["items"] if s["id"] == signal_id]
    assert mine and mine[0]["escalated_at"] is not None


def test_catalogue_follows_the_deployed_decision(admin):
    deployed = DeployedCatalogue(admin, fallback=None)
    assert deployed.current().lookup("NEGATIVE_NEWS").severity == "blue"
    first_id = deployed.definition_id
    original = DMN.read_bytes()
    changed = original.replace(b'<text>"NEGATIVE_NEWS"</text>', b'<text>"NEGATIVE_NEWS"</text>', 1)
    marker = b'LiteralExpression_NegativeNews_Severity">\n          <text>"blue"</text>'
    assert marker in changed
    changed = changed.replace(marker, marker.replace(b'"blue"', b'"yellow"'))
    try:
        _deploy(admin, "catalogue-change", {"early_warning.dmn": changed})
        assert deployed.current().lookup("NEGATIVE_NEWS").severity == "yellow"
        assert deployed.definition_id != first_id
    finally:
        _deploy(admin, "catalogue-restore", {"early_warning.dmn": original})
    assert deployed.current().lookup("NEGATIVE_NEWS").severity == "blue"


def test_engine_and_python_agree_on_every_catalogue_row(admin):
    catalogue = EarlyWarningCatalogue.from_file(DMN)
    codes = re.findall(
        r'<inputEntry id="UnaryTests_\w+_Code">\s*<text>"(\w+)"</text>', DMN.read_text()
    )
    assert len(codes) == len(catalogue.table.rules) >= 20
    for code in [*codes, "NOT_A_SIGNAL"]:
        results = admin.call(
            "POST",
            "/decision-definition/key/early_warning/evaluate",
            json={"variables": {"signal_code": {"value": code, "type": "String"}}},
        )
        entry = catalogue.lookup(code)
        if entry is None:
            assert results == [], code
            continue
        (row,) = results
        assert (
            row["severity"]["value"],
            row["owner_role"]["value"],
            row["response_days"]["value"],
            row["serious"]["value"],
        ) == (entry.severity, entry.owner_role, entry.response_days, entry.serious), code
