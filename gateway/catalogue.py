"""The early-warning catalogue as the engine has deployed it.

Loads the latest deployed ``early_warning`` decision's XML and keeps it per decision definition
id, so a redeployment (new id) takes effect at the next lookup without a restart. If the engine
cannot give it (unreachable, or the user may not read decision definitions), the file in
``bpmn/`` is used and a warning says so.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from gateway.engine import EngineError, EngineGateway
from postloan.signals.catalogue import DECISION_KEY, DEFAULT_PATH, EarlyWarningCatalogue

log = logging.getLogger(__name__)


class DeployedCatalogue:
    def __init__(self, engine: EngineGateway, fallback: Path | None = DEFAULT_PATH) -> None:
        self.engine = engine
        self.fallback = fallback
        self._lock = threading.Lock()
        self._definition_id: str | None = None
        self._catalogue: EarlyWarningCatalogue | None = None
        self._fallback_catalogue: EarlyWarningCatalogue | None = None

    def current(self) -> EarlyWarningCatalogue:
        try:
            definition = self.engine.call("GET", f"/decision-definition/key/{DECISION_KEY}")
        except EngineError as exc:
            return self._from_file(exc)
        definition_id = definition["id"]
        with self._lock:
            if definition_id != self._definition_id or self._catalogue is None:
                try:
                    body = self.engine.call("GET", f"/decision-definition/{definition_id}/xml")
                except EngineError as exc:
                    return self._from_file(exc)
                self._catalogue = EarlyWarningCatalogue.from_xml(body["dmnXml"])
                self._definition_id = definition_id
                log.info(
                    "early-warning catalogue loaded from decision definition %s", definition_id
                )
            return self._catalogue

    @property
    def definition_id(self) -> str | None:
        return self._definition_id

    def _from_file(self, exc: EngineError) -> EarlyWarningCatalogue:
        if self.fallback is None:
            raise exc
        if self._fallback_catalogue is None:
            log.warning(
                "early-warning catalogue not readable from the engine (%s); using %s",
                exc,
                self.fallback,
            )
            self._fallback_catalogue = EarlyWarningCatalogue.from_file(self.fallback)
        return self._fallback_catalogue
