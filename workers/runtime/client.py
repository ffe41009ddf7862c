"""Talking to the engine's external-task API: fetch-and-lock, complete, failure, BPMN error,
extend-lock and unlock, each one HTTP call on a pooled, keep-alive connection.

camunda-external-task-client-python3 was the transport here; measured side by side
(``benchmarks/workers_side_by_side.py``) its per-call overhead (a new ``requests`` call path, INFO
log lines, response re-parsing) and its one-size configuration cost throughput for nothing, so the
calls are made directly. What it lacked is here: per-topic lock durations and variable lists in
one fetch, typed variables, extend-lock, unlock, one exception type carrying the engine's message.

The session's connection pool is sized for concurrent calls: the fetch loop's long poll holds one
connection while handler threads report outcomes on others, so a completion never waits for a
poll (``pool_size`` must exceed the worker's ``max_in_flight``; :class:`Worker` checks it).
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from gateway.retry import ENGINE_RETRY
from gateway.variables import to_engine_all

log = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 80  # above the largest max_in_flight settings allow (64) + 2


class TaskClientError(Exception):
    """The engine refused an external-task call, or could not be reached (status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class TaskClient:
    """External-task calls for one worker id, authenticated as the workers' technical user."""

    def __init__(
        self,
        base_url: str,
        worker_id: str,
        user: str,
        password: str,
        timeout: float = 10.0,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.worker_id = worker_id
        self.timeout = timeout
        self.pool_size = pool_size
        self.session = requests.Session()
        self.session.auth = (user, password)
        # One host: one pool, ``pool_size`` keep-alive connections that calls share.
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def fetch_and_lock(
        self,
        topics: list[dict[str, Any]],
        max_tasks: int,
        long_poll_ms: int,
        use_priority: bool = True,
    ) -> list[dict[str, Any]]:
        """Long-poll for up to ``max_tasks`` tasks of ``topics`` (name, lock, variables each)."""
        body = {
            "workerId": self.worker_id,
            "maxTasks": max_tasks,
            "usePriority": use_priority,
            "asyncResponseTimeout": long_poll_ms,
            "topics": [
                {"includeExtensionProperties": True, "deserializeValues": False} | topic
                for topic in topics
            ],
        }
        # The engine holds the request up to the long poll: the HTTP timeout comes on top.
        result = self._post("/external-task/fetchAndLock", body, long_poll_ms / 1000 + self.timeout)
        return list(result or [])

    def complete(self, task_id: str, variables: dict[str, Any] | None) -> None:
        self._outcome(
            f"/external-task/{task_id}/complete",
            {"workerId": self.worker_id, "variables": to_engine_all(variables)},
        )

    def failure(
        self, task_id: str, message: str, details: str, retries: int, retry_timeout_ms: int
    ) -> None:
        self._outcome(
            f"/external-task/{task_id}/failure",
            {
                "workerId": self.worker_id,
                "errorMessage": message,
                "errorDetails": details,
                "retries": retries,
                "retryTimeout": retry_timeout_ms,
            },
        )

    def bpmn_error(
        self, task_id: str, code: str, message: str, variables: dict[str, Any] | None
    ) -> None:
        self._outcome(
            f"/external-task/{task_id}/bpmnError",
            {
                "workerId": self.worker_id,
                "errorCode": code,
                "errorMessage": message,
                "variables": to_engine_all(variables),
            },
        )

    def _outcome(self, path: str, body: dict[str, Any]) -> None:
        """Report an outcome; one that lost an optimistic-locking race in the engine (another
        transaction touched the same process instance; rolled back whole) is sent again under
        the engine clients' one policy (:data:`gateway.retry.ENGINE_RETRY`)."""
        ENGINE_RETRY.run(
            lambda: self._post(path, body),
            lambda exc: isinstance(exc, TaskClientError) and ENGINE_RETRY.lost_race(str(exc)),
            f"outcome of task {path.split('/')[2]}",
        )

    def extend_lock(self, task_id: str, duration_ms: int) -> None:
        self._post(
            f"/external-task/{task_id}/extendLock",
            {"workerId": self.worker_id, "newDuration": duration_ms},
        )

    def unlock(self, task_id: str) -> None:
        self._post(f"/external-task/{task_id}/unlock", None)

    def close(self) -> None:
        self.session.close()

    def _post(self, path: str, body: dict[str, Any] | None, timeout: float | None = None) -> Any:
        """POST to the engine; every failure (refused, unreachable, unreadable) is a
        :class:`TaskClientError`."""
        try:
            response = self.session.post(
                self.base_url + path, json=body, timeout=timeout or self.timeout
            )
            return self._body(response)
        except requests.RequestException as exc:
            raise TaskClientError(0, f"engine unreachable: {exc}") from exc
        except ValueError as exc:  # a body that is not JSON
            raise TaskClientError(0, f"unreadable engine response: {exc}") from exc

    @staticmethod
    def _body(response: requests.Response) -> Any:
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise TaskClientError(response.status_code, message)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
