"""The fetch loop asks for exactly the free slots, and completions never wait for a long poll."""

from __future__ import annotations

import threading
from typing import Any

from workers.runtime.router import TopicHandler
from workers.runtime.settings import TopicSettings, TopicSettingsMap
from workers.runtime.worker import Worker


def _raw(task_id: str) -> dict[str, Any]:
    return {"id": task_id, "topicName": "t", "processInstanceId": "pi-" + task_id}


class FakeClient:
    """First fetch hands out one task; the next fetches block like a long poll until released."""

    worker_id = "fake"

    def __init__(self) -> None:
        self.max_tasks: list[int] = []
        self.completed: list[str] = []
        self.polling = threading.Event()
        self.release_poll = threading.Event()
        self.completed_during_poll = threading.Event()

    def fetch_and_lock(
        self, topics: list[dict[str, Any]], max_tasks: int, long_poll_ms: int
    ) -> list[dict[str, Any]]:
        self.max_tasks.append(max_tasks)
        if len(self.max_tasks) == 1:
            return [_raw("a")]
        self.polling.set()
        self.release_poll.wait(5)
        return []

    def complete(self, task_id: str, variables: dict[str, Any] | None) -> None:
        self.completed.append(task_id)
        if self.polling.is_set() and not self.release_poll.is_set():
            self.completed_during_poll.set()

    def unlock(self, task_id: str) -> None:  # pragma: no cover - not expected
        pass


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
