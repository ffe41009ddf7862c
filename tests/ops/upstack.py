"""``python -m postloanctl up`` as a subprocess, for the e2e tests of the demo and the README.

Its own engine, data directory and API on free loopback ports, like ``make run`` on a fresh
clone; :meth:`UpStack.stop` is ``postloanctl down``, and every process the stack started is
killed when the context ends, whatever happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.ops.test_up_supervision import ROOT, free_port, processes_of, tail

BANNER = "Post-loan management is running."


@dataclass
class UpStack:
    data: Path
    log: Path
    api_port: int
    engine_port: int
    env: dict[str, str]
    process: subprocess.Popen | None = None
    starts: int = field(default=0)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def engine(self) -> str:
        return f"http://127.0.0.1:{self.engine_port}/engine-rest"

    def start(self, timeout: float = 900) -> None:
        """Start ``up`` and wait for its banner (the demo inbox is staged before it)."""
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n==== start #{self.starts}\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, "-m", "postloanctl", "up"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while self.log.read_text(errors="replace").count(BANNER) < self.starts:
            if self.process.poll() is not None:
                pytest.fail(f"`up` exited ({self.process.returncode}):\n{tail(self.log, 60)}")
            if time.monotonic() > deadline:
                pytest.fail(f"no banner within {timeout:.0f}s:\n{tail(self.log, 60)}")
            time.sleep(1)

    def stop(self) -> None:
        """``postloanctl down`` (SIGTERM to ``up``), then wait for it."""
        down = subprocess.run(
            [sys.executable, "-m", "postloanctl", "down"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert down.returncode == 0, down
        assert self.process is not None and self.process.wait(timeout=60) == 0, tail(self.log)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in processes_of(self.data):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def get(self, path: str, key: str, **kwargs: Any) -> Any:
        r = requests.get(
            f"{self.api}/api/v1{path}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
            **kwargs,
        )
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()


@contextmanager
def up_stack(tmp_path: Path) -> Iterator[UpStack]:
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
            # Deployment and provisioning on a loaded 2-core machine: slow is not down.
            "POSTLOAN_ENGINE_TIMEOUT_SECONDS": "60",
        }
    )
    stack = UpStack(data, tmp_path / "up.log", api_port, engine_port, env)
    try:
        yield stack
    finally:
        stack.kill()
