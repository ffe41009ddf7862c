from __future__ import annotations

from pathlib import Path

import pytest

from postloan.decisions import UnsupportedExpression, load_tables, unary_tests

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


@pytest.mark.parametrize(
    ("entry", "yes", "no"),
    [
        ("-", [None, 1, "x"], []),
        ("<= 0", [0, -3], [1, None]),
        ("[1..90]", [1, 90, 45], [0, 91, None]),
        ("]1..90[", [2, 89], [1, 90]),
        ("> 360", [361], [360]),
        ('"micro","sme"', ["micro", "sme"], ["retail"]),
        ('not("retail")', ["sme"], ["retail", None]),
        ("true", [True], [False]),
    ],
)
def test_unary_tests(entry, yes, no):
    test = unary_tests(entry)
    assert all(test(v) for v in yes) and not any(test(v) for v in no)


def test_unsupported_feel_is_refused_not_guessed():
    with pytest.raises(UnsupportedExpression):
        unary_tests('date("2026-01-01")')


def test_every_decision_of_the_project_loads():
    for path in sorted(BPMN.glob("*.dmn")):
        assert load_tables(path.read_bytes()), path


def test_risk_classification_floor():
    table = load_tables((BPMN / "risk_classification.dmn").read_bytes())["risk_classification"]
    assert table.single({"days_past_due": 95})["risk_class"] == "substandard"
    assert table.single({"days_past_due": 0})["risk_class"] == "normal"
    assert table.single({"days_past_due": 400})["risk_class"] == "loss"
