"""The fetch loop asks for exactly the room left (running plus fetched ahead), fetches in batches while
tasks wait, hands waiting tasks to free handler threads, gives them back on stop, and completions
never wait for a long poll."""

from __future__ import annotations

import threading
import time
from typing import Any

from workers.runtime.router import TopicHandler
from workers.runtime.settings import TopicSettings, TopicSettingsMap
from workers.runtime.worker import Worker


def _raw(task_id: str) -> dict[str, Any]:
    return {"id": task_id, "topicName": "t", "processInstanceId": "pi-" + task_id}


class BatchClient:
    """Hands out the tasks ``ids`` on the first fetch, then blocks each later fetch (a long poll)
    until released, recording how many tasks each fetch asked for."""

    worker_id = "fake"

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.max_tasks: list[int] = []
        self.completed: list[str] = []
        self.unlocked: list[str] = []
        self.second_fetch = threading.Event()
        self.release_poll = threading.Event()
        self.guard = threading.Lock()

    def fetch_and_lock(
        self, topics: list[dict[str, Any]], max_tasks: int, long_poll_ms: int
    ) -> list[dict[str, Any]]:
        self.max_tasks.append(max_tasks)
        if len(self.max_tasks) == 1:
            return [_raw(task_id) for task_id in self.ids]
        self.second_fetch.set()
        self.release_poll.wait(5)
        return []

    def complete(self, task_id: str, variables: dict[str, Any] | None) -> None:
        with self.guard:
            self.completed.append(task_id)

    def unlock(self, task_id: str) -> None:
        with self.guard:
            self.unlocked.append(task_id)


class FakeClient(BatchClient):
    """First fetch hands out one task; notes a completion reported during the long poll."""

    def __init__(self) -> None:
        super().__init__(["a"])
        self.polling = self.second_fetch
        self.completed_during_poll = threading.Event()

    def complete(self, task_id: str, variables: dict[str, Any] | None) -> None:
        super().complete(task_id, variables)
        if self.polling.is_set() and not self.release_poll.is_set():
            self.completed_during_poll.set()


def test_fetch_asks_for_free_slots_and_completion_does_not_wait_for_the_poll() -> None:
    client = FakeClient()
    handler_may_finish = threading.Event()

    def handle() -> dict[str, Any]:
        handler_may_finish.wait(5)
        return {}

    worker = Worker(
        client,  # type: ignore[arg-type]
        {"t": TopicHandler("t", handle, ())},
        TopicSettingsMap(TopicSettings(), {}),
        max_in_flight=4,
        fetch_ahead=0,
        long_poll_ms=10_000,
        shutdown_grace_seconds=2,
    )
    runner = threading.Thread(target=worker.run, daemon=True)
    runner.start()
    try:
        assert client.polling.wait(5), "the second fetch never started"
        # One task in flight out of four: the long poll asks for the three free slots.
        assert client.max_tasks == [4, 3]
        handler_may_finish.set()
        assert client.completed_during_poll.wait(5), "completion waited for the long poll"
        assert client.completed == ["a"]
    finally:
        worker.stop()
        client.release_poll.set()
        runner.join(10)
    assert not runner.is_alive()


def _batch_worker(client: BatchClient, handle: Any) -> Worker:
    return Worker(
        client,  # type: ignore[arg-type]
        {"t": TopicHandler("t", handle, ())},
        TopicSettingsMap(TopicSettings(), {}),
        max_in_flight=2,
        fetch_ahead=4,
        long_poll_ms=10_000,
        shutdown_grace_seconds=2,
    )


def test_tasks_fetched_ahead_wait_for_a_handler_and_the_next_fetch_waits_for_a_batch() -> None:
    """Capacity 2 + 4: the first fetch asks for 6 and gets 6; two run, four wait. The next fetch
    comes only once half the capacity (3) is free, and asks for all the room there is then."""
    client = BatchClient([f"t{n}" for n in range(6)])
    running: list[str] = []
    gate = threading.Semaphore(0)
    seen = threading.Lock()
    peak = [0]

    def handle(task: Any) -> dict[str, Any]:
        with seen:
            running.append(task.id)
            peak[0] = max(peak[0], len(running))
        gate.acquire(timeout=5)
        with seen:
            running.remove(task.id)
        return {}

    worker = _batch_worker(client, handle)
    runner = threading.Thread(target=worker.run, daemon=True)
    runner.start()
    try:
        for released in range(1, 4):
            gate.release()  # one handler finishes; its thread takes a waiting task
            time.sleep(0.2)
            if released < 3:
                assert not client.second_fetch.is_set(), f"fetched after only {released} free"
        assert client.second_fetch.wait(5), "no fetch once half the capacity was free"
        assert client.max_tasks[0] == 6
        assert client.max_tasks[1] >= 3
        for _ in range(3):
            gate.release()
        deadline = time.monotonic() + 5
        while len(client.completed) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(client.completed) == [f"t{n}" for n in range(6)]
        assert peak[0] == 2  # never more handlers than max_in_flight
    finally:
        worker.stop()
        client.release_poll.set()
        runner.join(10)
    assert not runner.is_alive()
    assert client.unlocked == []


def test_stopping_gives_back_the_tasks_still_waiting_without_running_them() -> None:
    client = BatchClient([f"t{n}" for n in range(5)])
    started: list[str] = []
    finish = threading.Event()

    def handle(task: Any) -> dict[str, Any]:
        started.append(task.id)
        finish.wait(5)
        return {}

    worker = _batch_worker(client, handle)
    runner = threading.Thread(target=worker.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 5
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        worker.stop()
        client.release_poll.set()
        finish.set()
        runner.join(10)
    finally:
        finish.set()
        client.release_poll.set()
    assert not runner.is_alive()
    assert sorted(started) == ["t0", "t1"]
    assert sorted(client.completed) == ["t0", "t1"]
    assert sorted(client.unlocked) == ["t2", "t3", "t4"]
