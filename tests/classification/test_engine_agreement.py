"""The engine and the Python evaluation of risk_classification agree on every rule."""

from __future__ import annotations

import pytest
from test_table import CASES, TABLE

from gateway.classification import deployed_table
from gateway.variables import from_engine_all, to_engine

pytestmark = pytest.mark.engine


def _engine_evaluate(admin, variables):
    body = {"variables": {k: to_engine(v) for k, v in variables.items()}}
    results = admin.call("POST", "/decision-definition/key/risk_classification/evaluate", json=body)
    assert len(results) == 1, results
    return from_engine_all(results[0])


def test_engine_agrees_with_python_on_every_rule(admin):
    for variables, risk_class, rule in CASES:
        engine = _engine_evaluate(admin, variables)
        assert engine == TABLE.single(variables), variables
        assert (engine["risk_class"], engine["rule"]) == (risk_class, rule)


def test_engine_with_only_days_past_due_gives_the_floor(admin):
    engine = _engine_evaluate(admin, {"days_past_due": 95})
    assert engine["risk_class"] == "substandard"
    assert "90 days" in engine["reason"]


def test_deployed_table_is_read_from_the_engine(admin):
    table = deployed_table(admin)
    assert [r.outputs for r in table.rules] == [r.outputs for r in TABLE.rules]
    assert deployed_table(admin) is table  # cached per definition id
