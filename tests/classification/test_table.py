"""The risk_classification table, row by row, evaluated in Python (postloan.decisions)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from postloan.classification.rules import (
    CLASSES,
    LoanFacts,
    classify_debtor,
    in_observation,
    npl_share,
    rank,
)
from postloan.decisions import load_tables

DMN = Path(__file__).resolve().parents[2] / "bpmn" / "risk_classification.dmn"
TABLE = load_tables(DMN.read_bytes())["risk_classification"]


def inputs(dpd=0, share=0.0, obs=False, current="normal"):
    return {
        "days_past_due": dpd,
        "debtor_npl_share": share,
        "in_restructuring_observation": obs,
        "current_class": current,
    }


#: One case per rule of the table (the engine agreement test reuses them).
CASES = [
    (inputs(dpd=0), "normal", "nothing_overdue"),
    (inputs(dpd=1), "special_mention", "any_overdue"),
    (inputs(dpd=90), "special_mention", "any_overdue"),
    (inputs(dpd=91), "substandard", "dpd_over_90"),
    (inputs(dpd=95), "substandard", "dpd_over_90"),
    (inputs(dpd=270), "substandard", "dpd_over_90"),
    (inputs(dpd=271), "doubtful", "dpd_over_270"),
    (inputs(dpd=360), "doubtful", "dpd_over_270"),
    (inputs(dpd=361), "loss", "dpd_over_360"),
    (inputs(dpd=0, share=0.14), "substandard", "debtor_contagion"),
    (inputs(dpd=0, share=0.10), "normal", "nothing_overdue"),
    (inputs(dpd=30, share=0.5), "substandard", "debtor_contagion"),
    (inputs(dpd=300, share=0.5), "doubtful", "dpd_over_270"),
    (inputs(dpd=0, obs=True, current="loss"), "loss", "restructuring_observation"),
    (inputs(dpd=0, obs=True, current="doubtful"), "doubtful", "restructuring_observation"),
    (inputs(dpd=10, obs=True, current="substandard"), "substandard", "restructured_overdue"),
    (inputs(dpd=0, obs=True, current="substandard"), "substandard", "restructuring_observation"),
    (
        inputs(dpd=0, obs=True, current="special_mention"),
        "special_mention",
        "restructuring_observation",
    ),
    (inputs(dpd=0, obs=True, current="normal"), "special_mention", "restructuring_observation"),
    (inputs(dpd=5, obs=True, current="normal"), "substandard", "restructured_overdue"),
    (inputs(dpd=90, obs=True, current="special_mention"), "substandard", "restructured_overdue"),
    (inputs(dpd=0, obs=False, current="doubtful"), "normal", "nothing_overdue"),
    (inputs(dpd=400, obs=True, current="doubtful"), "loss", "dpd_over_360"),
    (inputs(dpd=100, obs=True, current="special_mention"), "substandard", "dpd_over_90"),
]


@pytest.mark.parametrize(("variables", "risk_class", "rule"), CASES)
def test_each_rule(variables, risk_class, rule):
    result = TABLE.single(variables)
    assert (result["risk_class"], result["rule"]) == (risk_class, rule)
    assert "NFRA 2023" in result["reason"]


def test_every_row_is_covered_by_a_case():
    assert {r.outputs["rule"] for r in TABLE.rules} == {rule for _v, _c, rule in CASES}
    assert TABLE.hit_policy == "FIRST"


def test_rows_are_ordered_worst_first():
    ranks = [rank(r.outputs["risk_class"]) for r in TABLE.rules]
    assert ranks == sorted(ranks, reverse=True)


def test_95_days_is_substandard_naming_the_rule_even_with_only_days_past_due():
    result = TABLE.single({"days_past_due": 95})
    assert result["risk_class"] == "substandard"
    assert "More than 90 days past due" in result["reason"]


def test_contagion_reason_names_the_rule():
    assert TABLE.single(inputs(share=0.5))["reason"].startswith("Debtor contagion")


def _paid(due: date):
    return SimpleNamespace(due_on=due, due_amount=Decimal(10), paid_on=due, paid_amount=Decimal(10))


def _late(due: date):
    return SimpleNamespace(
        due_on=due, due_amount=Decimal(10), paid_on=due + timedelta(days=5), paid_amount=Decimal(10)
    )


def test_observation_needs_a_year_and_two_consecutive_paid_periods():
    today = date(2026, 6, 1)
    assert not in_observation(None, [], today)
    assert in_observation(
        today - timedelta(days=200),
        [_paid(today - timedelta(days=30 * k)) for k in range(1, 6)],
        today,
    )
    restructured = today - timedelta(days=400)
    assert in_observation(restructured, [_paid(today - timedelta(days=30))], today)
    assert not in_observation(
        restructured, [_paid(today - timedelta(days=60)), _paid(today - timedelta(days=30))], today
    )
    assert in_observation(
        restructured, [_paid(today - timedelta(days=60)), _late(today - timedelta(days=30))], today
    )


def _facts(loan_id, dpd, amount="500000", current="normal"):
    return LoanFacts(loan_id, Decimal(amount), dpd, False, current)


def test_contagion_spreads_and_is_released_when_the_cause_is_cured():
    sick, healthy = _facts("A", 100), _facts("B", 0)
    assert npl_share(TABLE, [sick, healthy]) == 0.5
    results = {f.loan_id: r for f, r, _ in classify_debtor(TABLE, [sick, healthy])}
    assert results["B"]["risk_class"] == "substandard"
    assert "50%" in results["B"]["reason"]
    # Cured: loan B's contagion class does not keep loan A non-performing.
    cured = classify_debtor(
        TABLE, [_facts("A", 0, current="substandard"), _facts("B", 0, current="substandard")]
    )
    assert [r["risk_class"] for _f, r, _ in cured] == ["normal", "normal"]


def test_small_npl_share_does_not_spread():
    results = classify_debtor(TABLE, [_facts("A", 100, "50000"), _facts("B", 0, "950000")])
    assert [r["risk_class"] for _f, r, _ in results] == ["substandard", "normal"]


def test_classes_order():
    assert CLASSES == ("normal", "special_mention", "substandard", "doubtful", "loss")
