"""The supervisor of `postloanctl up`, with throwaway child processes (and fakes for the clock)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from postloanctl.supervisor import Backoff, Supervisor, describe_exit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
FAILER = [sys.executable, "-c", "raise SystemExit(3)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, "
    "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)",
]


def wait_for(
    condition: Callable[[], object], supervisor: Supervisor | None = None, timeout: float = 10.0
) -> None:
    """Poll the supervisor (if given) until ``condition()`` holds, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if supervisor is not None:
            supervisor.poll()
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every process a test spawned; any left over are killed, so no test leaks a child."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for p in processes:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.fixture
def spawner(
    spawned: list[subprocess.Popen[bytes]],
) -> Callable[..., Callable[[], subprocess.Popen[bytes]]]:
    def make(argv: list[str], calls: list[float] | None = None, **kwargs: object):
        def spawn() -> subprocess.Popen[bytes]:
            if calls is not None:
                calls.append(time.monotonic())
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kwargs)
            spawned.append(p)
            return p

        return spawn

    return make


def test_a_killed_child_is_restarted_after_the_backoff_and_the_other_is_untouched(
    tmp_path: Path,
    spawner,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO, logger="postloanctl.supervisor")
    status_file = tmp_path / "postloan.status.json"
    supervisor = Supervisor(Backoff(initial=0.3, maximum=5), status_file=status_file)
    try:
        spawns: list[float] = []
        workers = supervisor.add(
            "workers", spawner(SLEEPER, spawns), tmp_path / "workers.log", grace=5
        )
        api = supervisor.add("api", spawner(SLEEPER), tmp_path / "api.log", grace=5)
        first_workers, api_process = workers.process, api.process
        status = json.loads(status_file.read_text())
        assert status["components"]["workers"] == {
            "state": "running",
            "pid": first_workers.pid,
            "restarts": 0,
            "last_exit": None,
            "restart_in_seconds": None,
            "log": str(tmp_path / "workers.log"),
        }

        os.kill(first_workers.pid, signal.SIGKILL)
        before = time.monotonic()
        wait_for(lambda: workers.state == "restarting", supervisor)
        due = workers.restart_at
        assert before + 0.3 <= due <= time.monotonic() + 0.3  # noticed now, due in 0.3 s
        status = json.loads(status_file.read_text())["components"]["workers"]
        assert status["state"] == "restarting" and status["last_exit"] == "killed by SIGKILL"
        assert 0 < status["restart_in_seconds"] <= 0.3
        wait_for(lambda: workers.state == "running", supervisor)
        assert len(spawns) == 2 and spawns[1] >= due  # restarted only once the backoff was over

        assert workers.process.pid != first_workers.pid and alive(workers.process.pid)
        assert workers.restarts == 1
        assert api.process is api_process and alive(api_process.pid) and api.restarts == 0
        messages = [r.getMessage() for r in caplog.records]
        death = [m for m in messages if "died" in m]
        assert len(death) == 1 and death[0].startswith(f"workers (pid {first_workers.pid}) died")
        assert "killed by SIGKILL" in death[0] and str(tmp_path / "workers.log") in death[0]
        assert "restarting in 0.3s (restart #1" in death[0]
        assert f"workers restarted (pid {workers.process.pid}, restart #1" in messages[-1]
        status = json.loads(status_file.read_text())["components"]
        assert status["workers"]["pid"] == workers.process.pid
        assert status["workers"]["restarts"] == 1 and status["api"]["restarts"] == 0
    finally:
        supervisor.stop()
    for component in (workers, api):
        assert component.process.returncode == -signal.SIGTERM
        assert not alive(component.process.pid)
    assert json.loads(status_file.read_text())["state"] == "stopping"


def test_a_child_that_keeps_dying_backs_off_increasingly(spawner, caplog):
    caplog.set_level(logging.INFO, logger="postloanctl.supervisor")
    calls: list[float] = []
    supervisor = Supervisor(Backoff(initial=0.1, maximum=0.4, reset_after=30))
    try:
        failing = supervisor.add("workers", spawner(FAILER, calls))
        wait_for(lambda: len(calls) >= 5, supervisor, timeout=20)
    finally:
        supervisor.stop()
    delays = [0.1, 0.2, 0.4, 0.4]
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)][:4]
    assert all(gap >= delay for gap, delay in zip(gaps, delays, strict=True)), gaps
    deaths = [r.getMessage() for r in caplog.records if " died: " in r.getMessage()][:4]
    assert all("exit code 3" in m for m in deaths)
    assert [m.split("restarting in ")[1].split("s ")[0] for m in deaths] == [
        "0.1",
        "0.2",
        "0.4",
        "0.4",
    ]
    assert [f"(restart #{n}," in m for n, m in enumerate(deaths, 1)] == [True] * 4
    assert failing.restarts >= 4


