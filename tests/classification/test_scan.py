"""The nightly scan on a small portfolio in the real database."""

from __future__ import annotations

from datetime import timedelta

from conftest import TODAY
from sqlalchemy import select

from postloan.classification.rules import bundled_table
from postloan.classification.scan import scan
from postloan.db import get_engine, unit_of_work
from postloan.loans.models import ClassificationChange, Loan


def test_scan_classifies_the_portfolio_with_contagion(database, debtor):
    _a, (late, sibling) = debtor({"days_overdue": 100}, {})
    _b, (current,) = debtor({})
    _c, (loss,) = debtor({"days_overdue": 400})
    _d, (kept,) = debtor({"risk_class": "doubtful", "restructured_on": TODAY - timedelta(days=90)})
    _e, (small_late, big) = debtor({"days_overdue": 20, "amount": "10000"}, {"amount": "990000"})

    result = scan(
        get_engine(database),
        bundled_table(),
        TODAY,
        chunk_customers=2,
        progress=False,
        raise_signals=False,
    )
    assert result.loans >= 7 and result.repayment_rows >= 10 and result.contagion >= 1
    with unit_of_work(database) as session:
        classes = dict(
            session.execute(
                select(Loan.id, Loan.risk_class).where(
                    Loan.id.in_([late, sibling, current, loss, kept, small_late, big])
                )
            ).all()
        )
        sources = dict(
            session.execute(
                select(ClassificationChange.loan_id, ClassificationChange.source).where(
                    ClassificationChange.loan_id == sibling
                )
            ).all()
        )
        reason = session.get(Loan, sibling).risk_class_reason
    assert classes == {
        late: "substandard",
        sibling: "substandard",
        current: "normal",
        loss: "loss",
        kept: "doubtful",
        small_late: "special_mention",
        big: "normal",
    }
    assert sources == {sibling: "contagion"} and "50%" in reason

    again = scan(get_engine(database), bundled_table(), TODAY, progress=False, raise_signals=False)
    assert again.changes == 0  # nothing moved since: nothing written


def test_scan_raises_the_repayment_signal_of_a_loan_it_moves_down(database, debtor):
    from postloan.signals.models import RiskSignal

    _a, (late,) = debtor({"days_overdue": 40})
    result = scan(get_engine(database), bundled_table(), TODAY, progress=False)
    assert result.signals >= 1
    with unit_of_work(database) as session:
        codes = session.scalars(select(RiskSignal.code).where(RiskSignal.loan_id == late)).all()
    assert codes == ["OVERDUE_31_90"]


def test_scan_lists_the_new_serious_signals_that_warrant_a_special_inspection(database, debtor):
    _a, (late,) = debtor({"days_overdue": 100})
    result = scan(get_engine(database), bundled_table(), TODAY, progress=False)
    assert late in [loan_id for loan_id, _signal in result.serious_new_signals]
    again = scan(get_engine(database), bundled_table(), TODAY, progress=False)
    assert late not in [loan_id for loan_id, _signal in again.serious_new_signals]
