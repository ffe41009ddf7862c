"""Starting and stopping the embedded engine (the Spring Boot jar built from ``engine/``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from config.settings import ROOT

ENGINE_JAR = ROOT / "engine" / "app" / "target" / "postloan-engine.jar"
PLUGIN_JAR = ROOT / "engine" / "four-eyes-plugin" / "target" / "four-eyes-plugin.jar"


def build_engine(force: bool = False) -> Path:
    """Build the engine jar with Maven unless it is already there."""
    if ENGINE_JAR.exists() and not force:
        return ENGINE_JAR
    print("building the engine with Maven (first time: several minutes)...", flush=True)
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(ROOT / "engine" / "pom.xml"), "-DskipTests", "package"],
        check=True,
    )
    return ENGINE_JAR


def engine_answers(engine_url: str) -> bool:
    """True when something answers at the REST address (401 counts: it is up, just protected)."""
    try:
        return requests.get(engine_url + "/engine", timeout=2).status_code in (200, 401)
    except requests.RequestException:
        return False


class EngineProcess:
    """The engine as a child process, logging to a file, on its own data directory and port."""

    def __init__(
        self, port: int, data_dir: Path, log_file: Path, env: dict[str, str] | None = None
    ) -> None:
        self.port = port
        self.data_dir = data_dir
        self.log_file = log_file
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/engine-rest"

    def start(self, timeout: float = 180.0) -> None:
        """Launch the engine and wait until its REST API answers."""
        self.launch()
        self.wait_until_up(timeout)

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the engine process without waiting for it (what a supervisor restarts)."""
        jar = build_engine()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "SERVER_PORT": str(self.port),
            "POSTLOAN_DATA_DIR": str(self.data_dir),
            **self.env,
        }
        java_opts = os.environ.get("POSTLOAN_ENGINE_JAVA_OPTS", "-Xms256m -Xmx1g").split()
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                ["java", *java_opts, "-jar", str(jar)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=str(ROOT),
                start_new_session=True,
            )
        return self.process

    def wait_until_up(self, timeout: float = 180.0) -> None:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while not engine_answers(self.url):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the engine exited with code {self.process.returncode}; see {self.log_file}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the engine did not answer within {timeout:.0f}s; see {self.log_file}"
                )
            time.sleep(0.5)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]
