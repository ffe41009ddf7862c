"""Benchmark: the inspection path, project workers against camunda-external-task-client-python3.

One engine started here (fresh H2 database), a fresh SQLite database, bpmn/ deployed, loans seeded.
After an unmeasured warm-up run (a fresh JVM compiles for minutes), for each size and each
repetition (in alternating order) the same number of ``post_loan_inspection`` instances is driven
through the real path twice, side by side in the same run:

(a) ``project``: the project's workers as shipped (``workers.__main__.build_worker``, default
    settings, every registered handler);
(c) ``camunda-client``: the same project handlers run by ``ExternalTaskWorker``
    (``camunda.external_task.external_task_worker``) with its default configuration, in a child
    process (it has no stop()).

The human steps (perform_inspection, review_inspection, onsite_verification, confirm_classification)
are completed by a simulator over REST as the demo people (am_li, po_chen, po_wang, cm_liu), with
their own credentials: the four-eyes plugin refuses self-review. Measured: inspections per second
through the automated part (start until perform_inspection is reached) and end to end (start until
the process instance has ended).

    .venv/bin/python benchmarks/inspection_path.py [--sizes 50 500] [--repeat 2] [--quick]
        [--bpmn-ref HEAD] [--warm-up 40] [--json var/bench/inspection_path.json]

``--bpmn-ref REF`` deploys bpmn/post_loan_inspection.bpmn as it is in that git revision (read with
``git show``; e.g. HEAD for the diagram before the parallel checks), for a before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import support
from support import ROOT

CHILD = os.environ.get("BENCH_INSPECTION_PATH_CHILD") == "1"
if not CHILD:
    _TMP, ENGINE_PORT = support.isolate("postloan-bench-path-")

from config.logging import setup_logging  # noqa: E402
from config.settings import get_settings  # noqa: E402
from gateway.engine import EngineGateway  # noqa: E402

DEMO = {"am_li": "demo-am-li", "po_chen": "demo-po-chen", "po_wang": "demo-po-wang"}
DEMO["cm_liu"] = "demo-cm-liu"
PERFORM = {
    "funds_used_as_agreed": True,
    "business_operating_normally": True,
    "collateral_intact": True,
    "approval_conditions_met": True,
    "inspection_findings": "Visited the workshop; supplier invoices match the drawdown.",
    "inspection_conclusion": "satisfactory",
}
KEY = "post_loan_inspection"


# -- (c): the camunda client, in a child process ------------------------------------------------
def run_camunda_client() -> None:
    """The project's handlers behind ExternalTaskWorker with its default configuration."""
    from camunda.external_task.external_task_worker import ExternalTaskWorker

    from gateway.variables import from_engine_all, to_engine_all
    from workers.__main__ import build_worker
    from workers.runtime.router import BusinessError
    from workers.runtime.task import ExternalTask

    settings = get_settings()
    # The project's handlers and outbox relay exactly as its worker process builds them; only
    # the fetching and completing is the library's.
    project = build_worker()
    relay, handlers = project.relay, project.worker.handlers
    relay.start()

    def action(task: Any) -> Any:
        ctx = task._context
        raw = ctx.get("variables") or {}
        project_task = ExternalTask(
            id=ctx["id"],
            topic=ctx["topicName"],
            worker_id=ctx["workerId"],
            business_key=ctx.get("businessKey"),
            process_instance_id=ctx["processInstanceId"],
            process_definition_key=ctx.get("processDefinitionKey"),
            activity_id=ctx["activityId"],
            retries=ctx.get("retries"),
            priority=ctx.get("priority") or 0,
            variables=from_engine_all(raw),
            extension_properties=ctx.get("extensionProperties") or {},
        )
        try:
            out = handlers[ctx["topicName"]](project_task)
        except BusinessError as exc:
            return task.bpmn_error(exc.code, str(exc), to_engine_all(exc.variables))
        return task.complete(to_engine_all(out or {}))

    config = {
        "auth_basic": {
            "username": settings.engine_worker_user,
            "password": settings.engine_worker_password.get_secret_value(),
        }
    }
    worker = ExternalTaskWorker("bench-camunda-client", settings.engine_url, config)
    worker.subscribe(sorted(handlers), action)  # loops forever


# -- the parent: engine, seed, simulator, phases -------------------------------------------------
def seed(prefix: str, count: int) -> list[str]:
    return support.seed_loans(count, prefix)


