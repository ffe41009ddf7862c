"""The post-loan dossier over a real (migrated) database: contents, gate inputs, reasons and the
account manager's indicators. No engine needed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from postloan.credit import dossier as dossiers
from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.inspections.models import Inspection
from postloan.loans.models import ClassificationChange, Loan
from postloan.rectifications.models import Rectification, Restriction
from postloan.signals.models import RiskSignal

TODAY = date(2026, 6, 30)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def _seed(session, suffix: str) -> tuple[str, str]:
    manager = f"am_{suffix}"
    customer_id, loan_a, loan_b = f"C-D{suffix}", f"L-DA{suffix}", f"L-DB{suffix}"
    session.add(
        Customer(
            id=customer_id,
            name="Dossier Co",
            segment="sme",
            industry="textiles",
            branch="BR-SH-01",
            account_manager=manager,
            credit_rating="BBB",
        )
    )
    for loan_id, risk_class in ((loan_a, "normal"), (loan_b, "substandard")):
        session.add(
            Loan(
                id=loan_id,
                customer_id=customer_id,
                product="SME-WORKING-CAPITAL",
                amount=Decimal("1000000"),
                currency="CNY",
                disbursed_on=TODAY - timedelta(days=400),
                maturity_on=TODAY + timedelta(days=300),
                purpose="stock",
                risk_class=risk_class,
                risk_class_reason=f"rule for {risk_class}",
            )
        )
    session.flush()
    session.add(
        ClassificationChange(
            loan_id=loan_b,
            from_class="normal",
            to_class="substandard",
            reason="over 90 days past due",
            source="repayment",
            decided_by="cm_liu",
            at=_at(TODAY - timedelta(days=20)),
        )
    )
    # four completed inspections (the dossier shows the newest three): two on time, two late
    for n, (due, done) in enumerate([(10, 12), (40, 45), (70, 60), (100, 90)]):
        session.add(
            Inspection(
                id=f"INS-D{n}{suffix}",
                loan_id=loan_a,
                kind="routine",
                reason="routine",
                status="completed",
                requested_by="scheduler",
                conclusion="satisfactory",
                risk_class="normal",
                due_on=TODAY - timedelta(days=due),
                completed_at=_at(TODAY - timedelta(days=done)),
                inspector=manager,
                reviewer="po_chen",
                report={
                    "inspector": {"findings": f"visit {n}: all in order"},
                    "review": {"decision": "approve", "comment": ""},
                    "checks": [],
                },
            )
        )
    for code, severity, respond in (
        ("TAX_ARREARS", "orange", 5),
        ("LITIGATION", "red", -3),
        ("NEWS", "yellow", 5),
    ):
        session.add(
            RiskSignal(
                code=code,
                customer_id=customer_id,
                loan_id=loan_a,
                severity=severity,
                owner_role="account_manager",
                status="open",
                summary=f"{code} found",
                source="external",
                dedupe_key=f"{code}:{suffix}",
                respond_by=TODAY + timedelta(days=respond),
                last_seen_at=_at(TODAY),
            )
        )
    session.add(
        RiskSignal(
            code="OLD",
            customer_id=customer_id,
            severity="red",
            owner_role="account_manager",
            status="resolved",
            summary="old",
            source="external",
            dedupe_key=f"OLD:{suffix}",
            respond_by=TODAY - timedelta(days=100),
            last_seen_at=_at(TODAY),
        )
    )
    session.add(
        Rectification(
            id=f"REC-S{suffix}",
            customer_id=customer_id,
            loan_id=loan_b,
            source="audit",
            title="Collateral insurance lapsed",
            description="-",
            severity="serious",
            owner=manager,
            raised_by="au_sun",
            deadline=TODAY - timedelta(days=1),
            status="open",
        )
    )
    session.add(
        Rectification(
            id=f"REC-C{suffix}",
            customer_id=customer_id,
            source="inspection",
            title="Missing invoices",
            description="-",
            severity="minor",
            owner=manager,
            raised_by="po_chen",
            deadline=TODAY - timedelta(days=30),
            status="closed",
            closed_at=_at(TODAY - timedelta(days=35)),
        )
    )
    session.add(
        Restriction(
            customer_id=customer_id,
            kind="disbursement_freeze",
            reason="Serious rectification open",
            status="active",
            rectification_id=f"REC-S{suffix}",
            started_by="po_chen",
        )
    )
    session.add(
        Restriction(
            customer_id=customer_id,
            kind="new_business_restriction",
            reason="lifted long ago",
            status="lifted",
            started_by="po_chen",
        )
    )
    session.flush()
    return customer_id, manager


def test_dossier_contents_gate_inputs_and_reasons(database) -> None:
    suffix = uuid.uuid4().hex[:8]
    with unit_of_work(database) as session:
        customer_id, manager = _seed(session, suffix)
        d = dossiers.assemble(session, customer_id, today=TODAY)

    assert [i["id"] for i in d["inspections"]] == [f"INS-D{n}{suffix}" for n in (0, 1, 2)]
    assert d["inspections"][0]["summary"].startswith("visit 0: all in order")
    assert [s["severity"] for s in d["signals"]] == ["red", "orange", "yellow"]  # by severity
    assert [r["id"] for r in d["rectifications"]["open"]] == [f"REC-S{suffix}"]
    assert d["rectifications"]["open"][0]["overdue"] is True
    assert [r["id"] for r in d["rectifications"]["recently_closed"]] == [f"REC-C{suffix}"]
    assert [r["kind"] for r in d["restrictions"]] == ["disbursement_freeze"]
    loan_b = next(loan for loan in d["loans"] if loan["risk_class"] == "substandard")
    assert loan_b["npl"] is True
    assert loan_b["classification_history"][0]["reason"] == "over 90 days past due"

    indicators = d["account_manager_indicators"]
    assert indicators["inspections_on_time"]["value"] == 2
    assert indicators["inspections_on_time"]["late"] == 2
    assert indicators["signals_past_response_deadline"]["value"] == 1  # the red one
    assert indicators["rectifications_closed_on_time"]["value"] == 1
    assert all(v["meaning"] for v in indicators.values() if isinstance(v, dict))

    assert dossiers.gate_inputs(d) == {
        "active_restrictions": 1,
        "open_serious_rectifications": 1,
        "worst_class": "substandard",
        "npl": True,
        "open_red_signals": 1,
        "open_orange_signals": 1,
    }
    reasons = dossiers.gate_reasons(d)
    assert reasons[0].startswith("Customer under restriction: disbursement_freeze")
    assert reasons[1].startswith(f"Open serious rectification REC-S{suffix}")
    assert any("classified substandard" in r for r in reasons)
    assert any("Open red signal LITIGATION" in r for r in reasons)
    assert not any("yellow" in r for r in reasons)
    text = dossiers.summary(d)
    assert customer_id in text and "worst class substandard" in text


def test_customer_without_history_is_clean(database) -> None:
    suffix = uuid.uuid4().hex[:8]
    with unit_of_work(database) as session:
        session.add(
            Customer(
                id=f"C-N{suffix}",
                name="New Co",
                segment="micro",
                industry="retail",
                branch="BR-SH-01",
                account_manager=f"am_{suffix}",
                credit_rating="A",
            )
        )
        session.flush()
        d = dossiers.assemble(session, f"C-N{suffix}", today=TODAY)
    assert dossiers.gate_inputs(d)["worst_class"] == "normal"
    assert dossiers.gate_reasons(d) == []
    assert "No completed inspection yet." in dossiers.summary(d)
    assert d["account_manager_indicators"]["inspections_on_time"]["rate"] is None


def test_engine_refusal_keeps_the_application_and_its_owed_start(database) -> None:
    """The outbox: the row and its owed process start commit together; a refusing engine
    leaves the start pending with the attempt on record (the relay retries it)."""
    from sqlalchemy import select

    from gateway.processes import start_credit_application
    from postloan.credit import service
    from postloan.credit.models import CreditApplication
    from postloan.db import get_session_factory
    from postloan.outbox.models import OutboxMessage

    class Refusing:
        def started_instance(self, *args, **kwargs):
            return None

        def start_process(self, *args, **kwargs):
            raise RuntimeError("no such process definition")

    suffix = uuid.uuid4().hex[:8]
    session = get_session_factory(database)()
    try:
        session.add(
            Customer(
                id=f"C-R{suffix}",
                name="Refused Co",
                segment="micro",
                industry="retail",
                branch="BR-SH-01",
                account_manager="am_li",
                credit_rating="A",
            )
        )
        session.commit()
        application = service.create(
            session,
            customer_id=f"C-R{suffix}",
            product="P",
            amount=Decimal("10"),
            currency="CNY",
            actor="api:test",
        )
        application_id = application.id
        started = start_credit_application(session, Refusing(), application)
        assert started.process_instance_id is None
        session.expire_all()
        assert session.get(CreditApplication, application_id) is not None
        (owed,) = session.scalars(
            select(OutboxMessage).where(OutboxMessage.business_key == application_id)
        ).all()
        assert (owed.status, owed.attempts) == ("pending", 1)
        assert "no such process definition" in owed.last_error
    finally:
        session.close()
