"""The ``risk_classification`` table as the engine has deployed it, for evaluation in Python.

The API (reclassification right after a repayment) and the workers evaluate the table in Python
with :mod:`postloan.decisions`, from the XML of the latest deployed definition — so an analyst's
edit deployed to the engine takes effect here too. The XML is cached per decision definition id
(a deployed definition never changes); only the id of the latest version is asked each time.
If the engine cannot be reached or refuses (the technical user needs READ on
DECISION_DEFINITION), the last table fetched is used, else the table bundled in ``bpmn/`` (the one
provisioning deploys), with a warning in the log: recording a repayment must not fail because
the engine is down.
"""

from __future__ import annotations

import logging
import threading

from gateway.engine import EngineError, EngineGateway
from postloan.classification.rules import DECISION_KEY, bundled_table
from postloan.decisions import DecisionTable, load_tables

log = logging.getLogger(__name__)

_lock = threading.Lock()
_by_definition_id: dict[str, DecisionTable] = {}
_latest: dict[str, str] = {}  # engine base url -> latest definition id seen


def deployed_table(engine: EngineGateway, key: str = DECISION_KEY) -> DecisionTable:
    """The latest deployed version of decision ``key``, parsed (cached per definition id)."""
    try:
        definition = engine.call("GET", f"/decision-definition/key/{key}")
        definition_id = definition["id"]
        with _lock:
            table = _by_definition_id.get(definition_id)
        if table is None:
            xml = engine.call("GET", f"/decision-definition/{definition_id}/xml")["dmnXml"]
            table = load_tables(xml)[key]
            with _lock:
                _by_definition_id[definition_id] = table
            log.info("loaded decision %s from the engine (definition %s)", key, definition_id)
        with _lock:
            _latest[f"{engine.base_url}#{key}"] = definition_id
        return table
    except EngineError as exc:
        with _lock:
            known = _latest.get(f"{engine.base_url}#{key}")
            table = _by_definition_id.get(known) if known else None
        if table is None:
            log.warning(
                "decision %s could not be read from the engine (%s): using the table "
                "bundled in bpmn/",
                key,
                exc.message,
            )
            return bundled_table()
        log.warning(
            "engine did not answer for decision %s (%s): using definition %s fetched before",
            key,
            exc.message,
            known,
        )
        return table