class Simulator:
    """The demo people completing their tasks over REST, each in a loop of their own."""

    def __init__(self, engine_url: str) -> None:
        self.people = {u: EngineGateway(engine_url, u, p, 30) for u, p in DEMO.items()}
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._loop, args=(u,), daemon=True) for u in self.people
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=30)

    def _loop(self, user: str) -> None:
        gw = self.people[user]
        keys = {
            "am_li": ["perform_inspection"],
            "po_chen": ["review_inspection"],
            "po_wang": ["onsite_verification"],
            "cm_liu": ["confirm_classification"],
        }[user]
        while not self.stopping.is_set():
            busy = False
            for key in keys:
                try:
                    tasks = gw.tasks(processDefinitionKey=KEY, taskDefinitionKey=key, maxResults=50)
                except Exception as exc:  # noqa: BLE001 - reported, the loop goes on
                    self.errors.append(f"{user} list {key}: {exc}")
                    tasks = []
                for task in tasks:
                    busy = True
                    try:
                        self._complete(gw, user, key, task)
                    except Exception as exc:  # noqa: BLE001
                        self.errors.append(f"{user} {key} {task['id']}: {exc}")
            if not busy:
                time.sleep(0.05)

    @staticmethod
    def _complete(gw: EngineGateway, user: str, key: str, task: dict) -> None:
        if key == "perform_inspection":
            items = gw.task_variables(task["id"]).get("inspection_items") or []
            codes = [i["code"] for i in items]
            gw.submit_form(
                task["id"],
                {
                    **PERFORM,
                    "items_in_order": codes,
                    "items_not_applicable": [],
                    "item_notes": "bench",
                },
            )
            return
        if not task.get("assignee"):
            gw.claim(task["id"], user)
        form = {
            "review_inspection": {"review_decision": "approve", "review_comment": "ok"},
            "onsite_verification": {"onsite_result": "confirmed", "onsite_findings": "as recorded"},
            "confirm_classification": {
                "classification_decision": "confirm",
                "classification_note": "bench",
            },
        }[key]
        gw.submit_form(task["id"], form)


def counts(admin: EngineGateway) -> tuple[int, int]:
    """(perform_inspection reached, post_loan_inspection ended) over the whole run so far."""
    reached = admin.call(
        "GET",
        "/history/activity-instance/count",
        params={"processDefinitionKey": KEY, "activityId": "perform_inspection"},
    )["count"]
    ended = admin.call(
        "GET",
        "/history/process-instance/count",
        params={"processDefinitionKey": KEY, "finished": "true"},
    )["count"]
    return reached, ended


def start_workers(mode: str) -> Any:
    if mode == "project":
        from workers.__main__ import build_worker

        worker = build_worker()
        return ("project", worker, support.run_in_thread(worker))
    env = {**os.environ, "BENCH_INSPECTION_PATH_CHILD": "1"}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--role", "camunda-client"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return ("camunda-client", proc, None)


def stop_workers(handle: Any) -> None:
    kind, obj, thread = handle
    if kind == "project":
        obj.stop()
        thread.join(timeout=60)
    else:
        obj.terminate()
        try:
            obj.wait(timeout=20)
        except subprocess.TimeoutExpired:
            obj.kill()
            obj.wait()


def phase(
    mode: str, loans: list[str], admin: EngineGateway, api: EngineGateway, timeout: float
) -> dict[str, Any]:
    from gateway.processes import start_planned_inspection
    from postloan.db import unit_of_work

    settings = get_settings()
    reached0, ended0 = counts(admin)
    handle = start_workers(mode)
    time.sleep(2.0)  # both kinds of worker up and polling before the clock starts
    n = len(loans)
    started = time.monotonic()
    with unit_of_work(settings.database_url) as session:
        for loan_id in loans:
            start_planned_inspection(
                session, api, loan_id=loan_id, kind="routine", reason="bench", actor="bench"
            )
    start_s = time.monotonic() - started
    automated_s = end_s = None
    while time.monotonic() - started < timeout:
        reached, ended = counts(admin)
        now = time.monotonic() - started
        if automated_s is None and reached - reached0 >= n:
            automated_s = now
        if ended - ended0 >= n:
            end_s = now
            break
        time.sleep(0.1)
    stop_workers(handle)
    reached, ended = counts(admin)
    return {
        "mode": mode,
        "inspections": n,
        "start_s": round(start_s, 3),
        "automated_s": None if automated_s is None else round(automated_s, 3),
        "end_to_end_s": None if end_s is None else round(end_s, 3),
        "automated_per_s": None if automated_s is None else round(n / automated_s, 2),
        "end_to_end_per_s": None if end_s is None else round(n / end_s, 2),
        "reached_perform": reached - reached0,
        "ended": ended - ended0,
    }


