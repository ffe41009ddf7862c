"""A restructured loan's observation period, end to end: the restructuring recorded over REST,
repayments recorded over REST, and the class decided by the ``risk_classification`` table the real
engine has deployed (evaluated by the engine itself on the loan's facts, and by the API's
reclassification, which reads the deployed table): within the period at least special mention, at
least substandard with an instalment overdue, no upgrade; after it, classified on arrears alone."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from conftest import TODAY
from helpers import new_loan

from gateway.classification import deployed_table
from gateway.variables import from_engine_all, to_engine
from postloan.classification import service
from postloan.classification.rules import observation_rules
from postloan.db import unit_of_work
from postloan.loans.models import Loan, Repayment

pytestmark = pytest.mark.engine


def restructure(api: Any, loan_id: str, on: date) -> dict[str, Any]:
    r = api.post(
        f"/api/v1/loans/{loan_id}/restructurings",
        json={
            "restructured_on": on.isoformat(),
            "reason": "Turnover halved after the main buyer left; term extended, instalment cut",
            "new_maturity_on": (TODAY + timedelta(days=900)).isoformat(),
            "new_instalment_amount": "25000.00",
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def instalment(api: Any, loan_id: str, due: date, *, paid: bool) -> None:
    body: dict[str, Any] = {"due_on": due.isoformat(), "due_amount": "25000"}
    if paid:
        body |= {"paid_on": due.isoformat(), "paid_amount": "25000"}
    r = api.post(f"/api/v1/loans/{loan_id}/repayments", json=body)
    assert r.status_code == 201, r.text


def api_class(api: Any, loan_id: str) -> tuple[str, str]:
    c = api.get(f"/api/v1/loans/{loan_id}").json()["classification"]
    return c["risk_class"], c["reason"]


def engine_decides(
    admin: Any, database: str, loan_id: str, as_of: date, current: str | None = None
) -> dict[str, Any]:
    """The engine's own evaluation of the deployed table on the loan's facts on ``as_of``
    (``current``: the class the loan is taken to have, default its stored one)."""
    with unit_of_work(database) as session:
        inputs = service.classification_inputs(session, loan_id, as_of, deployed_table(admin))
    if current is not None:
        inputs["current_class"] = current
    body = {"variables": {k: to_engine(v) for k, v in inputs.items()}}
    results = admin.call("POST", "/decision-definition/key/risk_classification/evaluate", json=body)
    assert len(results) == 1, results
    return {**from_engine_all(results[0]), "inputs": inputs}


def reclassify_on(admin: Any, database: str, loan_id: str, as_of: date) -> tuple[str, str]:
    """What the nightly scan does for one loan on ``as_of`` (the deployed table, applied)."""
    with unit_of_work(database) as session:
        service.reclassify_now(session, loan_id, deployed_table(admin), as_of, "tests", "scan")
    with unit_of_work(database) as session:
        loan = session.get(Loan, loan_id)
        return loan.risk_class, loan.risk_class_reason


def test_the_period_has_the_configured_length():
    rules = observation_rules()
    assert rules == {"min_days": 365, "min_paid_periods": 2}  # DOMAIN.md: one year, two periods


def test_repaid_as_agreed_within_the_period_special_mention_after_it_normal(api, admin, database):
    loan_id = new_loan(api, account_manager="am_li")  # one instalment paid 30 days ago
    assert api_class(api, loan_id)[0] == "normal"
    restructured = TODAY - timedelta(days=100)
    recorded = restructure(api, loan_id, restructured)
    assert recorded["classification"]["risk_class"] == "special_mention"
    assert "at least special mention" in recorded["classification"]["reason"]
    instalment(api, loan_id, TODAY - timedelta(days=60), paid=True)

    # Within the period: two instalments repaid as agreed, but not a year yet.
    risk_class, reason = api_class(api, loan_id)
    assert risk_class == "special_mention" and "observation" in reason
    engine = engine_decides(admin, database, loan_id, TODAY)
    assert engine["inputs"]["days_past_due"] == 0
    assert engine["inputs"]["in_restructuring_observation"] is True
    # The same row whether the loan is taken as normal or as the special mention it now is:
    # the nightly scan does not move it again with a new reason.
    for current in (None, "normal"):
        engine = engine_decides(admin, database, loan_id, TODAY, current=current)
        assert (engine["risk_class"], engine["rule"]) == (
            "special_mention",
            "restructuring_observation",
        )
        assert engine["reason"] == reason

    # The day before the year is up it still holds; once a year and two periods have passed,
    # nothing overdue means normal.
    last_day = restructured + timedelta(days=observation_rules()["min_days"] - 1)
    engine = engine_decides(admin, database, loan_id, last_day)
    assert engine["inputs"]["in_restructuring_observation"] is True
    assert engine["risk_class"] == "special_mention"
    after = restructured + timedelta(days=observation_rules()["min_days"])
    engine = engine_decides(admin, database, loan_id, after)
    assert engine["inputs"]["in_restructuring_observation"] is False
    assert (engine["risk_class"], engine["rule"]) == ("normal", "nothing_overdue")
    assert reclassify_on(admin, database, loan_id, after)[0] == "normal"
    reclassify_on(admin, database, loan_id, TODAY)  # back to today for the suite's other scans


def test_an_instalment_overdue_within_the_period_makes_it_substandard(api, admin, database):
    restructured_loan = new_loan(api, account_manager="am_li")
    plain_loan = new_loan(api, account_manager="am_li")
    restructure(api, restructured_loan, TODAY - timedelta(days=100))
    for loan_id in (restructured_loan, plain_loan):
        instalment(api, loan_id, TODAY - timedelta(days=20), paid=False)

    # The same 20 days past due: special mention for a loan never restructured, substandard for
    # one in its observation period.
    assert api_class(api, plain_loan)[0] == "special_mention"
    risk_class, reason = api_class(api, restructured_loan)
    assert risk_class == "substandard" and "observation period" in reason
    for current in (None, "special_mention"):
        engine = engine_decides(admin, database, restructured_loan, TODAY, current=current)
        assert (engine["risk_class"], engine["rule"]) == ("substandard", "restructured_overdue")
        assert engine["reason"] == reason
    history = api.get(f"/api/v1/loans/{restructured_loan}/classification-history").json()
    assert [(c["to_class"], c["source"]) for c in history if c["from_class"] != c["to_class"]] == [
        ("special_mention", "restructuring"),
        ("substandard", "repayment"),
    ]
    assert engine_decides(admin, database, plain_loan, TODAY)["rule"] == "any_overdue"


def test_a_non_performing_loan_is_not_upgraded_before_the_period_ends(api, admin, database):
    loan_id = new_loan(api, account_manager="am_li", days_overdue=95)
    assert api_class(api, loan_id)[0] == "substandard"
    restructured = TODAY - timedelta(days=5)
    recorded = restructure(api, loan_id, restructured)
    assert recorded["class_before"] == "substandard"
    # The arrears are settled with the restructuring (the bank's core system marks the old
    # instalment paid).
    with unit_of_work(database) as session:
        overdue = session.query(Repayment).filter_by(loan_id=loan_id, paid_on=None).one()
        overdue.paid_on, overdue.paid_amount = restructured, overdue.due_amount

    engine = engine_decides(admin, database, loan_id, TODAY)
    assert engine["inputs"]["days_past_due"] == 0
    assert (engine["risk_class"], engine["rule"]) == ("substandard", "restructuring_observation")
    assert reclassify_on(admin, database, loan_id, TODAY)[0] == "substandard"

    # A year on, with two instalments repaid as agreed after the restructuring: upgraded.
    for days in (60, 30):
        with unit_of_work(database) as session:
            due = restructured + timedelta(days=observation_rules()["min_days"] - days)
            session.add(
                Repayment(
                    loan_id=loan_id,
                    due_on=due,
                    due_amount=25000,
                    paid_on=due,
                    paid_amount=25000,
                )
            )
    after = restructured + timedelta(days=observation_rules()["min_days"])
    engine = engine_decides(admin, database, loan_id, after)
    assert (engine["risk_class"], engine["rule"]) == ("normal", "nothing_overdue")
    assert reclassify_on(admin, database, loan_id, after)[0] == "normal"
    reclassify_on(admin, database, loan_id, TODAY)  # back to today for the suite's other scans
