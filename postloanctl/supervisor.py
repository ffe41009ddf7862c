"""Keeping the components of ``postloanctl up`` running: a crash is not an outage.

A :class:`Supervisor` owns child processes (engine, workers, API), each started by a *spawn*
function it is given. When one dies, it is started again after an exponential backoff (``initial``
doubling up to ``maximum``; back to ``initial`` once it had stayed up ``reset_after`` seconds); the
others are left alone. Every death and restart is a log line naming the component, the exit code
or signal, its log file, the delay and the restart count. While stopping nothing is restarted:
children get SIGTERM, and SIGKILL after their grace period.

The state is written to a small JSON status file (pids, restarts, last exit) for operators.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger("postloanctl.supervisor")


class Child(Protocol):
    """What the supervisor needs of a child process (a :class:`subprocess.Popen` has it)."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...


@dataclass(frozen=True)
class Backoff:
    """Delay before restart number *n*: ``initial`` doubling up to ``maximum``."""

    initial: float = 1.0
    maximum: float = 60.0
    reset_after: float = 60.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        """Delay after the *failures*-th death in a row (1 for the first)."""
        return min(self.maximum, self.initial * self.factor ** max(0, failures - 1))


@dataclass
class Component:
    name: str
    spawn: Callable[[], Child]
    log_file: Path | None = None
    grace: float = 30.0
    stop_last: bool = False
    process: Child | None = None
    started_at: float | None = None
    restarts: int = 0
    failures: int = 0  # deaths in a row without staying up ``reset_after``
    restart_at: float | None = None
    last_exit: str | None = None

    @property
    def state(self) -> str:
        if self.restart_at is not None:
            return "restarting"
        if self.process is not None and self.process.returncode is None:
            return "running"
        return "stopped"


