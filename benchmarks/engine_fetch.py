"""Benchmark: the engine's cost of fetchAndLock + complete as the worker user and as an admin.

Starts its own engine (fresh H2 database) like ``inspection_throughput.py``, provisions the
identities (no deployment of bpmn/), deploys a trivial process with one external task, keeps a
backlog of N waiting tasks (N = 2,000 and 4,000 by default) and times ``fetchAndLock(maxTasks=50)``
and the 50 completes, alternately as the worker user (``svc-workers``) and as the admin. A cheap
authenticated request (``GET /version``) is timed too: its cost is mostly the basic-auth check.

    .venv/bin/python benchmarks/engine_fetch.py [--backlogs 2000,4000] [--rounds 8]
        [--jar PATH] [--json var/bench/engine_fetch.json]

``--jar`` runs another engine jar (e.g. a copy of the one before a change).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from support import ROOT, isolate, start_engine

_TMP, ENGINE_PORT = isolate("postloan-bench-fetch-")

import requests  # noqa: E402

from config.logging import setup_logging  # noqa: E402
from config.settings import get_settings  # noqa: E402
from gateway.provision import provision  # noqa: E402
from postloanctl import engine_process  # noqa: E402

TOPIC = "bench-engine-fetch"
KEY = "bench_engine_fetch"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="bench">
  <bpmn:process id="{KEY}" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="{TOPIC}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def session(user: str, password: str) -> requests.Session:
    s = requests.Session()
    s.auth = (user, password)
    return s


def ok(response: requests.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.url}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json() if response.content else None


def start_instances(admin: requests.Session, url: str, count: int) -> None:
    def one(_: int) -> None:
        ok(admin.post(f"{url}/process-definition/key/{KEY}/start", json={}, timeout=30))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def waiting(admin: requests.Session, url: str) -> int:
    return int(
        ok(
            admin.get(
                f"{url}/external-task/count",
                params={"topicName": TOPIC, "locked": "false"},
                timeout=30,
            )
        )["count"]
    )


def fetch_round(s: requests.Session, url: str, worker_id: str) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    tasks = ok(
        s.post(
            f"{url}/external-task/fetchAndLock",
            json={
                "workerId": worker_id,
                "maxTasks": 50,
                "topics": [{"topicName": TOPIC, "lockDuration": 60_000}],
            },
            timeout=60,
        )
    )
    t1 = time.perf_counter()
    for task in tasks:
        ok(
            s.post(
                f"{url}/external-task/{task['id']}/complete",
                json={"workerId": worker_id},
                timeout=60,
            )
        )
    t2 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t1) * 1000 / max(1, len(tasks)), len(tasks)


def timed(fn: Callable[[], Any], times: int) -> float:
    samples = []
    for _ in range(times):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlogs", default="2000,4000")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--jar", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench" / "engine_fetch.json")
    args = parser.parse_args()
    if args.jar is not None:
        jar: Path = args.jar.resolve()

        def use_jar(force: bool = False) -> Path:
            return jar

        engine_process.build_engine = use_jar
    setup_logging("WARNING")
    settings = get_settings()
    engine = start_engine(_TMP, ENGINE_PORT, quiet=True)
    results: dict[str, Any] = {"backlogs": {}}
    try:
        provision(settings, deploy=False)
        url = settings.engine_url
        admin = session(
            settings.engine_admin_user, settings.engine_admin_password.get_secret_value()
        )
        worker = session(
            settings.engine_worker_user, settings.engine_worker_password.get_secret_value()
        )
        ok(
            admin.post(
                f"{url}/deployment/create",
                data={"deployment-name": "bench-engine-fetch"},
                files={"bench.bpmn": ("bench.bpmn", BPMN.encode(), "application/xml")},
                timeout=60,
            )
        )
        for _ in range(50):  # warm-up
            ok(worker.get(f"{url}/version", timeout=30))
            ok(admin.get(f"{url}/version", timeout=30))
        results["version_ms"] = {
            "worker": timed(lambda: ok(worker.get(f"{url}/version", timeout=30)), 200),
            "admin": timed(lambda: ok(admin.get(f"{url}/version", timeout=30)), 200),
        }
        for backlog in [int(b) for b in args.backlogs.split(",")]:
            have = waiting(admin, url)
            if have < backlog:
                start_instances(admin, url, backlog - have)
            rows: dict[str, dict[str, list[float]]] = {
                who: {"fetch_ms": [], "complete_ms": []} for who in ("worker", "admin")
            }
            for _ in range(args.rounds):
                for who, s in (("worker", worker), ("admin", admin)):
                    fetch_ms, complete_ms, got = fetch_round(s, url, f"bench-{who}")
                    if got != 50:
                        raise RuntimeError(f"{who} fetched {got} tasks, expected 50")
                    rows[who]["fetch_ms"].append(fetch_ms)
                    rows[who]["complete_ms"].append(complete_ms)
                    start_instances(admin, url, got)  # keep the backlog at N
            results["backlogs"][str(backlog)] = {
                who: {k: round(statistics.median(v), 2) for k, v in r.items()}
                for who, r in rows.items()
            }
    finally:
        engine.stop()

    backlogs = list(results["backlogs"])
    print(
        f"GET /version (auth only), median ms: worker {results['version_ms']['worker']:.2f}, "
        f"admin {results['version_ms']['admin']:.2f}"
    )
    print(f"{'backlog':>8} {'user':>7} {'fetchAndLock(50) ms':>20} {'complete ms/task':>17}")
    for b in backlogs:
        for who in ("worker", "admin"):
            r = results["backlogs"][b][who]
            print(f"{b:>8} {who:>7} {r['fetch_ms']:>20.1f} {r['complete_ms']:>17.2f}")
    first, last = results["backlogs"][backlogs[0]], results["backlogs"][backlogs[-1]]
    growth = last["worker"]["fetch_ms"] / max(first["worker"]["fetch_ms"], 1e-9)
    vs_admin = last["worker"]["fetch_ms"] / max(last["admin"]["fetch_ms"], 1e-9)
    targets = [
        {
            "name": f"worker fetchAndLock(50) ms growth, backlog {backlogs[-1]} vs {backlogs[0]}",
            "value": round(growth, 2),
            "target": "<= 1.5",
            "ok": growth <= 1.5,
        },
        {
            "name": f"worker / admin fetchAndLock(50) ms at backlog {backlogs[-1]}",
            "value": round(vs_admin, 2),
            "target": "<= 1.5",
            "ok": vs_admin <= 1.5,
        },
        {
            "name": "worker GET /version median ms (basic auth per request)",
            "value": round(results["version_ms"]["worker"], 2),
            "target": "<= 5",
            "ok": results["version_ms"]["worker"] <= 5,
        },
    ]
    results["targets"] = targets
    for t in targets:
        print(f"{'OK ' if t['ok'] else 'MISS'} {t['name']}: {t['value']} (target {t['target']})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