def test_nothing_is_restarted_while_stopping(spawner):
    now = [0.0]
    supervisor = Supervisor(Backoff(initial=1), clock=lambda: now[0])
    calls: list[float] = []
    component = supervisor.add("workers", spawner(SLEEPER, calls), grace=5)
    component.process.kill()
    component.process.wait()
    supervisor.poll()
    assert component.state == "restarting"
    supervisor.request_stop()
    now[0] = 10.0  # past the backoff: a restart would be due now
    supervisor.poll()
    supervisor.run()  # returns at once: stop was requested
    supervisor.stop()
    assert len(calls) == 1 and component.restarts == 0 and component.state == "stopped"


def test_stop_kills_a_child_that_ignores_sigterm_after_its_grace(spawner):
    supervisor = Supervisor()
    stubborn = supervisor.add("stubborn", spawner(STUBBORN, stdout=subprocess.PIPE), grace=0.5)
    polite = supervisor.add("polite", spawner(SLEEPER), grace=5)
    assert stubborn.process.stdout.readline() == b"ready\n"  # SIGTERM is ignored from here
    started = time.monotonic()
    supervisor.stop()
    assert stubborn.process.returncode == -signal.SIGKILL
    assert polite.process.returncode == -signal.SIGTERM
    assert 0.5 <= time.monotonic() - started < 5
    stubborn.process.stdout.close()


def test_components_marked_last_stop_after_the_others(spawner):
    order: list[str] = []
    supervisor = Supervisor()

    def tracking(name: str, spawn):
        def wrapped():
            process = spawn()
            terminate = process.terminate
            process.terminate = lambda: (order.append(name), terminate())[1]
            return process

        return wrapped

    supervisor.add("engine", tracking("engine", spawner(SLEEPER)), stop_last=True)
    supervisor.add("workers", tracking("workers", spawner(SLEEPER)))
    supervisor.add("api", tracking("api", spawner(SLEEPER)))
    supervisor.stop()
    assert order == ["api", "workers", "engine"]


class FakeChild:
    def __init__(self, pid: int) -> None:
        self.pid, self.returncode = pid, None

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.returncode = -signal.SIGTERM

    def kill(self) -> None:
        self.returncode = -signal.SIGKILL

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode


def test_backoff_resets_once_the_component_stayed_up_long_enough():
    now = [0.0]
    children: list[FakeChild] = []

    def spawn() -> FakeChild:
        children.append(FakeChild(100 + len(children)))
        return children[-1]

    supervisor = Supervisor(Backoff(initial=1, maximum=60, reset_after=60), clock=lambda: now[0])
    component = supervisor.add("workers", spawn)
    delays = []
    for uptime in (1, 1, 1, 61, 1):  # three quick deaths, one after a long run, one quick
        now[0] += uptime
        children[-1].returncode = 1
        supervisor.poll()
        delays.append(component.restart_at - now[0])
        now[0] = component.restart_at
        supervisor.poll()
        assert component.state == "running"
    assert delays == [1, 2, 4, 1, 2]
    assert component.restarts == 5 and len(children) == 6


def test_a_spawn_that_fails_is_retried_with_backoff(caplog):
    now = [0.0]
    attempts = []

    def spawn() -> FakeChild:
        attempts.append(now[0])
        if len(attempts) in (2, 3):
            raise OSError("no such file")
        return FakeChild(len(attempts))

    supervisor = Supervisor(Backoff(initial=1), clock=lambda: now[0])
    component = supervisor.add("api", spawn)
    component.process.returncode = 1
    for step in (1, 1, 2, 4):
        now[0] += step
        supervisor.poll()
    assert attempts == [0, 2, 4, 8] and component.state == "running"
    assert any("could not be started (no such file)" in r.getMessage() for r in caplog.records)


def test_describe_exit():
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(0) == "exit code 0"
