"""The task client's pooled session carries a completion while a long poll holds a connection."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from workers.runtime.client import TaskClient, TaskClientError
from workers.runtime.router import TopicHandler
from workers.runtime.settings import TopicSettings, TopicSettingsMap
from workers.runtime.worker import Worker

RELEASE = threading.Event()
POLLING = threading.Event()  # a fetchAndLock has reached the fake engine and is held there
SEEN: list[tuple[str, Any]] = []


class FakeEngine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        SEEN.append((self.path, body))
        if self.path.endswith("/fetchAndLock"):
            POLLING.set()
            RELEASE.wait(10)  # a long poll with nothing to hand out
            payload = b"[]"
            self.send_response(200)
        elif self.path.endswith("/missing/complete"):
            payload = json.dumps({"type": "RestException", "message": "task not found"}).encode()
            self.send_response(404)
        else:
            payload = b""
            self.send_response(204)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def engine_url() -> Any:
    RELEASE.clear()
    POLLING.clear()
    SEEN.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/engine-rest"
    RELEASE.set()
    server.shutdown()


def test_complete_goes_out_while_a_long_poll_is_pending(engine_url: str) -> None:
    client = TaskClient(engine_url, "w1", "u", "p", timeout=5)
    poll = threading.Thread(
        target=client.fetch_and_lock, args=([{"topicName": "t", "lockDuration": 1000}], 3, 9000)
    )
    poll.start()
    try:
        # The completion must go out while the poll is held, not before it has arrived (on a
        # busy machine the poll's thread can be the later one to reach the engine).
        assert POLLING.wait(5), "the long poll never reached the engine"
        done = threading.Event()
        threading.Thread(target=lambda: (client.complete("abc", {"x": 1}), done.set())).start()
        assert done.wait(3), "the completion waited for the long poll"
        fetch = next(body for path, body in SEEN if path.endswith("/fetchAndLock"))
        assert fetch["maxTasks"] == 3 and fetch["asyncResponseTimeout"] == 9000
        assert fetch["workerId"] == "w1" and fetch["topics"][0]["topicName"] == "t"
        complete = next(body for path, body in SEEN if path.endswith("/abc/complete"))
        assert complete["workerId"] == "w1" and complete["variables"]["x"]["value"] == 1
    finally:
        RELEASE.set()
        poll.join(5)


def test_an_engine_refusal_carries_its_status_and_message(engine_url: str) -> None:
    client = TaskClient(engine_url, "w1", "u", "p", timeout=5)
    with pytest.raises(TaskClientError) as refused:
        client.complete("missing", {})
    assert refused.value.status == 404 and "task not found" in str(refused.value)


def test_a_pool_smaller_than_the_tasks_in_flight_is_refused() -> None:
    client = TaskClient("http://127.0.0.1:9/engine-rest", "w", "u", "p", pool_size=4)
    with pytest.raises(ValueError, match="connection pool"):
        Worker(
            client,
            {"t": TopicHandler("t", lambda: None, ())},
            TopicSettingsMap(TopicSettings(), {}),
            max_in_flight=8,
        )
