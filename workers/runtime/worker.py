"""The fetch loop: long polling, tasks in flight on threads, lock extension, graceful shutdown.

Throughput at the engine's ceiling comes from these rules (measured in
``benchmarks/workers_side_by_side.py``):

- a fetch costs the engine about as much as several completions, so a fetch should bring many
  tasks. The worker holds up to ``max_in_flight`` running handlers plus ``fetch_ahead`` tasks
  locked and waiting for a free handler; every fetch asks for exactly the room left
  (``maxTasks = max_in_flight + fetch_ahead - held``), and while tasks are still waiting it
  fetches again only once half of that capacity is free, so one fetch brings a batch;
- a handler thread reports its own outcome the moment the handler returns, on its own pooled
  connection (a pending long poll never delays a completion), then takes the next waiting task;
- idle, the long poll asks for the whole capacity and returns as soon as one task appears, so
  waiting for a batch never delays pickup.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gateway.variables import from_engine_all
from workers.runtime.client import TaskClient, TaskClientError
from workers.runtime.router import BusinessError, TopicHandler
from workers.runtime.settings import TopicSettingsMap
from workers.runtime.task import ExternalTask

log = logging.getLogger("workers")

MAX_ERROR_MESSAGE = 600  # the engine stores up to 4000 characters; keep incidents readable
ERROR_PAUSE_SECONDS = (1, 2, 5, 10, 30)
#: Defaults a bank gets without tuning; ``config.settings`` carries the same numbers.
DEFAULT_MAX_IN_FLIGHT = 8
DEFAULT_FETCH_AHEAD = 24
DEFAULT_LONG_POLL_MS = 10_000


@dataclass
class _InFlight:
    task: ExternalTask
    lock_ms: int
    locked_until: float
    abandoned: bool = False
    #: Set once the handler returned: the lock is no longer extended, so extending and
    #: reporting the outcome never race for the same task in the engine.
    finishing: bool = False
    guard: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)


class Worker:
    """Fetches tasks of the registered topics and runs their handlers, ``max_in_flight`` at once,
    with up to ``fetch_ahead`` more locked and waiting their turn (0: only as many as run)."""

    def __init__(
        self,
        client: TaskClient,
        handlers: dict[str, TopicHandler],
        topic_settings: TopicSettingsMap,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        fetch_ahead: int = DEFAULT_FETCH_AHEAD,
        long_poll_ms: int = DEFAULT_LONG_POLL_MS,
        shutdown_grace_seconds: float = 20.0,
    ) -> None:
        if not handlers:
            raise ValueError("a worker needs at least one topic handler")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if fetch_ahead < 0:
            raise ValueError("fetch_ahead must not be negative")
        pool = getattr(client, "pool_size", None)
        if isinstance(pool, int) and pool < max_in_flight + 2:
            # Handlers' outcomes, the long poll and the lock extender each need a connection.
            raise ValueError(f"the client's connection pool ({pool}) must exceed max_in_flight + 1")
        self.client = client
        self.handlers = handlers
        self.topic_settings = topic_settings
        self.max_in_flight = max_in_flight
        self.fetch_ahead = fetch_ahead
        self.capacity = max_in_flight + fetch_ahead
        #: While tasks wait, fetch again only once this much room is free (a batch, not one).
        self.batch = max(1, self.capacity // 2)
        self.long_poll_ms = long_poll_ms
        self.shutdown_grace_seconds = shutdown_grace_seconds
        self._stopping = threading.Event()
        #: Every task held: running on a handler thread or waiting in ``_waiting``.
        self._in_flight: dict[str, _InFlight] = {}
        self._waiting: deque[_InFlight] = deque()
        self._running = 0
        self._lock = threading.Condition()
        self._errors_in_a_row = 0

    # -- lifecycle --------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the worker to stop: no new fetches; :meth:`run` returns after draining."""
        if not self._stopping.is_set():
            log.info(
                "worker %s stopping: finishing %d task(s) in flight",
                self.client.worker_id,
                len(self._in_flight),
            )
        self._stopping.set()
        with self._lock:
            self._lock.notify_all()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the worker gracefully (main thread only)."""

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("received %s", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def run(self) -> None:
        """Fetch and handle tasks until :meth:`stop` is called, then drain and return."""
        log.info(
            "worker %s polling topics %s (up to %d in flight, %d fetched ahead)",
            self.client.worker_id,
            ", ".join(sorted(self.handlers)),
            self.max_in_flight,
            self.fetch_ahead,
        )
        ticker = threading.Thread(target=self._extend_locks, name="lock-extender", daemon=True)
        ticker.start()
        topics = self._topics()
        try:
            while not self._stopping.is_set():
                free = self._wait_for_room()
                if free == 0:
                    continue
                tasks = self._fetch(topics, free)
                for raw in tasks:
                    self._start(raw)
        finally:
            self._drain()
            log.info("worker %s stopped", self.client.worker_id)

    # -- fetching ---------------------------------------------------------------------------

    def _room(self) -> int:
        """How many tasks the next fetch may ask for now; 0 while it should wait (under lock).

        Full: wait. Tasks still waiting for a handler: wait until a batch's room is free. No
        task waiting (a handler may be idle): fetch whatever room there is."""
        free = self.capacity - len(self._in_flight)
        if free <= 0 or (self._waiting and free < self.batch):
            return 0
        return free

    def _wait_for_room(self) -> int:
        with self._lock:
            while not self._stopping.is_set() and self._room() == 0:
                self._lock.wait(timeout=1.0)
            return 0 if self._stopping.is_set() else self._room()

    def _topics(self) -> list[dict[str, Any]]:
        """The fetch's topic list, built once: name, lock duration and variables of each."""
        return [
            {
                "topicName": topic,
                "lockDuration": self.topic_settings[topic].lock_ms,
                "variables": list(handler.variables),
            }
            for topic, handler in self.handlers.items()
        ]

    def _fetch(self, topics: list[dict[str, Any]], max_tasks: int) -> list[dict[str, Any]]:
        """Up to ``max_tasks`` (the free slots) tasks; a long poll when none is available."""
        try:
            tasks = self.client.fetch_and_lock(topics, max_tasks, self.long_poll_ms)
        except TaskClientError as exc:
            self._errors_in_a_row += 1
            pause = ERROR_PAUSE_SECONDS[min(self._errors_in_a_row, len(ERROR_PAUSE_SECONDS)) - 1]
            log.warning("fetch failed (%s); retrying in %ss", exc, pause)
            self._stopping.wait(pause)
            return []
        self._errors_in_a_row = 0
        if self._stopping.is_set():
            # Stopped during the long poll: give back what arrived instead of sitting on it.
            for raw in tasks:
                self._unlock(raw["id"], "worker stopping before it started")
            return []
        return tasks

    def _start(self, raw: dict[str, Any]) -> None:
        topic = raw["topicName"]
        settings = self.topic_settings[topic]
        task = ExternalTask(
            id=raw["id"],
            topic=topic,
            worker_id=self.client.worker_id,
            business_key=raw.get("businessKey"),
            process_instance_id=raw["processInstanceId"],
            process_definition_key=raw.get("processDefinitionKey"),
            activity_id=raw.get("activityId", ""),
            retries=raw.get("retries"),
            priority=raw.get("priority", 0),
            variables=from_engine_all(raw.get("variables")),
            extension_properties=raw.get("extensionProperties") or {},
        )
        entry = _InFlight(task, settings.lock_ms, time.monotonic() + settings.lock_ms / 1000)
        task._extend = lambda ms, entry=entry: self._extend(entry, ms)
        with self._lock:
            self._in_flight[task.id] = entry
            if self._running >= self.max_in_flight:
                self._waiting.append(entry)  # locked; the next free handler thread takes it
                return
            self._running += 1
        threading.Thread(
            target=self._run_handlers, args=(entry,), name=f"task-{task.id[:8]}", daemon=True
        ).start()

    def _run_handlers(self, entry: _InFlight) -> None:
        """One handler thread: the task it was started for, then each waiting one in turn."""
        current: _InFlight | None = entry
        while current is not None:
            current.started = time.monotonic()
            try:
                self._handle(current)
            finally:
                with self._lock:
                    more = self._waiting and not self._stopping.is_set()  # stopping: _drain
                    current = self._waiting.popleft() if more else None
                    if current is None:
                        self._running -= 1
                    self._lock.notify_all()

    # -- handling ---------------------------------------------------------------------------

    def _handle(self, entry: _InFlight) -> None:
        task = entry.task
        handler = self.handlers[task.topic]
        where = f"{task.topic} task {task.id} (business key {task.business_key})"
        try:
            try:
                output = handler(task)
            except BusinessError as error:
                self._finishing(entry)
                if not entry.abandoned:
                    self.client.bpmn_error(task.id, error.code, error.message, error.variables)
                log.info("%s: business error %s: %s", where, error.code, error.message)
                return
            except Exception as exc:  # noqa: BLE001 — every handler failure is reported
                self._finishing(entry)
                if not entry.abandoned:
                    self._report_failure(task, exc)
                return
            self._finishing(entry)
            if entry.abandoned:
                log.warning("%s finished after shutdown gave it back; result dropped", where)
                return
            self.client.complete(task.id, output or {})
            log.info("%s completed in %.0f ms", where, (time.monotonic() - entry.started) * 1000)
        except TaskClientError as exc:
            # The engine did not take the outcome; the lock expires and the task comes back.
            log.error("%s: could not report the outcome to the engine: %s", where, exc)
        finally:
            with self._lock:
                self._in_flight.pop(task.id, None)
                self._lock.notify_all()

    def _report_failure(self, task: ExternalTask, exc: Exception) -> None:
        settings = self.topic_settings[task.topic]
        remaining_before = task.retries if task.retries is not None else settings.retries
        remaining = max(remaining_before - 1, 0)
        failed_attempts = settings.retries - remaining
        delay = settings.backoff_for(failed_attempts) if remaining else 0
        message = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_MESSAGE]
        details = "".join(traceback.format_exception(exc))
        self.client.failure(task.id, message, details, remaining, delay)
        if remaining:
            log.warning(
                "%s task %s failed (%s); %d retr%s left, next in %.1fs",
                task.topic,
                task.id,
                message,
                remaining,
                "y" if remaining == 1 else "ies",
                delay / 1000,
            )
        else:
            log.error(
                "%s task %s failed (%s); no retries left: incident raised",
                task.topic,
                task.id,
                message,
            )

    # -- locks ------------------------------------------------------------------------------

    @staticmethod
    def _finishing(entry: _InFlight) -> None:
        """No more lock extensions: wait for one under way, then let the outcome go out."""
        with entry.guard:
            entry.finishing = True

    def _extend(self, entry: _InFlight, duration_ms: int) -> None:
        with entry.guard:
            if entry.finishing:
                return
            self.client.extend_lock(entry.task.id, duration_ms)
            entry.locked_until = time.monotonic() + duration_ms / 1000

    def _extend_locks(self) -> None:
        """Extend the lock of every task whose handler has used half of it."""
        while True:
            time.sleep(0.5)
            with self._lock:
                entries = list(self._in_flight.values())
            now = time.monotonic()
            for entry in entries:
                if (
                    entry.abandoned
                    or entry.finishing
                    or entry.locked_until - now > entry.lock_ms / 2000
                ):
                    continue
                try:
                    self._extend(entry, entry.lock_ms)
                    log.info(
                        "%s task %s still running: lock extended by %d ms",
                        entry.task.topic,
                        entry.task.id,
                        entry.lock_ms,
                    )
                except TaskClientError as exc:
                    log.warning("could not extend lock of task %s: %s", entry.task.id, exc)

    def _unlock(self, task_id: str, why: str) -> None:
        try:
            self.client.unlock(task_id)
            log.info("task %s unlocked: %s", task_id, why)
        except TaskClientError as exc:
            log.warning("could not unlock task %s (%s): its lock will expire", task_id, exc)

    def _drain(self) -> None:
        """Give back the tasks still waiting at once; let running handlers finish within the
        grace period; give back the rest."""
        with self._lock:
            waiting = list(self._waiting)
            self._waiting.clear()
            for entry in waiting:
                entry.abandoned = True
                self._in_flight.pop(entry.task.id, None)
        for entry in waiting:
            self._unlock(entry.task.id, "worker stopping before it started")
        deadline = time.monotonic() + self.shutdown_grace_seconds
        with self._lock:
            while self._in_flight and time.monotonic() < deadline:
                self._lock.wait(timeout=max(deadline - time.monotonic(), 0.01))
            leftovers = list(self._in_flight.values())
            for entry in leftovers:
                entry.abandoned = True
        for entry in leftovers:
            self._unlock(entry.task.id, "still running when the shutdown grace period ended")
