"""Benchmark: a routine-inspection campaign over a portfolio, started and driven through the checks.

One engine started here (fresh H2), a fresh SQLite database, bpmn/ deployed, N loans seeded, the
project's workers running (as shipped, with their outbox relay, which starts the processes). The
starter is the product's own per-loan start, ``postloan.application.inspections
.start_routine_inspection`` (through ``gateway.processes``): each loan its own transaction under
the loan's lock, the inspection and its process start (outbox) committed together, nothing done
for a loan with an open inspection. It runs in a child process with a progress bar on stderr.

Measured per size: wall time from the first start until every inspection has passed the automated
part (propose_classification finished), and instances per second. Rerun safety: a starter is killed
(SIGKILL) half way through and run again over the same portfolio; afterwards every loan must have
exactly one inspection and exactly one process instance (per business key), none missing.

    .venv/bin/python benchmarks/campaign.py [--sizes 1000 10000] [--quick]
        [--json var/bench/campaign.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import support
from support import ROOT

CHILD = os.environ.get("BENCH_CAMPAIGN_CHILD") == "1"
if not CHILD:
    _TMP, ENGINE_PORT = support.isolate("postloan-bench-campaign-")

from config.logging import setup_logging  # noqa: E402
from config.settings import get_settings  # noqa: E402
from gateway.engine import EngineGateway  # noqa: E402

KEY = "post_loan_inspection"


def progress(done: int, total: int, started: float, label: str) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    rate = done / max(time.monotonic() - started, 1e-9)
    sys.stderr.write(
        f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {rate:6.1f}/s"
    )
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


# -- the starter (child process) ---------------------------------------------------------------
def run_starter(prefix: str, total: int) -> None:
    from gateway.processes import start_routine_inspection
    from postloan.db import unit_of_work

    settings = get_settings()
    api = support.gateway(settings, "api", 30)
    started = time.monotonic()
    fresh = 0
    for n in range(total):
        with unit_of_work(settings.database_url) as session:
            if start_routine_inspection(session, api, f"{prefix}L{n:05d}", "campaign") is not None:
                fresh += 1
        if n % 25 == 0 or n + 1 == total:
            progress(n + 1, total, started, f"starting {prefix}")
        print(n + 1, flush=True)  # the parent reads how far the starter got
    sys.stderr.write(f"{fresh} started, {total - fresh} already had an open inspection\n")


# -- the parent ----------------------------------------------------------------------------------
def seed(prefix: str, count: int) -> None:
    """Loans with one instalment, paid, of am_li's and am_zhang's customers in turn; 500 loans a
    transaction."""
    started = time.monotonic()
    support.seed_loans(
        count,
        prefix,
        name="Campaign {prefix} {n}",
        months=1,
        managers=("am_li", "am_zhang"),
        batch=500,
        on_batch=lambda done: progress(done, count, started, f"seeding  {prefix}"),
    )


def starter(prefix: str, total: int) -> subprocess.Popen:
    env = {**os.environ, "BENCH_CAMPAIGN_CHILD": "1"}
    return subprocess.Popen(
        [sys.executable, __file__, "--role", "starter", "--prefix", prefix, "--total", str(total)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def reached(admin: EngineGateway, prefix: str) -> int:
    """The campaign's routine inspections (of its own loans, ``prefix``) through their automated
    checks: ``propose_classification`` (the last automated step before the visit mode) finished.
    Routine inspections may go on to an outsourced vendor visit instead of perform_inspection,
    so perform_inspection is not the mark; special inspections that the checks of the same
    loans raise are not counted."""
    return admin.call(
        "GET",
        "/history/process-instance/count",
        params={
            "processDefinitionKey": KEY,
            "executedActivityIdIn": "propose_classification",
            "variables": f"loan_id_like_{prefix}L%,kind_eq_routine",
        },
    )["count"]


def campaign(prefix: str, size: int, admin: EngineGateway, timeout: float) -> dict[str, Any]:
    seed(prefix, size)
    started = time.monotonic()
    proc = starter(prefix, size)
    assert proc.stdout is not None
    for _ in proc.stdout:
        pass
    proc.wait()
    start_s = time.monotonic() - started
    done_s = None
    last = -1
    while time.monotonic() - started < timeout:
        got = reached(admin, prefix)
        if got != last:
            progress(min(got, size), size, started, f"checks   {prefix}")
            last = got
        if got >= size:
            done_s = time.monotonic() - started
            break
        time.sleep(1.0)
    return {
        "prefix": prefix,
        "loans": size,
        "starter_exit": proc.returncode,
        "start_s": round(start_s, 2),
        "wall_s": None if done_s is None else round(done_s, 2),
        "instances_per_s": None if done_s is None else round(size / done_s, 2),
        "through_checks": reached(admin, prefix),
    }


def interrupted(prefix: str, size: int, admin: EngineGateway) -> dict[str, Any]:
    """Kill the starter half way through, run it again, count per loan and per business key."""
    from sqlalchemy import func, select

    from postloan.db import unit_of_work
    from postloan.inspections.models import Inspection

    seed(prefix, size)
    proc = starter(prefix, size)
    assert proc.stdout is not None
    got = 0
    for line in proc.stdout:
        got = int(line)
        if got >= size // 2:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    killed_at = got
    sys.stderr.write(f"\nstarter killed after {killed_at}/{size} loans; running it again\n")
    again = starter(prefix, size)
    assert again.stdout is not None
    for _ in again.stdout:
        pass
    again.wait()
    settings = get_settings()
    with unit_of_work(settings.database_url) as session:
        rows = session.execute(
            select(Inspection.loan_id, func.count(Inspection.id))
            .where(Inspection.loan_id.like(f"{prefix}L%"))
            .group_by(Inspection.loan_id)
        ).all()
        ids = set(
            session.scalars(select(Inspection.id).where(Inspection.loan_id.like(f"{prefix}L%")))
        )
    per_loan = Counter({loan: n for loan, n in rows})
    # Every inspection's process started (the relay may still be draining): wait for them.
    deadline = time.monotonic() + 300
    while True:
        instances = admin.call(
            "GET",
            "/history/process-instance",
            params={"processDefinitionKey": KEY, "maxResults": 1_000_000},
        )
        keys = Counter(i["businessKey"] for i in instances if i["businessKey"] in ids)
        if len(keys) >= len(ids) or time.monotonic() > deadline:
            break
        time.sleep(1)
    return {
        "loans": size,
        "killed_after": killed_at,
        "rerun_exit": again.returncode,
        "loans_with_inspection": len(per_loan),
        "loans_started_twice": sum(1 for n in per_loan.values() if n > 1),
        "loans_lost": size - len(per_loan),
        "business_keys_with_instance": len(keys),
        "business_keys_with_two_instances": sum(1 for n in keys.values() if n > 1),
        "inspections_without_instance": len(ids - set(keys)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--role", default="bench", choices=["bench", "starter"])
    parser.add_argument("--prefix", default="")
    parser.add_argument("--total", type=int, default=0)
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--interrupt-size", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="sizes 100 and 1000, interrupt 60")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--json", default=str(ROOT / "var" / "bench" / "campaign.json"))
    args = parser.parse_args()
    setup_logging("WARNING")
    if args.role == "starter":
        run_starter(args.prefix, args.total)
        return
    if args.quick:
        args.sizes, args.interrupt_size = [100, 1000], 60
    settings = get_settings()

    from workers.__main__ import build_worker

    engine = support.start_engine(_TMP, ENGINE_PORT)
    results: list[dict[str, Any]] = []
    rerun: dict[str, Any] = {}
    try:
        support.migrate_and_provision(settings, deploy_timeout=180)
        admin = support.gateway(settings, "admin", 60)
        worker = build_worker()
        thread = support.run_in_thread(worker)
        rerun = interrupted("R", args.interrupt_size, admin)
        print(json.dumps(rerun), flush=True)
        for i, size in enumerate(args.sizes):
            row = campaign(f"S{i}", size, admin, args.timeout)
            results.append(row)
            print(json.dumps(row), flush=True)
        worker.stop()
        thread.join(timeout=60)
    finally:
        engine.stop()

    small, big = results[0], results[1]
    ratio = round(big["wall_s"] / small["wall_s"], 2) if small["wall_s"] and big["wall_s"] else None
    allowed = round(11 * big["loans"] / small["loans"] / 10, 2)
    targets = [
        {
            "name": f"time({big['loans']}) / time({small['loans']})",
            "value": ratio,
            "target": allowed,
            "ok": ratio is not None and ratio <= allowed,
        },
        {
            "name": "loans started twice after an interrupted and rerun starter",
            "value": rerun.get("loans_started_twice", 0)
            + rerun.get("business_keys_with_two_instances", 0),
            "target": 0,
            "ok": rerun.get("loans_started_twice") == 0
            and rerun.get("business_keys_with_two_instances") == 0,
        },
        {
            "name": "loans lost after an interrupted and rerun starter",
            "value": rerun.get("loans_lost", 0) + rerun.get("inspections_without_instance", 0),
            "target": 0,
            "ok": rerun.get("loans_lost") == 0 and rerun.get("inspections_without_instance") == 0,
        },
    ]
    print()
    print(f"{'loans':>6} {'wall s':>8} {'instances/s':>12}")
    for r in results:
        wall, rate = r["wall_s"] or float("nan"), r["instances_per_s"] or 0.0
        print(f"{r['loans']:>6} {wall:>8.1f} {rate:>12.1f}")
    for t in targets:
        print(f"{t['name']}: {t['value']} (target {t['target']}) {'ok' if t['ok'] else 'MISSED'}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"benchmark": "campaign", "results": results, "rerun": rerun, "targets": targets},
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