def describe_exit(returncode: int) -> str:
    """``exit code 3`` or ``killed by SIGKILL`` (Popen gives a signal as a negative code)."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Supervisor:
    """Starts components, restarts the ones that die, stops them all on request."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        status_file: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backoff = backoff or Backoff()
        self.status_file = status_file
        self.clock = clock
        self.components: dict[str, Component] = {}
        self._stopping = False

    # -- setting up -------------------------------------------------------------------------

    def add(
        self,
        name: str,
        spawn: Callable[[], Child],
        log_file: Path | None = None,
        grace: float = 30.0,
        stop_last: bool = False,
        start: bool = True,
    ) -> Component:
        """Register a component and (unless ``start`` is off) start it now.

        ``stop_last`` components (the engine) are stopped after all others have ended.
        """
        component = Component(name, spawn, log_file, grace, stop_last)
        self.components[name] = component
        if start:
            self._start(component)
        return component

    def adopt(
        self,
        name: str,
        process: Child,
        spawn: Callable[[], Child],
        log_file: Path | None = None,
        grace: float = 30.0,
        stop_last: bool = False,
    ) -> Component:
        """Register a component whose first process was started elsewhere."""
        component = self.add(name, spawn, log_file, grace, stop_last, start=False)
        component.process, component.started_at = process, self.clock()
        self._write_status()
        return component

    def process(self, name: str) -> Child | None:
        return self.components[name].process

    @property
    def stopping(self) -> bool:
        return self._stopping

    def request_stop(self) -> None:
        """Safe from a signal handler: no restart happens after this; :meth:`run` returns."""
        self._stopping = True

    # -- supervising ------------------------------------------------------------------------

    def poll(self) -> None:
        """One round: notice deaths, schedule restarts, perform restarts that are due."""
        now = self.clock()
        for component in self.components.values():
            if self._stopping:
                return
            process = component.process
            if component.restart_at is None and process is not None:
                code = process.poll()
                if code is not None:
                    self._died(component, code, now)
            if component.restart_at is not None and now >= component.restart_at:
                self._restart(component)

    def run(self, interval: float = 0.2, until: Callable[[], bool] | None = None) -> None:
        """Supervise until :meth:`request_stop` (or ``until()`` is true)."""
        while not self._stopping and not (until is not None and until()):
            self.poll()
            time.sleep(interval)

    def _died(self, component: Component, code: int, now: float) -> None:
        pid = component.process.pid if component.process is not None else None
        uptime = now - (component.started_at if component.started_at is not None else now)
        self._schedule(
            component,
            f"(pid {pid}) died: {describe_exit(code)} after {uptime:.1f}s up",
            describe_exit(code),
            uptime,
            now,
        )

    def _schedule(
        self, component: Component, what: str, last_exit: str, uptime: float, now: float
    ) -> None:
        if uptime >= self.backoff.reset_after:
            component.failures = 0
        component.failures += 1
        delay = self.backoff.delay(component.failures)
        component.restart_at = now + delay
        component.last_exit = last_exit
        line = (
            f"{component.name} {what}; see {component.log_file or 'its output'}; "
            f"restarting in {delay:g}s (restart #{component.restarts + 1}, "
            f"{component.failures} failure(s) in a row)"
        )
        log.error("%s", line)
        self._write_status()

    def _restart(self, component: Component) -> None:
        component.restart_at = None
        component.restarts += 1
        try:
            process = self._start(component)
        except Exception as exc:  # a spawn that fails counts as a death, not as a crash of up
            component.process = None
            self._schedule(
                component,
                f"could not be started ({exc})",
                f"failed to start: {exc}",
                0.0,
                self.clock(),
            )
            return
        line = (
            f"{component.name} restarted (pid {process.pid}, restart "
            f"#{component.restarts}; log: {component.log_file or 'its output'})"
        )
        log.warning("%s", line)

    def _start(self, component: Component) -> Child:
        process = component.process = component.spawn()
        component.started_at = self.clock()
        log.info(
            "started %s (pid %d, log: %s)",
            component.name,
            process.pid,
            component.log_file or "its output",
        )
        self._write_status()
        return process

    # -- stopping ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything: no more restarts; SIGTERM, then SIGKILL after each one's grace."""
        self._stopping = True
        for component in self.components.values():
            component.restart_at = None
        first = [c for c in self.components.values() if not c.stop_last]
        last = [c for c in self.components.values() if c.stop_last]
        for wave in (list(reversed(first)), list(reversed(last))):
            self._stop_wave(wave)
        self._write_status()

    def _stop_wave(self, wave: list[Component]) -> None:
        running = [
            (c, c.process) for c in wave if c.process is not None and c.process.poll() is None
        ]
        for component, process in running:
            log.info("stopping %s (pid %d)", component.name, process.pid)
            try:
                process.terminate()
            except ProcessLookupError:
                pass
        for component, process in running:
            try:
                process.wait(timeout=component.grace)
            except subprocess.TimeoutExpired:
                log.warning(
                    "%s (pid %d) did not stop within %gs: killing it",
                    component.name,
                    process.pid,
                    component.grace,
                )
                process.kill()
                process.wait()

    # -- status -----------------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        now = self.clock()
        return {
            "pid": os.getpid(),
            "state": "stopping" if self._stopping else "running",
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
            "components": {
                c.name: {
                    "state": c.state,
                    "pid": c.process.pid if c.state == "running" and c.process else None,
                    "restarts": c.restarts,
                    "last_exit": c.last_exit,
                    "restart_in_seconds": (
                        round(max(0.0, c.restart_at - now), 1) if c.restart_at is not None else None
                    ),
                    "log": str(c.log_file) if c.log_file else None,
                }
                for c in self.components.values()
            },
        }

    def _write_status(self) -> None:
        if self.status_file is None:
            return
        tmp = self.status_file.with_name(self.status_file.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.status(), indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, self.status_file)
        except OSError as exc:  # a status file is a convenience, never a reason to stop
            log.warning("could not write %s: %s", self.status_file, exc)
