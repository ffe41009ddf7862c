"""End to end: a crashed worker process is not an outage of ``postloanctl up``.

Runs the real ``python -m postloanctl up`` (its own engine on a free port, its own data directory,
the demo portfolio, workers and the API on a free port, all on loopback), SIGKILLs the workers and
checks that the API keeps answering core banking while ``up`` restarts them, then that
``postloanctl down`` (SIGTERM to ``up``) stops everything. About 30-60 s; marked ``e2e`` (and
``engine``: it starts a real engine). Every process it started is killed at the end, whatever
happened.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent.parent
CUSTOMER = "C00001"  # in the demo portfolio (postloanctl/generator.py is seeded)
INTEGRATOR = {"Authorization": "Bearer demo-integrator-key"}  # postloanctl/demo.py

pytestmark = [pytest.mark.e2e, pytest.mark.engine]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def processes_of(data_dir: Path) -> list[int]:
    """Pids of every live process whose POSTLOAN_DATA_DIR is ``data_dir`` or below it: up, its
    workers and API, and the engine (which runs in a session of its own)."""
    marker = f"POSTLOAN_DATA_DIR={data_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(v == marker or v.startswith(marker + b"/") for v in environ):
            pids.append(int(entry.name))
    return pids


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_for(
    what: str,
    condition: Callable[[], Any],
    timeout: float,
    up: subprocess.Popen,
    log: Path,
    interval: float = 0.2,
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if up.poll() is not None:
            pytest.fail(f"`up` exited ({up.returncode}) while waiting for {what}:\n{tail(log)}")
        time.sleep(interval)
    pytest.fail(f"no {what} within {timeout:.0f}s:\n{tail(log)}")


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def get(url: str, **kwargs: Any) -> int | str:
    # Longer than the API's own engine timeout (health asks the engine): slow is not down.
    try:
        return requests.get(url, timeout=15, **kwargs).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


def test_killed_workers_are_restarted_while_the_api_keeps_answering(tmp_path: Path):
    data = tmp_path / "data"
    api_port, engine_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTLOAN_")}
    env.update(
        {
            "POSTLOAN_ENV": "development",  # what `make run` uses
            "POSTLOAN_DATA_DIR": str(data),
            "POSTLOAN_ENGINE_URL": f"http://127.0.0.1:{engine_port}/engine-rest",
            "POSTLOAN_API_HOST": "127.0.0.1",
            "POSTLOAN_API_PORT": str(api_port),
            "POSTLOAN_WORKER_LONG_POLL_MS": "2000",
            "POSTLOAN_WORKER_SHUTDOWN_GRACE_SECONDS": "5",
            # A backoff window wide enough to be seen from outside on a busy machine.
            "POSTLOAN_RESTART_BACKOFF_INITIAL_SECONDS": "2",
        }
    )
    api = f"http://127.0.0.1:{api_port}/api/v1"
    status_file = data / "postloan.status.json"
    log = tmp_path / "up.log"

    def status() -> dict[str, Any]:
        try:
            return json.loads(status_file.read_text())["components"]
        except (OSError, ValueError):
            return {}

    with log.open("wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "postloanctl", "up"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_for("healthy API", lambda: get(f"{api}/health") == 200, 120, up, log)
        # `up` stages the demo inbox once the API answers and supervises after its banner
        banner = "Post-loan management is running."  # as tests/ops/upstack.py waits for it
        wait_for("the banner", lambda: banner in log.read_text(errors="replace"), 900, up, log)
        assert get(f"{api}/customers/{CUSTOMER}/credit-status", headers=INTEGRATOR) == 200
        components = status()
        assert {c: components[c]["state"] for c in components} == {
            "engine": "running",
            "workers": "running",
            "api": "running",
        }
        old = components["workers"]["pid"]
        assert parent_of(old) == up.pid
        api_pid = components["api"]["pid"]

        os.kill(old, signal.SIGKILL)
        answers: list[tuple[str, int | str, int | str]] = []

        def workers_back() -> int | None:
            state = status().get("workers", {})
            answers.append(
                (
                    state.get("state"),
                    get(f"{api}/health"),
                    get(f"{api}/customers/{CUSTOMER}/credit-status", headers=INTEGRATOR),
                )
            )
            new = state.get("pid")
            return new if state.get("state") == "running" and new != old else None

        new = wait_for("restart of the workers", workers_back, 30, up, log, interval=0.1)
        assert any(state == "restarting" for state, _, _ in answers), answers  # seen while down
        failed = [a for a in answers if a[1:] != (200, 200)]
        assert not failed, (failed, len(answers), tail(data / "logs" / "api.log"))
        for _ in range(5):  # and after
            assert get(f"{api}/health") == 200
            assert get(f"{api}/customers/{CUSTOMER}/credit-status", headers=INTEGRATOR) == 200
        assert parent_of(new) == up.pid
        components = status()
        assert components["workers"]["restarts"] == 1
        assert components["workers"]["last_exit"] == "killed by SIGKILL"
        assert components["api"]["pid"] == api_pid and components["api"]["restarts"] == 0
        assert components["engine"]["restarts"] == 0
        restarted = f"workers restarted (pid {new}, restart #1"
        wait_for("restart log line", lambda: restarted in log.read_text(), 10, up, log)
        text = log.read_text()
        assert (
            f"workers (pid {old}) died: killed by SIGKILL" in text
            and "restarting in 2s (restart #1" in text
            and str(data / "logs" / "workers.log") in text
        ), tail(log)

        children = processes_of(data)
        engine_pid = components["engine"]["pid"]
        assert sorted(children) == sorted({up.pid, new, api_pid, engine_pid}), children
        down = subprocess.run(
            [sys.executable, "-m", "postloanctl", "down"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )  # SIGTERM to up
        assert down.returncode == 0 and down.stdout.strip() == "stopped", down
        assert up.wait(timeout=10) == 0, tail(log)
        assert processes_of(data) == [], tail(log)
        assert not status_file.exists() and not (data / "postloan.pid").exists()
        stopping = log.read_text().split("received SIGTERM: stopping", 1)[1]
        assert "started" not in stopping and "died" not in stopping, stopping  # no restart
        assert "stopping engine" in stopping and stopping.rstrip().endswith("stopped")
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
        for pid in processes_of(data):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while processes_of(data) and time.monotonic() < deadline:
            time.sleep(0.1)
