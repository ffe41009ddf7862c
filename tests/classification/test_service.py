"""Classification service against the real database: contagion, restructuring, proposals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import TODAY
from sqlalchemy import select

from postloan.audit import AuditEvent
from postloan.classification import service
from postloan.classification.rules import bundled_table
from postloan.db import unit_of_work
from postloan.errors import Conflict, InvalidInput
from postloan.loans.models import Loan

TABLE = bundled_table()


def _class(database, loan_id):
    with unit_of_work(database) as session:
        loan = session.get(Loan, loan_id)
        return loan.risk_class, loan.risk_class_reason


def test_inputs_of_a_debtor_with_one_npl_loan(database, debtor):
    _c, (sick, healthy) = debtor({"days_overdue": 100}, {})
    with unit_of_work(database) as session:
        inputs = service.classification_inputs(session, healthy, TODAY)
    assert inputs == {
        "days_past_due": 0,
        "debtor_npl_share": 0.5,
        "in_restructuring_observation": False,
        "current_class": "normal",
    }


def test_contagion_reclassifies_the_debtors_other_loans(database, debtor):
    _c, (sick, healthy) = debtor({"days_overdue": 100}, {})
    with unit_of_work(database) as session:
        change = service.reclassify_now(session, sick, TABLE, TODAY, "tests")
    assert change.to_class == "substandard" and change.source == "repayment"
    risk_class, reason = _class(database, healthy)
    assert risk_class == "substandard"
    assert reason.startswith("Debtor contagion") and "50%" in reason
    with unit_of_work(database) as session:
        moved = service.history(session, healthy)
    assert [(c.source, c.status, c.to_class) for c in moved] == [
        ("contagion", "applied", "substandard")
    ]


def test_contagion_does_not_spread_below_the_threshold(database, debtor):
    _c, (sick, healthy) = debtor({"days_overdue": 100, "amount": "50000"}, {"amount": "950000"})
    with unit_of_work(database) as session:
        service.reclassify_now(session, sick, TABLE, TODAY, "tests")
    assert _class(database, healthy)[0] == "normal"


def test_restructuring_blocks_an_upgrade(database, debtor):
    _c, (loan_id,) = debtor(
        {
            "risk_class": "doubtful",
            "restructured_on": TODAY - timedelta(days=100),
            "paid_periods": 3,
        }
    )
    with unit_of_work(database) as session:
        inputs = service.classification_inputs(session, loan_id, TODAY)
        assert inputs["in_restructuring_observation"] is True
        change = service.reclassify_now(session, loan_id, TABLE, TODAY, "tests")
    risk_class, reason = _class(database, loan_id)
    assert risk_class == "doubtful" and "observation" in reason
    assert change.to_class == "doubtful"  # same level: the reason is now the rule's


def test_upgrade_after_the_observation_period(database, debtor):
    _c, (loan_id,) = debtor(
        {
            "risk_class": "doubtful",
            "restructured_on": TODAY - timedelta(days=500),
            "paid_periods": 3,
        }
    )
    with unit_of_work(database) as session:
        service.reclassify_now(session, loan_id, TABLE, TODAY, "tests")
    assert _class(database, loan_id)[0] == "normal"


def test_inspection_downgrade_is_proposed_then_confirmed(database, debtor):
    _c, (loan_id,) = debtor({"days_overdue": 100})
    result = TABLE.single({"days_past_due": 100})
    with unit_of_work(database) as session:
        change = service.propose(session, loan_id, result, "inspection", "worker")
        assert change.status == "proposed"
        assert service.propose(session, loan_id, result, "inspection", "worker").id == change.id
        change_id = change.id
    assert _class(database, loan_id)[0] == "normal"
    with unit_of_work(database) as session:
        service.settle_inspection_classification(
            session, change_id, "confirm", "cm_liu", "arrears confirmed with the branch"
        )
    assert _class(database, loan_id)[0] == "substandard"
    with unit_of_work(database) as session:
        assert [(c.status, c.decided_by) for c in service.history(session, loan_id)] == [
            ("applied", "cm_liu")
        ]
        events = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == loan_id, AuditEvent.action.like("classification.%"))
            .order_by(AuditEvent.seq)
        ).all()
        assert events == ["classification.proposed", "classification.confirmed"]
        with pytest.raises(Conflict):
            service.confirm(session, change_id, "cm_liu", "again")


def test_inspection_downgrade_rejected_keeps_the_class(database, debtor):
    _c, (loan_id,) = debtor({"days_overdue": 100})
    with unit_of_work(database) as session:
        change = service.propose(
            session, loan_id, TABLE.single({"days_past_due": 100}), "inspection", "worker"
        )
        change_id = change.id
    with unit_of_work(database) as session:
        with pytest.raises(InvalidInput):
            service.settle_inspection_classification(session, change_id, "maybe", "cm_liu")
    with unit_of_work(database) as session:
        service.settle_inspection_classification(
            session, change_id, "reject", "cm_liu", "paid yesterday, bank statement seen"
        )
        service.settle_inspection_classification(session, None, None, "cm_liu")
    assert _class(database, loan_id)[0] == "normal"
    with unit_of_work(database) as session:
        assert [c.status for c in service.history(session, loan_id)] == ["rejected"]


def test_upgrade_from_an_inspection_applies_at_once(database, debtor):
    _c, (loan_id,) = debtor({"risk_class": "special_mention"})
    with unit_of_work(database) as session:
        change = service.propose(
            session, loan_id, TABLE.single({"days_past_due": 0}), "inspection", "worker"
        )
    assert change.status == "applied"
    assert _class(database, loan_id)[0] == "normal"


def test_a_class_decided_on_facts_since_changed_is_decided_again(database, debtor):
    """An inspection gathered its inputs (nothing overdue: normal), then a repayment made the
    loan 100 days past due and substandard before the inspection's result was recorded: the
    stale 'normal' must not undo the repayment's class (seen in CI: a stale special mention
    overwrote a repayment's substandard)."""
    _c, (loan_id,) = debtor({"days_overdue": 100})
    with unit_of_work(database) as session:
        service.reclassify_now(session, loan_id, TABLE, TODAY, "tests")
    assert _class(database, loan_id)[0] == "substandard"
    decided_on = {
        "days_past_due": 0,
        "in_restructuring_observation": False,
        "current_class": "normal",
        "debtor_npl_share": 0.0,
    }
    stale = TABLE.single(decided_on)
    assert stale is not None and stale["risk_class"] == "normal"
    with unit_of_work(database) as session:
        change, again = service.propose_decided(
            session, loan_id, stale, decided_on, "inspection", "tests", table=TABLE, as_of=TODAY
        )
    assert again is True and change is None  # decided again on 100 days: substandard, unchanged
    assert _class(database, loan_id)[0] == "substandard"


def test_a_class_decided_on_the_facts_that_still_hold_is_recorded_as_given(database, debtor):
    _c, (loan_id,) = debtor({"days_overdue": 100})
    with unit_of_work(database) as session:
        decided_on = service.classification_inputs(session, loan_id, TODAY, TABLE)
    result = TABLE.single(decided_on)
    assert result is not None and result["risk_class"] == "substandard"
    with unit_of_work(database) as session:
        change, again = service.propose_decided(
            session, loan_id, result, decided_on, "inspection", "tests", table=TABLE, as_of=TODAY
        )
    assert again is False
    assert change is not None and (change.to_class, change.status) == ("substandard", "proposed")
    assert _class(database, loan_id)[0] == "normal"  # an inspection's downgrade waits
