"""The application layer's ports, implemented over the one engine gateway and HTTP.

``EngineAdapter`` is what the use cases and the outbox relay see of the engine: process starts
(with the look-up that makes a repeated start a no-op), message correlation, deployed decisions.
``HttpWebhookSender`` POSTs signed webhooks; ``AuditedNotices`` is the customer-notice channel of
the embedded default (no mail server): the notice is recorded in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from gateway.catalogue import DeployedCatalogue
from gateway.classification import deployed_table
from gateway.decisions import single_result_decider
from gateway.engine import EngineGateway
from postloan.application.ports import UnitOfWork
from postloan.credit import webhook
from postloan.decisions import DecisionTable

log = logging.getLogger(__name__)


def _typed(variables: dict[str, Any] | None) -> dict[str, Any]:
    """Outbox payloads are JSON: the names listed under ``__dates__`` go back to datetimes."""
    values = dict(variables or {})
    for name in values.pop("__dates__", []):
        if isinstance(values.get(name), str):
            values[name] = datetime.fromisoformat(values[name])
    return values


class EngineAdapter:
    """``postloan.application.ports.EnginePort`` over an :class:`EngineGateway`."""

    def __init__(self, engine: EngineGateway) -> None:
        self.gateway = engine

    def start_process(
        self, key: str, business_key: str, variables: dict[str, Any] | None = None
    ) -> str:
        return self.gateway.start_process(key, business_key, _typed(variables))

    def started_instance(self, key: str, business_key: str, outbox_id: int) -> str | None:
        found = (
            self.gateway.call(
                "POST",
                "/history/process-instance",
                json={
                    "processDefinitionKey": key,
                    "processInstanceBusinessKey": business_key,
                    "variables": [{"name": "outbox_id", "operator": "eq", "value": str(outbox_id)}],
                },
            )
            or []
        )
        return str(found[0]["id"]) if found else None

    def correlate_message(
        self, message: str, business_key: str | None = None, variables: dict[str, Any] | None = None
    ) -> None:
        self.gateway.correlate_message(message, business_key, _typed(variables))

    def members_of(self, group: str, users: Collection[str]) -> set[str]:
        """``UserDirectory``: the engine's group members, cached briefly (gateway.directory)."""
        from gateway.directory import GroupDirectory

        return GroupDirectory(self.gateway).members_of(group, users)

    def message_correlated(self, business_key: str, outbox_id: int) -> bool:
        found = (
            self.gateway.call(
                "GET",
                "/history/variable-instance",
                params={"variableName": f"outbox_{outbox_id}", "maxResults": "1"},
            )
            or []
        )
        return bool(found)

    def decider(self, key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return single_result_decider(self.gateway, key)

    def table(self, key: str) -> DecisionTable:
        return deployed_table(self.gateway, key)

    def early_warning_catalogue(self, fallback: Path | None) -> DeployedCatalogue:
        """The early-warning catalogue as deployed (its ``current()`` reloads after a
        redeployment; ``fallback`` is the file used while the engine cannot give it)."""
        return DeployedCatalogue(self.gateway, fallback)


class HttpWebhookSender:
    """Signed POSTs (HMAC-SHA256 of the exact body); the event id header is the outbox id."""

    def __init__(self, secret: Callable[[], str], timeout: Callable[[], float]) -> None:
        self._secret = secret
        self._timeout = timeout

    def send(self, url: str, body: bytes, event_id: str) -> None:
        headers = {
            "Content-Type": "application/json",
            webhook.SIGNATURE_HEADER: webhook.signature(body, self._secret()),
            webhook.EVENT_HEADER: event_id,
        }
        # a new connection per push: a receiver that closes kept-alive connections must not
        # turn a retry into a connection reset
        response = requests.post(url, data=body, headers=headers, timeout=self._timeout())
        if response.status_code >= 300:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")


class AuditedNotices:
    """Customer notices of the embedded default: recorded in the audit trail, once per id."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def send_notice(self, customer_id: str, text: str, notice_id: str) -> None:
        from postloan import audit

        with self.uow() as session:
            audit.record(
                session,
                actor="system:outbox-relay",
                action="customer.notice_sent",
                object_type="customer",
                object_id=customer_id,
                detail={"notice_id": notice_id, "text": text},
            )
