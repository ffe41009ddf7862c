"""Evaluating deployed decisions (DMN) through the engine's REST API.

The engine evaluates the latest deployed version of a decision, so an analyst who edits a table in
the Modeler and deploys it changes the next decisions without a code change. The result carries
which decision definition (id and version) gave it, for the record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gateway.engine import EngineError, EngineGateway
from gateway.variables import from_engine_all, to_engine

log = logging.getLogger(__name__)

INSPECTION_PLAN = "inspection_plan"


class DecisionError(Exception):
    """The decision gave no result or several where one was expected."""


def decision_definition(engine: EngineGateway, key: str) -> dict[str, Any]:
    """The latest deployed version of decision ``key`` (id, key, version, deploymentId...)."""
    return engine.call("GET", f"/decision-definition/key/{key}")


def evaluate(engine: EngineGateway, key: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """Every matched result of the latest version of decision ``key`` (typed both ways)."""
    body = {"variables": {name: to_engine(value) for name, value in variables.items()}}
    results = engine.call("POST", f"/decision-definition/key/{key}/evaluate", json=body) or []
    return [from_engine_all(r) for r in results]


def single_result_decider(
    engine: EngineGateway, key: str = INSPECTION_PLAN
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``decide(facts) -> result`` function for one decision with exactly one result.

    The result gets ``decision_version`` (the decision definition id, ``<key>:<version>:<uuid>``)
    added. The
    definition is looked up before and after the evaluation; if a deployment raced in between,
    the evaluation is repeated so the recorded version is the one that decided.
    """

    def decide(facts: dict[str, Any]) -> dict[str, Any]:
        for _attempt in range(3):
            before = decision_definition(engine, key)
            results = evaluate(engine, key, facts)
            after = decision_definition(engine, key)
            if before.get("id") == after.get("id"):
                break
        if len(results) != 1:
            raise DecisionError(
                f"decision {key} gave {len(results)} results for {sorted(facts)}; expected one"
            )
        result = dict(results[0])
        result["decision_version"] = str(after.get("id") or f"{key}:{after.get('version')}")
        return result

    return decide


__all__ = [
    "DecisionError",
    "EngineError",
    "decision_definition",
    "evaluate",
    "single_result_decider",
]
