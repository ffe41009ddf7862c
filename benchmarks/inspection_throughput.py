"""Benchmark: inspections through the automated part per second, and external-task pickup latency.

Starts its own engine (fresh H2 database) and SQLite database, deploys bpmn/, loads loans, runs the
real workers in this process, and starts ``post_loan_inspection`` instances through the same code
path as ``POST /api/v1/inspections``. An inspection has passed the automated part when it waits in
``perform_inspection`` (load context, repayment check, DMN classification done).

Pickup latency = the moment the engine created an external task (its activity instance's start
time in history) to the moment a worker had it locked and its handler began.

    .venv/bin/python benchmarks/inspection_throughput.py [--inspections 200] [--idle-samples 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import support
from support import ROOT

_TMP, ENGINE_PORT = support.isolate("postloan-bench-")

from config.logging import setup_logging  # noqa: E402
from config.settings import get_settings  # noqa: E402
from gateway.engine import EngineGateway  # noqa: E402
from gateway.processes import start_planned_inspection as start_inspection  # noqa: E402
from gateway.variables import parse_date  # noqa: E402
from postloan.db import unit_of_work  # noqa: E402
from workers.__main__ import build_worker  # noqa: E402
from workers.runtime.router import TopicHandler  # noqa: E402

PICKED: dict[tuple[str, str], float] = {}  # (process instance, activity) -> wall clock at pickup


class RecordingHandler:
    """Notes when a handler starts, i.e. when its task was locked and handed over."""

    def __init__(self, inner: TopicHandler) -> None:
        self.inner = inner
        self.variables = inner.variables

    def __call__(self, task):  # type: ignore[no-untyped-def]
        PICKED.setdefault((task.process_instance_id, task.activity_id), time.time())
        return self.inner(task)


def record_pickups(worker) -> None:  # type: ignore[no-untyped-def]
    for topic, handler in list(worker.handlers.items()):
        worker.handlers[topic] = RecordingHandler(handler)


def seed(count: int) -> list[str]:
    """Loans with 12 instalments; every third loan (n divisible by 3) has its last two unpaid."""
    return support.seed_loans(
        count, "B", name="Bench {n}", digits=6, paid=lambda n, k: k < 10 or bool(n % 3)
    )


def waiting_in_perform(admin: EngineGateway) -> int:
    return admin.call(
        "GET",
        "/task/count",
        params={
            "processDefinitionKey": "post_loan_inspection",
            "taskDefinitionKey": "perform_inspection",
        },
    )["count"]


def latencies(admin: EngineGateway, pids: set[str]) -> list[float]:
    """Pickup latency of every external task these instances ran before perform_inspection."""
    out = []
    rows = admin.historic_activities(activityType="serviceTask", maxResults=1_000_000)
    for row in rows:
        key = (row["processInstanceId"], row["activityId"])
        if row["processInstanceId"] in pids and key in PICKED:
            created = parse_date(row["startTime"]).timestamp()
            out.append((PICKED[key] - created) * 1000)
    return out


def automated_tasks_per_inspection() -> int:
    """External tasks before perform_inspection in the deployed diagram (read from bpmn/)."""
    xml = (ROOT / "bpmn" / "post_loan_inspection.bpmn").read_text(encoding="utf-8")
    body = xml[: xml.index('id="perform_inspection"')]
    return body.count('camunda:type="external"')


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inspections", type=int, default=200)
    parser.add_argument("--idle-samples", type=int, default=30)
    args = parser.parse_args()
    setup_logging("WARNING")
    settings = get_settings()
    engine = support.start_engine(_TMP, ENGINE_PORT)
    try:
        support.migrate_and_provision(settings)
        admin = support.gateway(settings, "admin", 30)
        api = support.gateway(settings, "api", 30)
        loan_ids = seed(args.inspections + args.idle_samples)
        worker = build_worker()
        record_pickups(worker)
        thread = support.run_in_thread(worker)
        time.sleep(1)

        # Phase 1: one inspection at a time, workers idle in a long poll.
        idle_pids = set()
        for i in range(args.idle_samples):
            with unit_of_work(settings.database_url) as session:
                ins = start_inspection(
                    session, api, loan_id=loan_ids[i], kind="routine", reason="bench", actor="bench"
                )
                idle_pids.add(ins.process_instance_id)
            while waiting_in_perform(admin) < i + 1:
                time.sleep(0.01)
        idle = latencies(admin, idle_pids)

        worker.stop()
        thread.join(timeout=30)

        # Phase 2: a backlog. Start the inspections with no worker running, then start the
        # workers and time how fast they drain it: the automated part alone, not the start path.
        n = args.inspections // 2
        backlog_ids, burst_ids = (
            loan_ids[args.idle_samples :][:n],
            loan_ids[args.idle_samples :][n:],
        )
        with unit_of_work(settings.database_url) as session:
            for loan_id in backlog_ids:
                start_inspection(
                    session, api, loan_id=loan_id, kind="routine", reason="bench", actor="bench"
                )
        reached = args.idle_samples
        worker = build_worker()
        drain_started = time.monotonic()
        thread = support.run_in_thread(worker)
        while waiting_in_perform(admin) < reached + len(backlog_ids):
            time.sleep(0.02)
        drain_seconds = time.monotonic() - drain_started
        reached += len(backlog_ids)

        # Phase 3: a burst while the workers run: start path and automated part together,
        # and the pickup latency under that load.
        record_pickups(worker)
        started_at = time.monotonic()
        burst_pids = set()
        with unit_of_work(settings.database_url) as session:
            for loan_id in burst_ids:
                ins = start_inspection(
                    session, api, loan_id=loan_id, kind="routine", reason="bench", actor="bench"
                )
                burst_pids.add(ins.process_instance_id)
        start_seconds = time.monotonic() - started_at
        while waiting_in_perform(admin) < reached + len(burst_ids):
            time.sleep(0.02)
        total_seconds = time.monotonic() - started_at
        burst = latencies(admin, burst_pids)
        worker.stop()
        thread.join(timeout=30)

        per = automated_tasks_per_inspection()
        print(
            f"workers: one process, max_in_flight={settings.worker_max_in_flight}, "
            f"long_poll_ms={settings.worker_long_poll_ms}; per inspection {per} external "
            "tasks and 1 DMN decision before perform_inspection"
        )
        print(
            f"pickup latency, idle workers ({len(idle)} tasks): median "
            f"{statistics.median(idle):.1f} ms, p99 {pct(idle, 99):.1f} ms"
        )
        print(
            f"automated part, backlog of {len(backlog_ids)} drained in {drain_seconds:.2f}s: "
            f"{len(backlog_ids) / drain_seconds:.1f} inspections/s "
            f"({len(backlog_ids) * per / drain_seconds:.0f} external tasks/s)"
        )
        print(
            f"burst of {len(burst_ids)} while running: started at "
            f"{len(burst_ids) / start_seconds:.1f}/s, all through the automated part after "
            f"{total_seconds:.2f}s ({len(burst_ids) / total_seconds:.1f} inspections/s)"
        )
        print(
            f"pickup latency under that burst ({len(burst)} tasks): median "
            f"{statistics.median(burst):.1f} ms, p99 {pct(burst, 99):.1f} ms"
        )
    finally:
        engine.stop()


if __name__ == "__main__":
    main()
