"""The current ratio covenant (current assets / current liabilities, both optional on a
statement): pass, near breach and breach with the numbers; not computable, saying which figure
is missing, when a statement does not carry them. Against a migrated database, no engine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from postloan.covenants import service
from postloan.covenants.config import load_config
from postloan.covenants.models import Outcome
from postloan.db import unit_of_work
from tests.facts.fact_data import customer_and_loan, statement

CONFIG = load_config()
NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(database):
    with unit_of_work(database) as s:
        yield s
        s.rollback()


def _test(session, customer_id, period_end, **figures):
    s = statement(session, customer_id, period_end, **figures)
    tested = service.compute_from_statement(
        session, s, CONFIG, today=date.today(), now=NOW, actor="tests"
    )
    return tested


def test_current_ratio_is_configured_from_the_current_items():
    assert CONFIG.ratios["current_ratio"].formula() == "current_assets / current_liabilities"


def test_current_ratio_pass_near_breach_breach_and_not_computable(session):
    loan = customer_and_loan(session)
    service.define(
        session,
        loan.id,
        service.CovenantData(
            ratio="current_ratio",
            operator=">=",
            threshold=Decimal("1.2"),
            frequency="quarterly",
            tested_from=date(2024, 1, 1),
        ),
        CONFIG,
        actor="tests",
    )
    c = loan.customer_id
    # 900 000 / 600 000 = 1.5: more than 5% of 1.2 (0.06) above it -> pass
    [(_, row)] = _test(
        session, c, date(2024, 3, 31), current_assets="900000", current_liabilities="600000"
    )
    assert (row.outcome, row.value) == (Outcome.PASS, Decimal("1.5"))
    assert row.figures == {
        "inputs": {"current_assets": "900000.00", "current_liabilities": "600000.00"},
        "numerator": "900000.00",
        "denominator": "600000.00",
    }
    # 750 000 / 600 000 = 1.25: holds, within 0.06 of 1.2 -> near breach
    [(_, row)] = _test(
        session, c, date(2024, 6, 30), current_assets="750000", current_liabilities="600000"
    )
    assert (row.outcome, row.value) == (Outcome.NEAR_BREACH, Decimal("1.25"))
    # 660 000 / 600 000 = 1.1 < 1.2 -> breach
    breach = _test(
        session, c, date(2024, 9, 30), current_assets="660000", current_liabilities="600000"
    )
    [(_, row)] = breach
    assert (row.outcome, row.value) == (Outcome.BREACH, Decimal("1.1"))
    findings = service.findings_of(breach, CONFIG)
    assert [f.code for _, f in findings] == ["COVENANT_BREACH"]
    # no current items: not computable, and the test row says which figures are missing
    absent = _test(session, c, date(2024, 12, 31))
    [(_, row)] = absent
    assert (row.outcome, row.value) == (Outcome.NOT_COMPUTABLE, None)
    assert row.figures["missing"] == ["current_assets", "current_liabilities"]
    assert "current_assets" in row.figures["reason"]
    assert service.findings_of(absent, CONFIG) == []
    # only one of them: still not computable, naming the missing one
    [(_, row)] = _test(session, c, date(2025, 3, 31), current_assets="900000")
    assert row.outcome == Outcome.NOT_COMPUTABLE
    assert row.figures["missing"] == ["current_liabilities"]
    assert row.figures["inputs"] == {"current_assets": "900000.00", "current_liabilities": None}
