"""Checks on fact arrival without the engine: each fact kind re-runs the checks it feeds and
raises (or closes) the signals; the recording use cases owe the ``fact_checks`` start in the
fact's own transaction; a task delivered twice counts its signals once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from postloan.application import facts
from postloan.application import financials as financial_cases
from postloan.application.ports import database_unit
from postloan.application.services import Services
from postloan.checks.config import load_config as load_checks_config
from postloan.covenants import service as covenants
from postloan.covenants.config import load_config as load_covenants_config
from postloan.covenants.models import CovenantTest, Outcome
from postloan.db import unit_of_work
from postloan.events.models import ExternalEvent
from postloan.financials import service as financials
from postloan.loans.models import CollateralValuation, Repayment
from postloan.outbox.models import OutboxMessage
from postloan.signals.catalogue import EarlyWarningCatalogue
from postloan.signals.models import RiskSignal, SignalStatus
from tests.facts.fact_data import customer_and_loan, statement

CATALOGUE = EarlyWarningCatalogue.from_file()
NOW = datetime.now(UTC)
TODAY = date.today()


def _ctx() -> facts.Context:
    return facts.Context(
        catalogue=CATALOGUE,
        checks=load_checks_config(),
        covenants=load_covenants_config(),
        today=TODAY,
        now=NOW,
        actor="tests",
    )


@pytest.fixture
def session(database):
    with unit_of_work(database) as s:
        yield s
        s.rollback()


def _signals(session, customer_id: str) -> dict[str, RiskSignal]:
    rows = session.scalars(select(RiskSignal).where(RiskSignal.customer_id == customer_id))
    return {s.code: s for s in rows}


class TestStatement:
    def test_revenue_down_35_percent_raises_its_signal_and_tests_the_covenants(self, session):
        loan = customer_and_loan(session)
        covenant = covenants.define(
            session,
            loan.id,
            covenants.CovenantData("debt_to_asset", "<", Decimal("0.70"), "quarterly"),
            load_covenants_config(),
            actor="tests",
        )
        statement(session, loan.customer_id, TODAY - timedelta(days=400), revenue="1000000")
        latest = statement(
            session,
            loan.customer_id,
            TODAY - timedelta(days=35),
            revenue="650000",
            total_liabilities="1440000",
        )
        outcome = facts.run_checks(session, "financial_statement", str(latest.id), _ctx())
        found = _signals(session, loan.customer_id)
        drop = found["REVENUE_DROP_30"]
        assert (drop.source, drop.loan_id, drop.status) == ("financials", None, SignalStatus.OPEN)
        assert drop.evidence["drop"] == 0.35
        assert drop.evidence["fact"] == f"financial_statement:{latest.id}"
        breach = found["COVENANT_BREACH"]
        assert (breach.source, breach.loan_id) == ("covenants", loan.id)
        assert breach.evidence["value"] == "0.720000"
        assert Decimal(breach.evidence["threshold"]) == Decimal("0.70")
        [test] = session.scalars(
            select(CovenantTest).where(CovenantTest.covenant_id == covenant.id)
        ).all()
        assert (test.outcome, test.signal_id) == (Outcome.BREACH, breach.id)
        assert outcome.variables()["covenant_tests"] == 1
        assert outcome.variables()["max_severity"] == CATALOGUE.lookup("REVENUE_DROP_30").severity

    def test_a_covenant_defined_later_is_tested_on_the_statements_held(self, session):
        loan = customer_and_loan(session)
        statement(
            session, loan.customer_id, TODAY - timedelta(days=35), total_liabilities="1390000"
        )
        covenant = covenants.define(
            session,
            loan.id,
            covenants.CovenantData(
                "debt_to_asset",
                "<",
                Decimal("0.70"),
                "annual",
                tested_from=TODAY - timedelta(days=35),
            ),
            load_covenants_config(),
            actor="tests",
        )
        outcome = facts.run_checks(session, "covenant", str(covenant.id), _ctx())
        assert [(t["outcome"], t["value"]) for t in outcome.covenant_tests] == [
            ("near_breach", "0.695000")
        ]
        near = _signals(session, loan.customer_id)["COVENANT_NEAR_BREACH"]
        assert (near.loan_id, near.evidence["fact"]) == (loan.id, f"covenant:{covenant.id}")

    def test_no_active_loan_raises_nothing(self, session):
        loan = customer_and_loan(session)
        loan.maturity_on = TODAY - timedelta(days=1)
        statement(session, loan.customer_id, TODAY - timedelta(days=400))
        latest = statement(session, loan.customer_id, TODAY - timedelta(days=35), revenue="1")
        facts.run_checks(session, "financial_statement", str(latest.id), _ctx())
        assert _signals(session, loan.customer_id) == {}


class TestOtherFacts:
    def test_valuation_below_the_loan_raises_ltv_high(self, session):
        loan = customer_and_loan(session, amount="500000", collateral_value="800000")
        valuation = CollateralValuation(
            collateral_id=f"COL-{loan.id[2:]}",
            valued_on=TODAY - timedelta(days=2),
            value=Decimal("550000"),
            valuer="tests",
        )
        session.add(valuation)
        session.flush()
        facts.run_checks(session, "collateral_valuation", str(valuation.id), _ctx())
        ltv = _signals(session, loan.customer_id)["LTV_HIGH"]
        assert (ltv.source, ltv.loan_id) == ("collateral", loan.id)

    def test_event_raises_its_catalogued_code(self, session):
        loan = customer_and_loan(session)
        event = ExternalEvent(
            customer_id=loan.customer_id,
            kind="litigation",
            occurred_on=TODAY - timedelta(days=3),
            source="court register",
            details="sued by a supplier",
        )
        session.add(event)
        session.flush()
        facts.run_checks(session, "external_event", str(event.id), _ctx())
        assert _signals(session, loan.customer_id)["LITIGATION"].source == "external"

    def test_repayment_that_clears_the_arrears_closes_the_overdue_signal(self, session):
        loan = customer_and_loan(session)
        due = Repayment(
            loan_id=loan.id,
            due_on=TODAY - timedelta(days=12),
            due_amount=Decimal("25000"),
            paid_amount=Decimal("0"),
        )
        session.add(due)
        session.flush()
        facts.run_checks(session, "repayment", str(due.id), _ctx())
        overdue = _signals(session, loan.customer_id)["OVERDUE_1_30"]
        assert (overdue.status, overdue.source) == (SignalStatus.OPEN, "repayment")
        due.paid_on, due.paid_amount = TODAY, Decimal("25000")
        session.flush()
        outcome = facts.run_checks(session, "repayment", str(due.id), _ctx())
        assert outcome.closed_signal_ids == [overdue.id]
        session.refresh(overdue)
        assert overdue.status == SignalStatus.RESOLVED
        assert overdue.evidence["cleared_by"]["fact"] == f"repayment:{due.id}"

    def test_unknown_fact_is_a_technical_failure(self, session):
        with pytest.raises(LookupError):
            facts.run_checks(session, "financial_statement", "999999999", _ctx())
        with pytest.raises(LookupError):
            facts.run_checks(session, "gossip", "1", _ctx())


def test_recording_a_statement_owes_the_fact_checks_start(database):
    """The statement and its process start commit together (outbox, no engine call)."""
    services = Services(uow=database_unit(database), engine=None)
    with unit_of_work(database) as s:
        loan = customer_and_loan(s)
        customer_id = loan.customer_id
    row, _ = financial_cases.record_statement(
        services,
        customer_id,
        financials.StatementData(
            period_end=TODAY - timedelta(days=30),
            revenue=Decimal("1"),
            net_profit=Decimal("1"),
            total_assets=Decimal("1"),
            total_liabilities=Decimal("0"),
            operating_cash_flow=Decimal("1"),
        ),
        actor="tests",
    )
    with unit_of_work(database) as s:
        [message] = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.business_key == f"financial_statement:{row.id}"
            )
        ).all()
        assert message.payload["process_key"] == "fact_checks"
        assert message.payload["variables"] == {
            "fact_kind": "financial_statement",
            "fact_id": str(row.id),
        }


def test_a_task_delivered_twice_counts_its_signals_once(database, monkeypatch):
    from workers import facts as fact_workers
    from workers.runtime import ExternalTask

    monkeypatch.setattr(fact_workers, "catalogue", lambda: CATALOGUE)
    with unit_of_work(database) as s:
        loan = customer_and_loan(s)
        statement(s, loan.customer_id, TODAY - timedelta(days=400), revenue="1000000")
        latest = statement(s, loan.customer_id, TODAY - timedelta(days=35), revenue="600000")
        customer_id, statement_id = loan.customer_id, latest.id
    task = ExternalTask(
        id=f"task-{uuid.uuid4().hex}",
        topic="facts.run-checks",
        worker_id="tests",
        business_key=f"financial_statement:{statement_id}",
        process_instance_id="pi",
        process_definition_key="fact_checks",
        activity_id="run_fact_checks",
        retries=None,
        priority=0,
        variables={},
    )
    first = fact_workers.run_checks(task, fact_kind=None, fact_id=None)
    second = fact_workers.run_checks(task, fact_kind=None, fact_id=None)
    assert first == second and first["signals_new"] >= 1
    with unit_of_work(database) as s:
        drop = _signals(s, customer_id)["REVENUE_DROP_30"]
        assert drop.occurrences == 1
    # a new task for the same fact (the statement re-sent) is another occurrence
    fact_workers.run_checks(
        ExternalTask(**{**task.__dict__, "id": f"task-{uuid.uuid4().hex}"}),
        fact_kind="financial_statement",
        fact_id=str(statement_id),
    )
    with unit_of_work(database) as s:
        assert _signals(s, customer_id)["REVENUE_DROP_30"].occurrences == 2
