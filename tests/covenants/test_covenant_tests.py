"""Covenants as computed tests: formulas, outcomes with their numbers, test periods, missing
statements, definition rules — against a migrated database, no engine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from postloan.covenants import service
from postloan.covenants.config import CovenantsConfig, load_config
from postloan.covenants.models import CovenantTest, Outcome
from postloan.db import unit_of_work
from postloan.errors import InvalidInput, NotFound
from postloan.loans.models import ApprovalCondition
from tests.facts.fact_data import customer_and_loan, statement

CONFIG = load_config()
NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(database):
    with unit_of_work(database) as s:
        yield s
        s.rollback()


def _define(session, loan, ratio="debt_to_asset", operator="<", threshold="0.70", **kw):
    return service.define(
        session,
        loan.id,
        service.CovenantData(
            ratio=ratio,
            operator=operator,
            threshold=Decimal(threshold),
            frequency=kw.pop("frequency", "annual"),
            **kw,
        ),
        CONFIG,
        actor="tests",
    )


class TestFormulaAndOutcome:
    def test_formulas_read_as_the_statement_fields(self):
        assert CONFIG.ratios["debt_to_asset"].formula() == "total_liabilities / total_assets"
        assert CONFIG.ratios["net_worth"].formula() == "total_assets - total_liabilities"
        assert (
            CONFIG.ratios["equity_ratio"].formula()
            == "(total_assets - total_liabilities) / total_assets"
        )

    @pytest.mark.parametrize(
        ("value", "operator", "threshold", "expected"),
        [
            ("0.72", "<", "0.70", Outcome.BREACH),
            ("0.70", "<", "0.70", Outcome.BREACH),
            ("0.70", "<=", "0.70", Outcome.NEAR_BREACH),
            ("0.68", "<", "0.70", Outcome.NEAR_BREACH),  # within 5% of 0.70 = 0.035
            ("0.664", "<", "0.70", Outcome.PASS),
            ("1.19", ">=", "1.2", Outcome.BREACH),
            ("1.25", ">=", "1.2", Outcome.NEAR_BREACH),  # within 0.06
            ("1.27", ">=", "1.2", Outcome.PASS),
            ("-5", ">", "0", Outcome.BREACH),
        ],
    )
    def test_classify(self, value, operator, threshold, expected):
        assert service.classify(Decimal(value), operator, Decimal(threshold), 0.05) == expected

    def test_no_value_is_not_computable(self):
        assert service.classify(None, "<", Decimal("0.7"), 0.05) == Outcome.NOT_COMPUTABLE

    def test_unknown_statement_field_in_a_ratio_is_refused(self):
        raw = CONFIG.model_dump()
        raw["ratios"]["quick_ratio"] = {
            "label": "Quick ratio",
            "numerator": {"quick_assets": 1},
            "denominator": {"current_liabilities": 1},
        }
        with pytest.raises(ValidationError, match="quick_assets"):
            CovenantsConfig.model_validate(raw)


class TestPeriods:
    def test_period_ends(self):
        assert service.period_end_for(date(2026, 2, 10), "quarterly", CONFIG) == date(2026, 3, 31)
        assert service.period_end_for(date(2026, 3, 31), "quarterly", CONFIG) == date(2026, 3, 31)
        assert service.period_end_for(date(2026, 11, 2), "semiannual", CONFIG) == date(2026, 12, 31)
        assert service.previous_period_end(date(2026, 3, 31), "quarterly", CONFIG) == date(
            2025, 12, 31
        )
        assert service.period_ends(date(2025, 5, 1), date(2026, 1, 15), "quarterly", CONFIG) == [
            date(2025, 6, 30),
            date(2025, 9, 30),
            date(2025, 12, 31),
        ]


class TestStatementTests:
    def test_breach_near_breach_and_pass_with_the_numbers(self, session):
        loan = customer_and_loan(session)
        since = date(2024, 1, 1)
        debt = _define(session, loan, tested_from=since)  # debt_to_asset < 0.70
        worth = _define(
            session, loan, ratio="net_worth", operator=">=", threshold="600000", tested_from=since
        )
        # 1 440 000 / 2 000 000 = 0.72 (breach); net worth 560 000 < 600 000 (breach)
        s1 = statement(session, loan.customer_id, date(2024, 12, 31), total_liabilities="1440000")
        tested = service.compute_from_statement(
            session, s1, CONFIG, today=date.today(), now=NOW, actor="tests"
        )
        by_id = {c.id: row for c, row in tested}
        assert by_id[debt.id].outcome == Outcome.BREACH
        assert by_id[debt.id].value == Decimal("0.72")
        assert by_id[debt.id].figures == {
            "inputs": {"total_assets": "2000000.00", "total_liabilities": "1440000.00"},
            "numerator": "1440000.00",
            "denominator": "2000000.00",
        }
        assert by_id[worth.id].outcome == Outcome.BREACH
        assert by_id[worth.id].value == Decimal("560000")
        # next year: 1 360 000 / 2 000 000 = 0.68 (near breach); net worth 640 000: within
        # 5% of 600 000 (30 000)? no: 40 000 above -> pass
        s2 = statement(session, loan.customer_id, date(2025, 12, 31), total_liabilities="1360000")
        tested = dict(
            (c.id, row)
            for c, row in service.compute_from_statement(
                session, s2, CONFIG, today=date.today(), now=NOW, actor="tests"
            )
        )
        assert (tested[debt.id].outcome, tested[debt.id].value) == (
            Outcome.NEAR_BREACH,
            Decimal("0.68"),
        )
        assert (tested[worth.id].outcome, tested[worth.id].value) == (
            Outcome.PASS,
            Decimal("640000"),
        )
        history = dict(service.of_loan(session, loan.id))
        [(c, rows)] = [
            (c, rows) for c, rows in service.of_loan(session, loan.id) if c.id == debt.id
        ]
        assert [(r.period_end, r.outcome) for r in rows] == [
            (date(2025, 12, 31), Outcome.NEAR_BREACH),
            (date(2024, 12, 31), Outcome.BREACH),
        ]
        assert len(history) == 2
        findings = service.findings_of([(debt, tested[debt.id])], CONFIG)
        assert [f.code for _, f in findings] == ["COVENANT_NEAR_BREACH"]
        assert findings[0][1].evidence["value"] == "0.680000"

    def test_a_statement_again_recomputes_the_same_period(self, session):
        loan = customer_and_loan(session)
        covenant = _define(session, loan)
        first = statement(
            session, loan.customer_id, date(2025, 12, 31), total_liabilities="1500000"
        )
        service.compute_from_statement(
            session, first, CONFIG, today=date.today(), now=NOW, actor="tests"
        )
        first.total_liabilities = Decimal("1000000")  # the period re-sent, corrected
        session.flush()
        service.compute_from_statement(
            session, first, CONFIG, today=date.today(), now=NOW, actor="tests"
        )
        rows = session.scalars(
            select(CovenantTest).where(CovenantTest.covenant_id == covenant.id)
        ).all()
        assert [(r.outcome, r.value) for r in rows] == [(Outcome.PASS, Decimal("0.5"))]

    def test_statement_before_the_first_period_is_not_tested(self, session):
        loan = customer_and_loan(session)
        _define(session, loan, tested_from=date(2026, 1, 1))
        old = statement(session, loan.customer_id, date(2025, 12, 31))
        assert (
            service.compute_from_statement(
                session, old, CONFIG, today=date.today(), now=NOW, actor="tests"
            )
            == []
        )

    def test_statements_already_held_are_tested_on_catch_up(self, session):
        loan = customer_and_loan(session)
        statement(session, loan.customer_id, date(2025, 6, 30), total_liabilities="1500000")
        statement(session, loan.customer_id, date(2025, 12, 31), total_liabilities="1450000")
        covenant = _define(session, loan, tested_from=date(2025, 1, 1))
        rows = service.catch_up(
            session, covenant, loan.customer_id, CONFIG, today=date.today(), now=NOW, actor="t"
        )
        # annual: the December statement is the one of 2025
        assert [(r.period_end, r.value, r.outcome) for r in rows] == [
            (date(2025, 12, 31), Decimal("0.725"), Outcome.BREACH)
        ]


class TestMissingStatements:
    def test_a_test_due_without_a_statement_is_recorded_once(self, session):
        loan = customer_and_loan(session, disbursed_on=date(2024, 3, 1))
        covenant = _define(session, loan, frequency="annual", tested_from=date(2024, 3, 1))
        today = date(2026, 5, 15)  # 2024 and 2025 due (120 days after Dec 31), 2026 not yet
        missing = service.record_missing(session, CONFIG, today=today, now=NOW, actor="tests")
        mine = [(c.id, r.period_end, r.outcome) for c, r in missing if c.id == covenant.id]
        assert mine == [
            (covenant.id, date(2024, 12, 31), Outcome.MISSING_STATEMENT),
            (covenant.id, date(2025, 12, 31), Outcome.MISSING_STATEMENT),
        ]
        again = service.record_missing(session, CONFIG, today=today, now=NOW, actor="tests")
        assert [r for c, r in again if c.id == covenant.id] == []
        [(_row, finding)] = service.findings_of([(covenant, missing[-1][1])], CONFIG)[-1:]
        assert finding.code == "COVENANT_STATEMENT_MISSING"
        # the statement arrives late: the missing test becomes its computed result
        late = statement(session, loan.customer_id, date(2025, 12, 31), total_liabilities="600000")
        [(_, row)] = [
            (c, r)
            for c, r in service.compute_from_statement(
                session, late, CONFIG, today=today, now=NOW, actor="tests"
            )
            if c.id == covenant.id
        ]
        assert (row.outcome, row.value, row.missing_recorded_at is not None) == (
            Outcome.PASS,
            Decimal("0.3"),
            True,
        )

    def test_statement_in_the_period_is_not_missing(self, session):
        loan = customer_and_loan(session, disbursed_on=date(2024, 3, 1))
        covenant = _define(session, loan, frequency="annual", tested_from=date(2025, 1, 1))
        statement(session, loan.customer_id, date(2025, 9, 30))  # within 2025
        recorded = service.record_missing(
            session, CONFIG, today=date(2026, 5, 15), now=NOW, actor="tests"
        )
        [(_, row)] = [(c, r) for c, r in recorded if c.id == covenant.id]
        assert row.outcome == Outcome.PASS  # tested from that statement, not missing


class TestDefinition:
    def test_unknown_ratio_names_the_field(self, session):
        loan = customer_and_loan(session)
        with pytest.raises(InvalidInput) as caught:
            _define(session, loan, ratio="quick_ratio")
        assert caught.value.field == "ratio"

    def test_unknown_frequency_names_the_field(self, session):
        loan = customer_and_loan(session)
        with pytest.raises(InvalidInput) as caught:
            _define(session, loan, frequency="monthly")
        assert caught.value.field == "frequency"

    def test_approval_condition_of_another_loan_is_refused(self, session):
        loan, other = customer_and_loan(session), customer_and_loan(session)
        condition = session.scalars(
            select(ApprovalCondition).where(ApprovalCondition.loan_id == other.id)
        ).one()
        with pytest.raises(InvalidInput) as caught:
            _define(session, loan, approval_condition_id=condition.id)
        assert caught.value.field == "approval_condition_id"
        mine = session.scalars(
            select(ApprovalCondition).where(ApprovalCondition.loan_id == loan.id)
        ).one()
        assert _define(session, loan, approval_condition_id=mine.id).approval_condition_id == (
            mine.id
        )

    def test_unknown_loan(self, session):
        with pytest.raises(NotFound):
            service.define(
                session,
                "L-nope",
                service.CovenantData("debt_to_asset", "<", Decimal("0.7"), "annual"),
                CONFIG,
                actor="t",
            )


class TestInspectionReport:
    def test_the_report_section_and_page_show_the_history(self, session):
        from api.pages import render

        loan = customer_and_loan(session)
        covenant = _define(session, loan, tested_from=date(2024, 1, 1))
        s1 = statement(session, loan.customer_id, date(2024, 12, 31), total_liabilities="1440000")
        s2 = statement(session, loan.customer_id, date(2025, 12, 31), total_liabilities="1360000")
        for s in (s1, s2):
            service.compute_from_statement(
                session, s, CONFIG, today=date.today(), now=NOW, actor="tests"
            )
        [section] = service.report_section(session, loan.id)
        assert section["id"] == covenant.id
        assert section["formula"] == "total_liabilities / total_assets"
        assert [(t["period_end"], t["outcome"], t["value"]) for t in section["tests"]] == [
            ("2025-12-31", "near_breach", "0.680000"),
            ("2024-12-31", "breach", "0.720000"),
        ]
        report = {
            "inspection": {"id": "INS-1", "kind": "routine"},
            "loan": {"id": loan.id, "customer_id": loan.customer_id},
            "covenants": [section],
            "completed_at": NOW.isoformat(),
        }
        page = render.report(report, None, None)
        assert "<h2>Covenant tests</h2>" in page
        assert "Near breach" in page and "Breach" in page and "0.720000" in page

    def test_a_finalized_inspection_report_stores_the_covenant_history(self, session):
        from postloan.inspections import service as inspections
        from postloan.inspections.models import Inspection

        loan = customer_and_loan(session)
        _define(session, loan, tested_from=date(2024, 1, 1))
        s1 = statement(session, loan.customer_id, date(2024, 12, 31), total_liabilities="1440000")
        service.compute_from_statement(
            session, s1, CONFIG, today=date.today(), now=NOW, actor="tests"
        )
        inspection = Inspection(
            id=f"INS-COV-{loan.id[2:]}",
            loan_id=loan.id,
            kind="routine",
            reason="covenant report test",
            requested_by="tests",
        )
        session.add(inspection)
        session.flush()
        done = inspections.finalize(
            session,
            inspection.id,
            inspections.InspectionOutcome(
                inspector="am_li",
                findings_text="",
                conclusion="satisfactory",
                reviewer="po_chen",
                review_decision="approve",
                review_comment="",
                risk_class="normal",
                risk_class_reason="",
            ),
            actor="tests",
        )
        [section] = done.report["covenants"]
        assert [(t["outcome"], t["value"]) for t in section["tests"]] == [("breach", "0.720000")]