def bpmn_dir(ref: str | None) -> Path | None:
    if not ref:
        return None
    target = Path(tempfile.mkdtemp(prefix="postloan-bench-bpmn-"))
    shutil.copytree(ROOT / "bpmn", target, dirs_exist_ok=True)
    xml = subprocess.run(
        ["git", "show", f"{ref}:bpmn/post_loan_inspection.bpmn"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (target / "post_loan_inspection.bpmn").write_text(xml, encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--role", default="bench", choices=["bench", "camunda-client"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="sizes 10 and 40, once")
    parser.add_argument("--bpmn-ref", default=None)
    parser.add_argument(
        "--warm-up", type=int, default=None, help="inspections run first, unmeasured (40; quick 20)"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="per phase, seconds")
    parser.add_argument("--json", default=str(ROOT / "var" / "bench" / "inspection_path.json"))
    args = parser.parse_args()
    if args.role == "camunda-client":
        setup_logging("WARNING")
        run_camunda_client()
        return
    if args.quick:
        args.sizes, args.repeat = [10, 40], 1
    if args.warm_up is None:
        args.warm_up = 20 if args.quick else 40
    custom = bpmn_dir(args.bpmn_ref)
    if custom is not None:
        os.environ["POSTLOAN_BPMN_DIR"] = str(custom)
    setup_logging("WARNING")
    get_settings.cache_clear()
    settings = get_settings()

    engine = support.start_engine(_TMP, ENGINE_PORT)
    results: list[dict[str, Any]] = []
    sim = None
    try:
        support.migrate_and_provision(settings, deploy_timeout=180)
        admin = support.gateway(settings, "admin", 30)
        api = support.gateway(settings, "api", 30)
        sim = Simulator(settings.engine_url)
        sim.start()
        serial = 0
        if args.warm_up:
            # A fresh JVM spends its first minutes compiling (C2): a run first through it would
            # be slower for that alone. Not measured; both clients then run on a warm engine.
            warm = phase("project", seed("W00", args.warm_up), admin, api, args.timeout)
            print(f"warm-up: {warm['inspections']} inspections, not measured", flush=True)
        for size in args.sizes:
            for rep in range(args.repeat):
                # Each repetition in the other order, so neither profits from going later.
                order = (
                    ("project", "camunda-client") if rep % 2 == 0 else ("camunda-client", "project")
                )
                for mode in order:
                    serial += 1
                    loans = seed(f"P{serial:02d}", size)
                    row = phase(mode, loans, admin, api, args.timeout)
                    row["repetition"] = rep + 1
                    results.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        if sim is not None:
            sim.stop()
        engine.stop()

    def best(mode: str, size: int, field: str) -> float | None:
        values = [
            r[field]
            for r in results
            if r["mode"] == mode and r["inspections"] == size and r[field] is not None
        ]
        return max(values) if values else None

    print()
    print(f"{'size':>5} {'mode':<15} {'automated/s':>12} {'end-to-end/s':>13}  (best of runs)")
    targets = []
    for size in args.sizes:
        for mode in ("project", "camunda-client"):
            a, e = best(mode, size, "automated_per_s"), best(mode, size, "end_to_end_per_s")
            print(f"{size:>5} {mode:<15} {a or float('nan'):>12.2f} {e or float('nan'):>13.2f}")
        for field in ("automated_per_s", "end_to_end_per_s"):
            a, c = best("project", size, field), best("camunda-client", size, field)
            ratio = round(a / c, 2) if a and c else None
            targets.append(
                {
                    "name": f"project/camunda-client {field} at {size}",
                    "value": ratio,
                    "target": 5.0,
                    "ok": ratio is not None and ratio >= 5.0,
                }
            )
            print(f"      ratio {field}: {ratio}x (target >= 5x)")
    if sim is not None and sim.errors:
        print(f"simulator errors: {len(sim.errors)}, first: {sim.errors[0]}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "inspection_path",
                "bpmn_ref": args.bpmn_ref or "working tree",
                "sizes": args.sizes,
                "repeat": args.repeat,
                "results": results,
                "simulator_errors": (sim.errors[:20] if sim else []),
                "targets": targets,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
