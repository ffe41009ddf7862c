"""Decision ``exemption_rules`` case by case (evaluated from the deployed XML by the project's
evaluator, which a test keeps in agreement with the engine), and how the review combines the
matching rules into a proposal: the most severe outcome, with every reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from postloan.decisions import load_tables
from postloan.due_diligence.service import NO_RULE_REASON, combine

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
TABLE = load_tables((BPMN / "exemption_rules.dmn").read_bytes())["exemption_rules"]

#: A small-enterprise loan whose account manager did every prescribed action on time.
CLEAN = {
    "loan_type": "small_micro",
    "amount": 2_000_000.0,
    "fraud": False,
    "collusion": False,
    "serious_breach": False,
    "first_inspection_skipped": False,
    "all_actions_on_time": True,
    "lapses": 0,
    "npl_band": "tolerated",
}


def propose(**changes: object) -> dict:
    return combine(TABLE.evaluate({**CLEAN, **changes}))


def test_collect_hit_policy_lists_every_rule_that_applies():
    assert TABLE.hit_policy == "COLLECT"
    results = TABLE.evaluate({**CLEAN, "fraud": True, "collusion": True, "amount": 12e6})
    assert len(results) == 3  # out of scope, fraud, collusion: each reason listed


def test_every_action_on_time_is_exempt():
    proposal = propose()
    assert proposal["outcome"] == "exempt"
    assert proposal["reasons"] == [
        "Every prescribed action done on time: duties fully performed, must be exempted"
    ]


@pytest.mark.parametrize("band", ["tolerated", "general", "strict"])
def test_every_action_on_time_is_exempt_whatever_the_branch_npl_band(band):
    assert propose(npl_band=band)["outcome"] == "exempt"


def test_farmer_loan_up_to_5m_is_in_scope():
    assert propose(loan_type="farmer", amount=5_000_000.0)["outcome"] == "exempt"


@pytest.mark.parametrize(
    ("loan_type", "amount"),
    [("small_micro", 10_000_000.01), ("farmer", 5_000_001.0), ("other", 100_000.0)],
)
def test_outside_the_scope_no_exemption(loan_type, amount):
    proposal = propose(loan_type=loan_type, amount=amount)
    assert proposal["outcome"] == "full_accountability"
    assert all("Outside the scope" in r for r in proposal["reasons"])


def test_small_micro_at_exactly_10m_is_in_scope():
    assert propose(amount=10_000_000.0)["outcome"] == "exempt"


def test_first_inspection_skipped_is_not_exempt():
    proposal = propose(first_inspection_skipped=True, all_actions_on_time=False, lapses=1)
    assert proposal["outcome"] == "full_accountability"
    assert any("First inspection after disbursement skipped" in r for r in proposal["reasons"])


@pytest.mark.parametrize("flag", ["fraud", "collusion", "serious_breach"])
def test_may_not_exempt_cases_are_never_exempt(flag):
    proposal = propose(**{flag: True})
    assert proposal["outcome"] == "full_accountability"
    assert not any("must be exempted" in r for r in proposal["reasons"])


def test_fraud_is_never_exempt_whatever_else_holds():
    for band in ("tolerated", "general", "strict"):
        for loan_type in ("small_micro", "farmer"):
            proposal = propose(fraud=True, npl_band=band, loan_type=loan_type, amount=1.0)
            assert proposal["outcome"] == "full_accountability"
            assert "Fraud: may not be exempted" in proposal["reasons"]


@pytest.mark.parametrize(
    ("band", "outcome"),
    [("tolerated", "reduced"), ("general", "reduced"), ("strict", "full_accountability")],
)
def test_minor_lapses_by_the_branch_npl_tolerance(band, outcome):
    proposal = propose(all_actions_on_time=False, lapses=2, npl_band=band)
    assert proposal["outcome"] == outcome
    assert len(proposal["reasons"]) == 1 and band in proposal["reasons"][0].replace(
        "within tolerance", "tolerated"
    ).replace("at or above the strict threshold", "strict")


def test_no_rule_applies_means_no_exemption():
    assert combine([]) == {"outcome": "full_accountability", "reasons": [NO_RULE_REASON]}


def test_an_unknown_outcome_is_refused_not_guessed():
    from postloan.errors import InvalidInput

    with pytest.raises(InvalidInput):
        combine([{"outcome": "pardoned", "reason": "x"}])
