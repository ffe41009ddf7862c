"""Benchmark: the project's worker runtime beside a raw HTTP client and the Python library.

Starts its own engine (fresh H2 database, the project's users, authorizations and plugin), deploys
the benchmark-only diagram ``benchmarks/bpmn/noop_five.bpmn`` (five no-op external tasks in
sequence, topics ``bench.noop.1`` .. ``bench.noop.5``) and, in the same run, measures:

(a) the project's runtime (``workers.runtime`` Worker + TaskClient) with its default settings;
(b) a minimal raw-HTTP client: ``requests.Session``, fetchAndLock ``maxTasks=50``, complete each;
    best of 1, 2 and 4 loops;
(c) camunda-external-task-client-python3's ``ExternalTaskWorker`` with its defaults (in a
    subprocess: it has no stop);

each draining a backlog of N instances (tasks/s and tasks per fetch; median and range over the
repetitions), then the runtime's pickup latency (external task created, per history, to handler
start) idle and under a burst, and its memory (RSS, tracemalloc) over many no-op tasks.
Every client logs in as the workers' technical user, so the engine's authorization checks count.

    .venv/bin/python benchmarks/workers_side_by_side.py            # 400 and 4000 instances, ~10 min
    .venv/bin/python benchmarks/workers_side_by_side.py --quick    # 100 and 400, 2,000 memory tasks
    .venv/bin/python benchmarks/workers_side_by_side.py --json var/bench/out.json --repeats 3
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from support import ROOT, gateway, isolate, run_in_thread, start_engine

_TMP, ENGINE_PORT = isolate("postloan-bench-workers-")

import requests  # noqa: E402

from config.logging import setup_logging  # noqa: E402
from config.settings import get_settings  # noqa: E402
from gateway.provision import provision  # noqa: E402
from gateway.variables import parse_date  # noqa: E402
from workers.runtime import TaskClient, Worker  # noqa: E402
from workers.runtime.router import TopicHandler  # noqa: E402
from workers.runtime.settings import TopicSettings, TopicSettingsMap  # noqa: E402

KEY = "bench_noop_five"
TOPICS = [f"bench.noop.{n}" for n in range(1, 6)]
# (c) drains a copy of the process on topics of its own: the library has no stop, so its child is
# killed, and the engine still holds that child's last long poll (the library's default, 30 s);
# tasks appearing meanwhile on its topics would be locked for the dead request (5 minutes, the
# library's default lock), stalling the next client's drain.
LIBRARY_KEY = "bench_noop_five_library"
LIBRARY_TOPICS = [f"bench.library.noop.{n}" for n in range(1, 6)]
TASKS_PER_INSTANCE = len(TOPICS)
LOCK_MS = 60_000

LIBRARY_CHILD = r"""
import sys
from camunda.client.external_task_client import ExternalTaskClient
from camunda.external_task.external_task_worker import ExternalTaskWorker
_fetch = ExternalTaskClient.fetch_and_lock
def counted(self, *args, **kwargs):
    tasks = _fetch(self, *args, **kwargs)
    if tasks:
        print("FETCHED", len(tasks), flush=True)
    return tasks
ExternalTaskClient.fetch_and_lock = counted
url, user, password, topics = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
def handle(task):
    return task.complete({})
ExternalTaskWorker("bench-library", url, {"auth_basic": {"username": user, "password": password}}
                   ).subscribe(topics, handle)
