"""The worker runtime against the real engine: failures, incidents, types, locks, shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for

from workers.runtime import (
    BusinessError,
    TaskClient,
    TopicRouter,
    TopicSettings,
    Worker,
    merge_routers,
)
from workers.runtime.settings import TopicSettingsMap

pytestmark = pytest.mark.engine
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def probe(admin) -> Any:
    """Deploys the test-only probe process (not part of bpmn/)."""
    path = HERE / "fixtures" / "runtime_probe.bpmn"
    admin.call(
        "POST",
        "/deployment/create",
        data={"deployment-name": "runtime-probe", "enable-duplicate-filtering": "true"},
        files=[(path.name, (path.name, path.read_bytes(), "application/octet-stream"))],
    )
    return admin


@contextmanager
def run_worker(
    settings, router: TopicRouter, topic: TopicSettings, **kwargs: Any
) -> Iterator[Worker]:
    client = TaskClient(
        settings.engine_url,
        f"test-{time.monotonic_ns()}",
        settings.engine_worker_user,
        settings.engine_worker_password.get_secret_value(),
    )
    worker = Worker(
        client, merge_routers([router]), TopicSettingsMap(topic, {}), long_poll_ms=2000, **kwargs
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=15)
        assert not thread.is_alive(), "worker did not stop"


def external_task(admin, pid: str) -> dict | None:
    found = admin.external_tasks(processInstanceId=pid)
    return found[0] if found else None


def test_handler_exception_retries_with_backoff_then_raises_an_incident(provisioned, probe):
    calls: list[float] = []
    router = TopicRouter()

    @router.topic("probe.work")
    def fail() -> dict:
        calls.append(time.monotonic())
        raise RuntimeError("vendor server said no")

    settings = TopicSettings(lock_ms=10_000, retries=3, backoff_ms=300, max_backoff_ms=1000)
    with run_worker(provisioned, router, settings):
        pid = probe.start_process("runtime_probe", "probe-fail")
        incident = wait_for(
            lambda: probe.incidents(processInstanceId=pid), timeout=30, what="an incident"
        )[0]
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.25 and calls[2] - calls[1] >= 0.55  # 300 ms, then 600 ms
    assert incident["incidentType"] == "failedExternalTask"
    assert incident["incidentMessage"] == "RuntimeError: vendor server said no"
    task = external_task(probe, pid)
    assert task["retries"] == 0 and "vendor server said no" in task["errorMessage"]
    details = probe.call("GET", f"/external-task/{task['id']}/errorDetails")
    assert "Traceback" in str(details) and "fail" in str(details)

    # An operator fixes the cause and gives the task retries back: it then runs again.
    probe.set_external_task_retries(task["id"], 1)
    done = TopicRouter()
    done.topic("probe.work")(lambda: {"fixed": True})
    with run_worker(provisioned, done, settings):
        wait_for(
            lambda: probe.historic_activities(processInstanceId=pid, activityId="probe_done"),
            what="the repaired task to complete",
        )


def test_business_error_becomes_a_bpmn_error_caught_by_the_boundary_event(provisioned, probe):
    router = TopicRouter()

    @router.topic("probe.work")
    def reject() -> dict:
        raise BusinessError("PROBE_REJECTED", "the loan is not ours", {"why": "sold"})

    with run_worker(provisioned, router, TopicSettings()):
        pid = probe.start_process("runtime_probe", "probe-bpmn-error")
        wait_for(
            lambda: probe.historic_activities(
                processInstanceId=pid, activityId="probe_rejected_end"
            ),
            what="the error end event",
        )
    assert probe.incidents(processInstanceId=pid) == []


def test_variables_keep_their_types_both_ways(provisioned, probe):
    seen: dict[str, Any] = {}
    router = TopicRouter()

    @router.topic("probe.work")
    def echo(payload: dict, due: datetime, flag: bool, count: int, ratio: float) -> dict:
        seen.update(payload=payload, due=due, flag=flag, count=count, ratio=ratio)
        return {
            "out_json": {"items": [1, 2], "ok": True},
            "out_date": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
            "out_flag": False,
            "out_int": 7,
            "out_long": 2**40,
            "out_double": 0.25,
            "out_none": None,
        }

    due = datetime(2026, 12, 31, 23, 59, 58, 123000, tzinfo=UTC)
    with run_worker(provisioned, router, TopicSettings()):
        pid = probe.start_process(
            "runtime_probe",
            "probe-types",
            {
                "payload": {"loan": "L1", "amounts": [1.5, 2]},
                "due": due,
                "flag": True,
                "count": 3,
                "ratio": 0.5,
            },
        )
        wait_for(
            lambda: probe.historic_activities(processInstanceId=pid, activityId="probe_done"),
            what="completion",
        )
    assert seen == {
        "payload": {"loan": "L1", "amounts": [1.5, 2]},
        "due": due,
        "flag": True,
        "count": 3,
        "ratio": 0.5,
    }
    stored = {
        v["name"]: v
        for v in probe.call(
            "GET",
            "/history/variable-instance",
            params={"processInstanceId": pid, "deserializeValues": "false"},
        )
    }
    types = {name: stored[name]["type"] for name in stored if name.startswith("out_")}
    assert types == {
        "out_json": "Json",
        "out_date": "Date",
        "out_flag": "Boolean",
        "out_int": "Integer",
        "out_long": "Long",
        "out_double": "Double",
        "out_none": "Null",
    }
    assert stored["out_flag"]["value"] is False


def test_lock_is_extended_while_a_long_handler_runs(provisioned, probe):
    calls = []
    router = TopicRouter()

    @router.topic("probe.work")
    def slow() -> dict:
        calls.append(1)
        time.sleep(4)
        return {}

    with run_worker(provisioned, router, TopicSettings(lock_ms=1500), max_in_flight=2):
        pid = probe.start_process("runtime_probe", "probe-slow")
        first = wait_for(
            lambda: (t := external_task(probe, pid)) and t["lockExpirationTime"] and t,
            what="the task to be locked",
        )["lockExpirationTime"]
        time.sleep(2.5)
        later = external_task(probe, pid)["lockExpirationTime"]
        wait_for(
            lambda: probe.historic_activities(processInstanceId=pid, activityId="probe_done"),
            what="completion",
        )
    assert later > first
    assert calls == [1], "the task was delivered again: its lock expired"


def start_probe_worker(sleep: float, grace: float, long_poll_ms: int = 3000) -> subprocess.Popen:
    root = str(HERE.parent.parent)
    env = {
        **os.environ,
        "POSTLOAN_WORKER_SHUTDOWN_GRACE_SECONDS": str(grace),
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, str(HERE / "probe_worker.py"), str(sleep), str(long_poll_ms)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until_locked(admin, pid: str) -> dict:
    return wait_for(
        lambda: (t := external_task(admin, pid)) and t["workerId"] and t,
        what="the probe worker to lock the task",
    )


def test_sigterm_mid_task_unlocks_what_cannot_finish_in_the_grace_period(provisioned, probe):
    proc = start_probe_worker(sleep=60, grace=0.5)
    try:
        pid = probe.start_process("runtime_probe", "probe-sigterm-unlock")
        wait_until_locked(probe, pid)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, output
    task = external_task(probe, pid)
    assert task["workerId"] is None and task["lockExpirationTime"] is None, task
    assert probe.incidents(processInstanceId=pid) == []
    assert "unlocked" in output


def test_sigterm_mid_task_lets_it_finish_within_the_grace_period(provisioned, probe):
    proc = start_probe_worker(sleep=2, grace=20)
    try:
        pid = probe.start_process("runtime_probe", "probe-sigterm-finish")
        wait_until_locked(probe, pid)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, output
    assert probe.historic_activities(processInstanceId=pid, activityId="probe_done"), output
    assert external_task(probe, pid) is None
