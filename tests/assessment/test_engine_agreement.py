"""The engine (the deployed ``bpmn/assessment_scorecard.dmn``) and the Python evaluation the
assessment uses agree on every weight and every band."""

from __future__ import annotations

import pytest

from gateway.variables import from_engine_all, to_engine
from postloan.assessment.config import INDICATORS
from postloan.assessment.results import LEVELS
from postloan.assessment.scorecard import BANDS_KEY, WEIGHTS_KEY, bundled

pytestmark = pytest.mark.engine


def _engine(admin, key: str, variables: dict) -> list[dict]:
    body = {"variables": {k: to_engine(v) for k, v in variables.items()}}
    results = admin.call("POST", f"/decision-definition/key/{key}/evaluate", json=body)
    return [from_engine_all(r) for r in results]


def test_every_weight_of_every_level_agrees(admin):
    table = bundled()
    scored = 0
    for level in LEVELS:
        for indicator in (*INDICATORS, "not_an_indicator"):
            engine = _engine(admin, WEIGHTS_KEY, {"level": level, "indicator": indicator})
            python = table.weighting(level, indicator)
            if python is None:
                assert engine == [], (level, indicator)
                continue
            scored += 1
            assert len(engine) == 1, (level, indicator, engine)
            got = engine[0]
            assert (float(got["weight"]), got["direction"], float(got["scale"])) == (
                python.weight,
                python.direction,
                python.scale,
            ), (level, indicator)
    assert scored == len(table.weights.rules)


@pytest.mark.parametrize("score", [0.0, 49.99, 50.0, 69.99, 70.0, 84.99, 85.0, 100.0])
def test_every_band_agrees(admin, score):
    engine = _engine(admin, BANDS_KEY, {"score": score})
    assert len(engine) == 1
    assert engine[0]["band"] == bundled().band(score)
