"""The one retry policy for ENGINE-03005, and both engine clients using it (no engine: the
clients' single sends are replaced by fakes)."""

from __future__ import annotations

import pytest

from gateway import retry
from gateway.engine import EngineError, EngineGateway
from gateway.retry import ENGINE_RETRY, OptimisticLockingRetry
from workers.runtime.client import TaskClient, TaskClientError

LOST = "ENGINE-03005 Entity was updated by another transaction concurrently."


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry.time, "sleep", lambda seconds: None)


def _flaky(failures: list[Exception], result: str = "ok"):  # type: ignore[no-untyped-def]
    calls = []

    def call() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return call, calls


def test_a_lost_race_is_sent_again_up_to_the_attempts():
    policy = OptimisticLockingRetry(attempts=3)
    call, calls = _flaky([RuntimeError(LOST), RuntimeError(LOST)])
    assert policy.run(call, lambda e: policy.lost_race(str(e)), "test") == "ok"
    assert len(calls) == 3

    call, calls = _flaky([RuntimeError(LOST)] * 3)
    with pytest.raises(RuntimeError, match="ENGINE-03005"):
        policy.run(call, lambda e: policy.lost_race(str(e)), "test")
    assert len(calls) == 3


def test_any_other_failure_is_raised_at_once():
    call, calls = _flaky([RuntimeError("ENGINE-13005 something else")])
    with pytest.raises(RuntimeError):
        ENGINE_RETRY.run(call, lambda e: ENGINE_RETRY.lost_race(str(e)), "test")
    assert len(calls) == 1


def test_the_gateway_retries_only_a_500_naming_the_code(monkeypatch: pytest.MonkeyPatch):
    engine = EngineGateway("http://127.0.0.1:9", "u", "p", timeout=1)
    failures = [EngineError(500, LOST)]
    call, calls = _flaky(failures, result="body")
    monkeypatch.setattr(engine, "_call_once", lambda method, path, **kw: call())
    assert engine.call("GET", "/x") == "body" and len(calls) == 2

    failures.append(EngineError(400, LOST))  # not the engine's rollback: no second send
    with pytest.raises(EngineError):
        engine.call("GET", "/x")
    assert len(calls) == 3


def test_the_task_client_retries_an_outcome_that_lost_the_race(monkeypatch: pytest.MonkeyPatch):
    client = TaskClient("http://127.0.0.1:9", "w", "u", "p", timeout=1)
    failures = [TaskClientError(500, LOST), TaskClientError(500, LOST)]
    call, calls = _flaky(failures)
    monkeypatch.setattr(client, "_post", lambda path, body, timeout=None: call())
    client.complete("task-1", {})
    assert len(calls) == 3

    failures.append(TaskClientError(404, "task not found"))
    with pytest.raises(TaskClientError):
        client.complete("task-1", {})
    assert len(calls) == 4
