"""The one gateway to the Camunda 7 REST API.

pycamunda does the calls it covers well (starting processes, messages, task queries); the rest
(deployments, history, jobs, retries, identity) are direct calls. Every call has a timeout — neither
client sets one — and every failure surfaces as :class:`EngineError` with the engine's own message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pycamunda
import pycamunda.processdef
import requests

from gateway.retry import ENGINE_RETRY
from gateway.variables import from_engine, from_engine_all, to_engine
from postloan.application.ports import EngineFailure

log = logging.getLogger(__name__)

DEPLOYABLE_SUFFIXES = (".bpmn", ".dmn", ".form")


class EngineError(EngineFailure):
    """The engine refused a call (``status`` is its HTTP status) or could not be reached (0)."""


class _TimeoutSession(requests.Session):
    """A session whose requests always time out; pycamunda never passes a timeout itself."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


class EngineGateway:
    """Calls to one engine as one user (a technical user, or a person in tests and tools)."""

    def __init__(self, base_url: str, user: str, password: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.timeout = timeout
        self.session = _TimeoutSession(timeout)
        self.session.auth = (user, password)

    # -- plumbing ---------------------------------------------------------------------------

    def _pycamunda(self, request: Any) -> Any:
        request.session = self.session
        request.auth = self.session.auth
        try:
            return request()
        except pycamunda.PyCamundaException as exc:
            status = {
                pycamunda.BadRequest: 400,
                pycamunda.Unauthorized: 401,
                pycamunda.Forbidden: 403,
                pycamunda.NotFound: 404,
            }.get(type(exc), 500)
            cause = exc.args[0] if exc.args else exc
            if isinstance(cause, requests.RequestException):
                raise EngineError(0, f"engine unreachable at {self.base_url}: {cause}") from exc
            raise EngineError(status, str(exc)) from exc

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """A direct REST call; returns the decoded JSON body, or None for an empty answer.

        A call that lost an optimistic-locking race (another transaction changed the same
        process instance at the same moment, ENGINE-03005) was rolled back whole by the engine,
        so it is sent again under the one policy (:data:`gateway.retry.ENGINE_RETRY`).
        """
        return ENGINE_RETRY.run(
            lambda: self._call_once(method, path, **kwargs),
            lambda exc: (
                isinstance(exc, EngineError)
                and exc.status == 500
                and ENGINE_RETRY.lost_race(exc.message)
            ),
            f"{method} {path}",
        )

    def _call_once(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, self.base_url + path, **kwargs)
        except requests.RequestException as exc:
            raise EngineError(0, f"engine unreachable at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("message") or response.text
            except ValueError:
                message = response.text or response.reason
            raise EngineError(response.status_code, message)
        if response.status_code == 204 or not response.content:
            return None
        if "json" not in response.headers.get("content-type", "json"):
            return response.text
        return response.json()

    def is_up(self) -> bool:
        try:
            self.call("GET", "/engine")
            return True
        except EngineError:
            return False

    def wait_until_up(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if time.monotonic() > deadline:
                raise EngineError(0, f"engine at {self.base_url} not up after {timeout:.0f}s")
            time.sleep(0.5)

    # -- deployment -------------------------------------------------------------------------

    def deploy_folder(self, folder: Path, name: str) -> dict[str, Any]:
        """Deploy every BPMN, DMN and form of ``folder`` as one deployment.

        Duplicate filtering keeps an unchanged folder from creating new versions, so running this
        at every start is safe. pycamunda's deployment call ignores sessions (no auth, no timeout),
        hence the direct call.
        """
        files = sorted(p for p in folder.iterdir() if p.suffix in DEPLOYABLE_SUFFIXES)
        if not files:
            raise EngineError(0, f"nothing to deploy in {folder}")
        data = {
            "deployment-name": name,
            "enable-duplicate-filtering": "true",
            "deploy-changed-only": "true",
            "deployment-source": "postloanctl",
        }
        handles = [(p.name, (p.name, p.read_bytes(), "application/octet-stream")) for p in files]
        result = self.call("POST", "/deployment/create", data=data, files=handles)
        return result or {}

    # -- processes --------------------------------------------------------------------------

    def start_process(
        self, key: str, business_key: str, variables: dict[str, Any] | None = None
    ) -> str:
        """Start the latest version of process ``key``; returns the process instance id."""
        start = pycamunda.processdef.StartInstance(
            url=self.base_url, key=key, business_key=business_key
        )
        for name, value in (variables or {}).items():
            typed = to_engine(value)
            start.add_variable(name=name, value=typed["value"], type_=typed["type"])
        instance = self._pycamunda(start)
        return str(instance.id_)

    def correlate_message(
        self,
        message: str,
        business_key: str | None = None,
        variables: dict[str, Any] | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "messageName": message,
            "processVariables": {k: to_engine(v) for k, v in (variables or {}).items()},
        }
        if business_key:
            body["businessKey"] = business_key
        self.call("POST", "/message", json=body)

    def process_variables(self, process_instance_id: str) -> dict[str, Any]:
        return from_engine_all(
            self.call(
                "GET",
                f"/process-instance/{process_instance_id}/variables",
                params={"deserializeValues": "false"},
            )
        )

    def active_activities(self, process_instance_id: str) -> list[str]:
        """Ids of the activities the instance currently waits in (empty when it has ended)."""
        try:
            tree = self.call("GET", f"/process-instance/{process_instance_id}/activity-instances")
        except EngineError as exc:
            if exc.status == 404:
                return []
            raise
        found: list[str] = []

        def walk(node: dict[str, Any]) -> None:
            children = node.get("childActivityInstances") or []
            if not children and node.get("activityType") != "processDefinition":
                found.append(node["activityId"])
            for child in children:
                walk(child)

        walk(tree)
        return found

    def waiting_in(self, process_instance_ids: Collection[str]) -> dict[str, list[str]]:
        """``ActivityReader``: the activities each instance waits in, for a whole page at once.

        User tasks and external tasks are read in one query each (POST bodies, so a page of
        ids fits); an instance found in neither (waiting for a message, or between two steps)
        is read alone, as :meth:`active_activities` does. Ended instances map to ``[]``."""
        ids = sorted(set(process_instance_ids))
        found: dict[str, list[str]] = {i: [] for i in ids}
        if not ids:
            return found
        body = {"processInstanceIdIn": ids}
        max_results = {"maxResults": str(4 * len(ids))}
        for task in self.call("POST", "/task", params=max_results, json=body) or []:
            found.setdefault(task["processInstanceId"], []).append(task["taskDefinitionKey"])
        for task in self.call("POST", "/external-task", params=max_results, json=body) or []:
            found.setdefault(task["processInstanceId"], []).append(task["activityId"])
        for pid in ids:
            if not found[pid]:
                found[pid] = self.active_activities(pid)
        return {pid: sorted(set(activities)) for pid, activities in found.items()}

    def variables_of(
        self, process_instance_ids: Collection[str], names: Collection[str]
    ) -> dict[str, dict[str, Any]]:
        """``ActivityReader``: the named process variables of each running instance (one query
        per name for the whole page); an instance without the variable lacks the key."""
        ids = sorted(set(process_instance_ids))
        found: dict[str, dict[str, Any]] = {i: {} for i in ids}
        if not ids:
            return found
        for name in names:
            rows = (
                self.call(
                    "POST",
                    "/variable-instance",
                    params={"deserializeValues": "false", "maxResults": str(4 * len(ids))},
                    json={"processInstanceIdIn": ids, "variableName": name},
                )
                or []
            )
            for row in rows:
                # process-level variables only (a local one of a task or scope is not the truth)
                if row.get("executionId") == row.get("processInstanceId"):
                    found.setdefault(row["processInstanceId"], {})[name] = from_engine(row)
        return found

    # -- tasks ------------------------------------------------------------------------------

    def tasks(self, **filters: Any) -> list[dict[str, Any]]:
        """Tasks matching the REST task query (``processInstanceBusinessKey=...``, etc.)."""
        return list(self.call("GET", "/task", params=filters) or [])

    def task_variables(self, task_id: str) -> dict[str, Any]:
        # Serialized values, decoded by gateway.variables: deserialized ones come back untyped.
        return from_engine_all(
            self.call("GET", f"/task/{task_id}/variables", params={"deserializeValues": "false"})
        )

    def claim(self, task_id: str, user_id: str) -> None:
        self.call("POST", f"/task/{task_id}/claim", json={"userId": user_id})

    def set_assignee(self, task_id: str, user_id: str | None) -> None:
        self.call("POST", f"/task/{task_id}/assignee", json={"userId": user_id})

    def complete_task(self, task_id: str, variables: dict[str, Any] | None = None) -> None:
        self.call(
            "POST",
            f"/task/{task_id}/complete",
            json={"variables": {k: to_engine(v) for k, v in (variables or {}).items()}},
        )

    def submit_form(self, task_id: str, variables: dict[str, Any] | None = None) -> None:
        self.call(
            "POST",
            f"/task/{task_id}/submit-form",
            json={"variables": {k: to_engine(v) for k, v in (variables or {}).items()}},
        )

    # -- external tasks, incidents, history -------------------------------------------------

    def external_tasks(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.call("GET", "/external-task", params=filters) or [])

    def set_external_task_retries(self, external_task_id: str, retries: int) -> None:
        self.call("PUT", f"/external-task/{external_task_id}/retries", json={"retries": retries})

    def incidents(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.call("GET", "/incident", params=filters) or [])

    def historic_process_instances(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.call("GET", "/history/process-instance", params=filters) or [])

    def historic_activities(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.call("GET", "/history/activity-instance", params=filters) or [])

    def historic_tasks(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.call("GET", "/history/task", params=filters) or [])