"""


# -- engine helpers -------------------------------------------------------------------------


class Bench:
    def __init__(self) -> None:
        settings = get_settings()
        self.settings = settings
        self.url = settings.engine_url
        self.user = settings.engine_worker_user
        self.password = settings.engine_worker_password.get_secret_value()
        self.admin = gateway(settings, "admin", 60)
        self.starter = requests.Session()
        self.starter.mount(
            "http://", requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=32)
        )
        self.starter.auth = (
            settings.engine_admin_user,
            settings.engine_admin_password.get_secret_value(),
        )

    def deploy(self) -> None:
        bpmn = ROOT / "benchmarks" / "bpmn" / "noop_five.bpmn"
        xml = bpmn.read_text(encoding="utf-8")
        library = xml.replace(KEY, LIBRARY_KEY).replace("bench.noop.", "bench.library.noop.")
        self.admin.call(
            "POST",
            "/deployment/create",
            data={"deployment-name": "benchmark-noop-five", "enable-duplicate-filtering": "true"},
            files=[
                (bpmn.name, (bpmn.name, xml.encode(), "application/octet-stream")),
                (
                    "noop_five_library.bpmn",
                    ("noop_five_library.bpmn", library.encode(), "application/octet-stream"),
                ),
            ],
        )

    def start(self, count: int, threads: int = 16, key: str = KEY) -> list[str]:
        def one(_: int) -> str:
            r = self.starter.post(
                f"{self.url}/process-definition/key/{key}/start", json={}, timeout=60
            )
            r.raise_for_status()
            return str(r.json()["id"])

        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(one, range(count)))

    def running(self, key: str = KEY) -> int:
        r = self.starter.get(
            f"{self.url}/process-instance/count", params={"processDefinitionKey": key}, timeout=60
        )
        return int(r.json()["count"])

    def wait_drained(self, timeout: float = 900, key: str = KEY) -> None:
        deadline = time.monotonic() + timeout
        while self.running(key):
            if time.monotonic() > deadline:
                raise SystemExit("benchmark instances not drained in time")
            time.sleep(0.02)

    def created_at(self, pids: set[str]) -> dict[tuple[str, str], float]:
        rows = self.admin.historic_activities(
            processDefinitionKey=KEY, activityType="serviceTask", maxResults=1_000_000
        )
        return {
            (r["processInstanceId"], r["activityId"]): parse_date(r["startTime"]).timestamp()
            for r in rows
            if r["processInstanceId"] in pids
        }


# -- (a) the project's runtime --------------------------------------------------------------


class CountingClient(TaskClient):
    fetches = 0
    fetched = 0

    def fetch_and_lock(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        tasks = super().fetch_and_lock(*args, **kwargs)
        if tasks:
            self.fetches += 1
            self.fetched += len(tasks)
        return tasks


def runtime_worker(bench: Bench, on_task: Any = None) -> tuple[Worker, CountingClient]:
    settings = bench.settings

    def noop(task: Any) -> None:
        if on_task is not None:
            on_task(task)

    client = CountingClient(
        bench.url, "bench-runtime", bench.user, bench.password, settings.engine_timeout_seconds
    )
    worker = Worker(
        client,
        {t: TopicHandler(t, noop, ()) for t in TOPICS},
        TopicSettingsMap(TopicSettings(lock_ms=LOCK_MS), {}),
        max_in_flight=settings.worker_max_in_flight,
        fetch_ahead=settings.worker_fetch_ahead,
        long_poll_ms=settings.worker_long_poll_ms,
        shutdown_grace_seconds=settings.worker_shutdown_grace_seconds,
    )
    return worker, client


def run_runtime(bench: Bench, n: int) -> dict[str, float]:
    bench.start(n)
    worker, client = runtime_worker(bench)
    thread = threading.Thread(target=worker.run, daemon=True)
    t0 = time.monotonic()
    thread.start()
    bench.wait_drained()
    seconds = time.monotonic() - t0
    worker.stop()
    thread.join(timeout=60)
    return result(n, seconds, client.fetches, client.fetched)


# -- (b) raw HTTP -----------------------------------------------------------------------------


def run_raw(bench: Bench, n: int, loops: int) -> dict[str, float]:
    bench.start(n)
    session = requests.Session()
    session.mount(
        "http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=loops + 2)
    )
    session.auth = (bench.user, bench.password)
    body = {
        "workerId": "bench-raw",
        "maxTasks": 50,
        "topics": [{"topicName": t, "lockDuration": LOCK_MS} for t in TOPICS],
    }
    stats = {"fetches": 0, "fetched": 0}
    done = threading.Event()
    guard = threading.Lock()

    def loop() -> None:
        while not done.is_set():
            r = session.post(f"{bench.url}/external-task/fetchAndLock", json=body, timeout=60)
            tasks = r.json()
            if not tasks:
                time.sleep(0.01)
                continue
            with guard:
                stats["fetches"] += 1
                stats["fetched"] += len(tasks)
            for task in tasks:
                session.post(
                    f"{bench.url}/external-task/{task['id']}/complete",
                    json={"workerId": "bench-raw"},
                    timeout=60,
                )

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(loops)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    bench.wait_drained()
    seconds = time.monotonic() - t0
    done.set()
    for t in threads:
        t.join(timeout=60)
    out = result(n, seconds, stats["fetches"], stats["fetched"])
    out["loops"] = loops
    return out


# -- (c) the library --------------------------------------------------------------------------


#: The library's default long poll (asyncResponseTimeout, 30 s) and when its last child was killed.
LIBRARY_LONG_POLL_S = 30.0
_library_killed_at: list[float] = []


def run_library(bench: Bench, n: int) -> dict[str, float]:
    # The engine answers a killed child's last long poll when tasks appear, locking them for the
    # dead request (the library's 5-minute lock): a run right after the previous one (the order
    # alternates, so (c) can end one repetition and begin the next) would stall on that. Start
    # only once that poll has timed out.
    if _library_killed_at:
        time.sleep(max(0.0, _library_killed_at[-1] + LIBRARY_LONG_POLL_S + 1 - time.monotonic()))
    bench.start(n, key=LIBRARY_KEY)
    log = _TMP / "library.log"
    with log.open("w") as out:
        t0 = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-c", LIBRARY_CHILD, bench.url, bench.user, bench.password]
            + [",".join(LIBRARY_TOPICS)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            bench.wait_drained(key=LIBRARY_KEY)
            seconds = time.monotonic() - t0
        finally:
            child.kill()
            child.wait()
            _library_killed_at.append(time.monotonic())
    counts = [
        int(line.split()[1])
        for line in log.read_text(errors="replace").splitlines()
        if line.startswith("FETCHED ")
    ]
    return result(n, seconds, len(counts), sum(counts))


def warm_up(bench: Bench, limit_s: float) -> list[float]:
    """Drain rounds of 200 instances (raw client, then the runtime) until the engine's rate
    settles: a fresh JVM spends its first minute or so compiling (the C2 compiler thread alone
    took half of the two cores), and whichever client ran first would pay for it. Stops when
    two rounds in a row agree within 10%, or after ``limit_s``; returns the rates seen."""
    rates: list[float] = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        rates.append(run_raw(bench, 200, 2)["tasks_per_s"])
        rates.append(run_runtime(bench, 200)["tasks_per_s"])
        if len(rates) >= 4 and abs(rates[-2] - rates[-4]) <= 0.1 * rates[-2]:
            break
    print(f"warm-up drains (tasks/s, raw then runtime): {rates}")
    return rates


def result(n: int, seconds: float, fetches: int, fetched: int) -> dict[str, float]:
    tasks = n * TASKS_PER_INSTANCE
    return {
        "instances": n,
        "tasks": tasks,
        "seconds": round(seconds, 3),
        "tasks_per_s": round(tasks / seconds, 1),
        "fetches": fetches,
        "tasks_per_fetch": round(fetched / fetches, 2) if fetches else None,  # type: ignore[dict-item]
    }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["tasks_per_s"] for r in runs]
    per_fetch = [r["tasks_per_fetch"] for r in runs if r.get("tasks_per_fetch")]
    return {
        "tasks_per_s_median": round(statistics.median(rates), 1),
        "tasks_per_s_min": min(rates),
        "tasks_per_s_max": max(rates),
        "tasks_per_fetch_median": round(statistics.median(per_fetch), 2) if per_fetch else None,
        "runs": runs,
    }


# -- latency and memory -------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def latency(bench: Bench, idle_instances: int, burst: int) -> dict[str, Any]:
    picked: dict[tuple[str, str], float] = {}

    def note(task: Any) -> None:
        picked.setdefault((task.process_instance_id, task.activity_id), time.time())

    worker, _ = runtime_worker(bench, note)
    thread = run_in_thread(worker)
    time.sleep(1.5)  # the worker sits in a long poll
    idle_pids: set[str] = set()
    for _ in range(idle_instances):
        idle_pids.update(bench.start(1, threads=1))
        bench.wait_drained()
        time.sleep(0.05)
    burst_pids = set(bench.start(burst, threads=16))
    bench.wait_drained()
    worker.stop()
    thread.join(timeout=60)

    def ms(pids: set[str]) -> list[float]:
        created = bench.created_at(pids)
        return [(picked[k] - created[k]) * 1000 for k in created if k in picked]

    out = {}
    for name, pids in (("idle", idle_pids), ("burst", burst_pids)):
        values = ms(pids)
        out[name] = {
            "tasks": len(values),
            "p50_ms": round(pct(values, 50), 1),
            "p99_ms": round(pct(values, 99), 1),
            "max_ms": round(max(values), 1),
        }
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def memory(bench: Bench, tasks: int) -> dict[str, Any]:
    marks = sorted({m for m in (1_000, tasks // 2, tasks) if m <= tasks})
    samples: list[dict[str, Any]] = []
    count = [0]
    guard = threading.Lock()

    def note(_task: Any) -> None:
        with guard:
            count[0] += 1
            done = count[0]
        if done in marks:
            current, _peak = tracemalloc.get_traced_memory()
            samples.append(
                {"tasks": done, "rss_mb": rss_mb(), "traced_kb": round(current / 1024, 1)}
            )

    gc.collect()
    tracemalloc.start()
    worker, _ = runtime_worker(bench, note)
    thread = run_in_thread(worker)
    remaining = tasks // TASKS_PER_INSTANCE
    while remaining > 0:  # in chunks, so the engine is never the one holding everything
        chunk = min(remaining, 500)
        bench.start(chunk)
        remaining -= chunk
    bench.wait_drained()
    worker.stop()
    thread.join(timeout=60)
    tracemalloc.stop()
    samples.sort(key=lambda s: s["tasks"])
    return {"tasks": tasks, "samples": samples}


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100 and 400 instances, 2,000 tasks")
    parser.add_argument("--instances", type=int, nargs="+", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-tasks", type=int, default=None)
    parser.add_argument("--idle-instances", type=int, default=20)
    parser.add_argument("--burst", type=int, default=400)
    parser.add_argument("--skip-library", action="store_true")
    parser.add_argument(
        "--warm-up", type=float, default=180.0, help="at most this many seconds of warm-up"
    )
    parser.add_argument(
        "--json", type=Path, default=ROOT / "var" / "bench" / "workers_side_by_side.json"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows live
    sizes = args.instances or ([100, 400] if args.quick else [400, 4000])
    memory_tasks = args.memory_tasks or (2_000 if args.quick else 10_000)
    setup_logging("WARNING")
    settings = get_settings()
    engine = start_engine(_TMP, ENGINE_PORT)
    report: dict[str, Any] = {
        "settings": {
            "worker_max_in_flight": settings.worker_max_in_flight,
            "worker_fetch_ahead": settings.worker_fetch_ahead,
            "worker_long_poll_ms": settings.worker_long_poll_ms,
            "repeats": args.repeats,
        },
        "throughput": {},
    }
    try:
        provision(settings, deploy=False)
        bench = Bench()
        bench.deploy()
        report["warm_up"] = warm_up(bench, args.warm_up)
        for n in sizes:
            runs: dict[str, list[dict[str, Any]]] = {"a": [], "b": [], "c": []}
            for rep in range(args.repeats):
                # Each repetition in the other order, so none profits from going later.
                order = ["a", "b", "c"] if rep % 2 == 0 else ["c", "b", "a"]
                for client in order:
                    if client == "a":
                        runs["a"].append(run_runtime(bench, n))
                    elif client == "b":
                        raw = [run_raw(bench, n, loops) for loops in (1, 2, 4)]
                        best = max(raw, key=lambda r: r["tasks_per_s"])
                        runs["b"].append(best | {"all": raw})
                    elif not args.skip_library:
                        runs["c"].append(run_library(bench, n))
                print(
                    f"  {n} instances, repetition {rep + 1}: "
                    + ", ".join(f"({k}) {v[-1]['tasks_per_s']}/s" for k, v in runs.items() if v)
                )
            report["throughput"][str(n)] = {k: summary(v) for k, v in runs.items() if v}
        report["latency"] = latency(bench, args.idle_instances, args.burst)
        report["memory"] = memory(bench, memory_tasks)
    finally:
        engine.stop()

    targets = []
    print()
    print(f"{'instances':>9} {'client':<34} {'tasks/s median [range]':>28} {'tasks/fetch':>12}")
    names = {
        "a": "(a) runtime, defaults",
        "b": "(b) raw HTTP, best of 1/2/4 loops",
        "c": "(c) library, defaults",
    }
    for n, by in report["throughput"].items():
        for k, s in by.items():
            rng = f"{s['tasks_per_s_median']} [{s['tasks_per_s_min']}-{s['tasks_per_s_max']}]"
            print(f"{n:>9} {names[k]:<34} {rng:>28} {s['tasks_per_fetch_median']!s:>12}")
        ratio = by["a"]["tasks_per_s_median"] / by["b"]["tasks_per_s_median"]
        targets.append(
            {
                "name": f"no-op {n} instances: (a)/(b) tasks/s ratio",
                "value": round(ratio, 2),
                "target": ">= 0.9",
                "ok": ratio >= 0.9,
            }
        )
        if "c" in by:
            by["c_over_b"] = round(by["c"]["tasks_per_s_median"] / by["b"]["tasks_per_s_median"], 2)
    lat = report["latency"]
    print()
    for name, limit in (("idle", 100.0), ("burst", 1000.0)):
        row = lat[name]
        print(
            f"pickup latency {name:<5} ({row['tasks']} tasks): p50 {row['p50_ms']} ms, "
            f"p99 {row['p99_ms']} ms, max {row['max_ms']} ms"
        )
        targets.append(
            {
                "name": f"pickup latency p99, {name}",
                "value": row["p99_ms"],
                "target": f"<= {limit:.0f} ms",
                "ok": row["p99_ms"] <= limit,
            }
        )
    print()
    samples = report["memory"]["samples"]
    for s in samples:
        print(
            f"memory after {s['tasks']:>6} tasks: RSS {s['rss_mb']} MB, traced {s['traced_kb']} KB"
        )
    if len(samples) >= 2:
        span = f"{samples[0]['tasks']}->{samples[-1]['tasks']} tasks"
        growth = samples[-1]["traced_kb"] - samples[0]["traced_kb"]
        rss_growth = samples[-1]["rss_mb"] - samples[0]["rss_mb"]
        targets.append(
            {
                "name": f"memory: traced growth {span}",
                "value": round(growth, 1),
                "target": "<= 1024 KB (flat)",
                "ok": growth <= 1024,
            }
        )
        targets.append(
            {
                "name": f"memory: RSS growth {span}",
                "value": round(rss_growth, 1),
                "target": "<= 10 MB (flat)",
                "ok": rss_growth <= 10,
            }
        )
    print()
    for t in targets:
        print(f"{'OK  ' if t['ok'] else 'MISS'} {t['name']}: {t['value']} (target {t['target']})")
    report = {"targets": targets} | report
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nJSON written to {args.json}")


if __name__ == "__main__":
    main()
