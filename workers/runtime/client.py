"""Talking to the engine's external-task API, over camunda-external-task-client-python3.

The library's :class:`ExternalTaskClient` does fetch-and-lock, complete, failure and BPMN error.
Around it this adds what it lacks or gets wrong: per-topic lock durations and variable lists in
one fetch, typed variables, extend-lock, unlock, one exception type with the engine's message, and
a pooled HTTP connection instead of a new one per call.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from camunda.client import external_task_client as library

from gateway.retry import ENGINE_RETRY
from gateway.variables import to_engine_all

log = logging.getLogger(__name__)


class TaskClientError(Exception):
    """The engine refused an external-task call, or could not be reached (status 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _PooledRequests:
    """Stands in for the ``requests`` module inside the library: same calls, one session.

    The library calls ``requests.post`` for every request, opening a new TCP connection each time.
    """

    def __init__(self) -> None:
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.post(url, **kwargs)


class _LibraryClient(library.ExternalTaskClient):
    """The library client with per-topic settings in one fetch."""

    def _get_topics(self, topic_names: Any, process_variables: Any, variables: Any) -> Any:
        # ``topic_names`` here is our list of topic dicts, already complete.
        return topic_names


_pooled = _PooledRequests()
library.requests = _pooled  # the library's module-level requests


class TaskClient:
    """External-task calls for one worker id, authenticated as the workers' technical user."""

    def __init__(
        self, base_url: str, worker_id: str, user: str, password: str, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.worker_id = worker_id
        self.timeout = timeout
        self._auth = (user, password)
        self._library = _LibraryClient(
            worker_id,
            self.base_url,
            {
                "auth_basic": {"username": user, "password": password},
                "httpTimeoutMillis": int(timeout * 1000),
                "timeoutDeltaMillis": int(timeout * 1000),
                "includeExtensionProperties": True,
                "deserializeValues": False,
            },
        )

    def fetch_and_lock(
        self,
        topics: list[dict[str, Any]],
        max_tasks: int,
        long_poll_ms: int,
        use_priority: bool = True,
    ) -> list[dict[str, Any]]:
        """Long-poll for up to ``max_tasks`` tasks of ``topics`` (name, lock, variables each)."""
        self._library.config["maxTasks"] = max_tasks
        self._library.config["asyncResponseTimeout"] = long_poll_ms
        self._library.config["usePriority"] = use_priority
        for topic in topics:
            topic.setdefault("includeExtensionProperties", True)
            topic.setdefault("deserializeValues", False)
        return list(self._guard(self._library.fetch_and_lock, topics) or [])

    def complete(self, task_id: str, variables: dict[str, Any] | None) -> None:
        self._outcome(self._library.complete, task_id, to_engine_all(variables))

    def failure(
        self, task_id: str, message: str, details: str, retries: int, retry_timeout_ms: int
    ) -> None:
        self._outcome(self._library.failure, task_id, message, details, retries, retry_timeout_ms)

    def bpmn_error(
        self, task_id: str, code: str, message: str, variables: dict[str, Any] | None
    ) -> None:
        self._outcome(self._library.bpmn_failure, task_id, code, message, to_engine_all(variables))

    def _outcome(self, func: Any, *args: Any) -> None:
        """Report an outcome; one that lost an optimistic-locking race in the engine (another
        transaction touched the same process instance; rolled back whole) is sent again under
        the engine clients' one policy (:data:`gateway.retry.ENGINE_RETRY`)."""
        ENGINE_RETRY.run(
            lambda: self._guard(func, *args),
            lambda exc: isinstance(exc, TaskClientError) and ENGINE_RETRY.lost_race(str(exc)),
            f"outcome of task {args[0]}",
        )

    def extend_lock(self, task_id: str, duration_ms: int) -> None:
        self._post(
            f"/external-task/{task_id}/extendLock",
            {"workerId": self.worker_id, "newDuration": duration_ms},
        )

    def unlock(self, task_id: str) -> None:
        self._post(f"/external-task/{task_id}/unlock", None)

    def _post(self, path: str, body: dict[str, Any] | None) -> None:
        def call() -> None:
            response = _pooled.session.post(
                self.base_url + path, json=body, auth=self._auth, timeout=self.timeout
            )
            if response.status_code >= 400:
                try:
                    message = response.json().get("message", response.text)
                except ValueError:
                    message = response.text
                raise TaskClientError(response.status_code, message)

        self._guard(call)

    @staticmethod
    def _guard(func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except TaskClientError:
            raise
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            raise TaskClientError(status, str(exc)) from exc
        except requests.RequestException as exc:
            raise TaskClientError(0, f"engine unreachable: {exc}") from exc
        except Exception as exc:  # the library raises bare Exception("received 500 : ...")
            text = str(exc)
            match = re.match(r"received (\d{3})", text)
            raise TaskClientError(int(match.group(1)) if match else 0, text) from exc
