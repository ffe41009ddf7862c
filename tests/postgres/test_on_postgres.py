"""The same schema, rules and engine on PostgreSQL (the production setting)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from conftest import create_database
from helpers import wait_for
from sqlalchemy import inspect

from config.settings import Settings
from gateway.engine import EngineGateway
from gateway.provision import provision
from postloan.checks import repayment
from postloan.checks.config import load_config as load_checks_config
from postloan.customers import service as customers
from postloan.db import get_engine, unit_of_work
from postloan.inspections import service as inspections
from postloan.loans import service as loans
from postloan.models import Base
from postloanctl.__main__ import migrate

pytestmark = pytest.mark.postgres


def test_migrations_build_the_models_schema_and_the_domain_works(postgres_server):
    url = create_database(postgres_server, "postloan_domain")
    migrate(Settings(database_url=url))
    tables = set(inspect(get_engine(url)).get_table_names())
    assert set(Base.metadata.tables) <= tables

    today = date.today()
    with unit_of_work(url) as session:
        customers.register(
            session,
            customers.CustomerData(
                id="C1",
                name="PG Co",
                segment="micro",
                industry="textiles",
                branch="B1",
                account_manager="am_li",
                credit_rating="A",
            ),
            actor="test",
        )
        loans.register(
            session,
            loans.LoanData(
                id="L1",
                customer_id="C1",
                product="MICRO",
                amount=Decimal("1000.00"),
                currency="CNY",
                disbursed_on=today - timedelta(days=200),
                maturity_on=today + timedelta(days=200),
                purpose="stock",
                approval_conditions=["Statements quarterly"],
            ),
            actor="test",
        )
        loans.record_repayment(
            session,
            "L1",
            loans.RepaymentData(
                due_on=today - timedelta(days=95),
                due_amount=Decimal("100"),
                paid_on=None,
                paid_amount=Decimal("0"),
            ),
            actor="test",
        )
        inspection = inspections.request(
            session, loan_id="L1", kind="special", reason="pg", actor="test"
        )
        result = repayment.check(
            session, loans.get(session, "L1"), today, load_checks_config().repayment
        )
        for finding in result.findings:
            inspections.record_finding(
                session,
                inspection.id,
                source="repayment",
                code=finding.code,
                severity=finding.severity,
                summary=finding.summary,
                evidence=finding.evidence,
            )
    assert result.days_past_due == 95
    with unit_of_work(url) as session:
        found = {f.code for f in inspections.findings(session, inspection.id)}
    assert {"REPAYMENT_OVERDUE", "OVERDUE_90_PLUS"} <= found


def test_engine_runs_on_postgresql_and_takes_the_deployment(postgres_server, tmp_path):
    from postloanctl.engine_process import EngineProcess

    jdbc_base = postgres_server.replace("postgresql+psycopg://postgres@", "jdbc:postgresql://")
    create_database(postgres_server, "engine")
    port = EngineProcess.free_port()
    engine = EngineProcess(
        port,
        tmp_path / "engine",
        tmp_path / "engine.log",
        env={
            "DB_DRIVER": "org.postgresql.Driver",
            "DB_URL": jdbc_base + "engine",
            "DB_USERNAME": "postgres",
            "DB_PASSWORD": "",
        },
    )
    engine.start()
    try:
        settings = Settings(engine_url=engine.url)
        report = provision(settings)
        assert "post_loan_inspection" in str(report.deployment)
        admin = EngineGateway(
            engine.url,
            settings.engine_admin_user,
            settings.engine_admin_password.get_secret_value(),
        )
        pid = admin.start_process("post_loan_inspection", "INS-PG-1", {"inspection_id": "INS-PG-1"})
        task = wait_for(lambda: admin.external_tasks(processInstanceId=pid), what="a task")[0]
        assert task["topicName"] == "inspection.load-context"
    finally:
        engine.stop()
