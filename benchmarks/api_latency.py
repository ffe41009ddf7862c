"""Benchmark: API latency under load — ``GET /api/v1/customers/{id}/credit-status``,
``GET /api/v1/loans/{id}`` and the trivial authenticated ``GET /api/v1/whoami`` of the same app,
with the same API key, in one run.

For each size (``--loans``, repeatable) and database (``--db``): seeds N loans fast (the synthetic
portfolio of benchmarks/portfolio_scan.py: SQLAlchemy core executemany, 10 repayment rows a loan,
1-3 loans a customer; a share of the customers under restrictions as in
benchmarks/credit_status.py), starts the API as the product runs it (uvicorn ``api.main:app``,
one worker) on a free port, then drives ``--concurrency`` clients (keep-alive connections, random
ids) round-robin over the three endpoints, each endpoint measured over the same period. Prints a
table with p50/p95/p99, requests/s and the ratio credit-status p99 / whoami p99 (and loan p99 /
whoami p99), and writes them to ``--json`` with a top-level ``targets`` list.

PostgreSQL: a throwaway cluster with Debian's server binaries (tests/pgcluster.py, as the test
suite's ``postgres_server`` fixture), or ``POSTLOAN_TEST_POSTGRES_URL``.

    .venv/bin/python benchmarks/api_latency.py [--loans 10000 --loans 100000] [--db both] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from support import ROOT, Rows, api_server, customer_row, load, loan_row, repayment_row, restrict

sys.path.insert(0, str(ROOT / "tests"))  # pgcluster

AS_OF = date.today()
TARGET_RATIO = 2.0
ENDPOINTS = ("credit-status", "loan", "whoami")


def seed(url: str, loans: int, restricted_share: float = 0.15, rng_seed: int = 7) -> dict:
    """A fresh schema at ``url`` with ``loans`` loans, 10 repayment rows each, restrictions and open
    rectifications for ``restricted_share`` of the customers and one integrator API key."""
    from sqlalchemy import create_engine

    import postloan.models  # noqa: F401  (every table)
    from postloan.db import Base, unit_of_work, utcnow

    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    rng = random.Random(rng_seed)
    started = time.perf_counter()
    now = utcnow()
    customer_ids: list[str] = []
    loan_ids: list[str] = []

    with engine.begin() as conn:
        rows = Rows(conn)
        n = 0
        while len(loan_ids) < loans:
            n += 1
            cid = f"C{n:08d}"
            customer_ids.append(cid)
            rows.customers.append(customer_row(n, now))
            for k in range(min(rng.choice((1, 1, 2, 2, 3)), loans - len(loan_ids))):
                lid = f"L{n:08d}-{k + 1}"
                loan_ids.append(lid)
                amount = Decimal(rng.randrange(50_000, 5_000_000, 1000))
                rows.loans.append(loan_row(lid, cid, amount, AS_OF, now))
                due_amount = (amount / 24).quantize(Decimal("0.01"))
                late = rng.random() < 0.2
                for m in range(10):
                    due = AS_OF - timedelta(days=10 + 30 * m)
                    paid = due + timedelta(days=rng.randint(1, 20)) if late and m < 3 else due
                    rows.repayments.append(
                        repayment_row(lid, due, due_amount, paid, due_amount, now)
                    )
            rows.flush()
        rows.flush(force=True)
    engine.dispose()

    import logging

    logging.getLogger("postloan").setLevel(logging.ERROR)  # one warning per restriction
    policy = {
        "serious": {"freeze_disbursement": True, "restrict_new_business": True, "reason": "b"},
        "major": {"freeze_disbursement": False, "restrict_new_business": True, "reason": "b"},
    }
    restricted = rng.sample(customer_ids, min(500, int(len(customer_ids) * restricted_share)))
    with unit_of_work(url) as session:
        key = restrict(session, restricted, policy)
    return {
        "customers": customer_ids,
        "loans": loan_ids,
        "key": key,
        "restricted": len(restricted),
        "seed_seconds": time.perf_counter() - started,
    }


def _quantiles(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    q = statistics.quantiles(ms, n=100) if len(ms) >= 2 else [ms[0]] * 99
    return {"p50": q[49], "p95": q[94], "p99": q[98], "max": ms[-1]}


def drive(url: str, data: dict, total: int, concurrency: int, tmp: Path) -> dict[str, Any]:
    env = os.environ.copy()
    env["POSTLOAN_DATABASE_URL"] = url
    env["POSTLOAN_DATA_DIR"] = str(tmp)
    import httpx

    headers = {"Authorization": f"Bearer {data['key']}"}
    customers, loans = data["customers"], data["loans"]

    def path(kind: str, rng: random.Random) -> str:
        if kind == "credit-status":
            return f"/customers/{rng.choice(customers)}/credit-status"
        if kind == "loan":
            return f"/loans/{rng.choice(loans)}"
        return "/whoami"

    def request(j: int, rng: random.Random) -> tuple[str, str]:
        kind = ENDPOINTS[j % len(ENDPOINTS)]
        return kind, path(kind, rng)

    with api_server(env, tmp / "api.log", "/whoami", headers, 90) as base:
        # warm-up: every endpoint once per client connection
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            wrng = random.Random(1)
            for _ in range(30):
                for kind in ENDPOINTS:
                    http.get(path(kind, wrng))

        seconds, failures, wall = load(
            total, concurrency, ENDPOINTS, request, base_url=base, headers=headers, timeout=30
        )
    latencies = {kind: [v * 1000 for v in values] for kind, values in seconds.items()}
    errors = [f"{kind}: {message}" for kind, message in failures]
    out: dict[str, Any] = {"wall_seconds": wall, "errors": len(errors), "first_error": None}
    if errors:
        out["first_error"] = errors[0]
    for kind in ENDPOINTS:
        out[kind] = {**_quantiles(latencies[kind]), "requests": len(latencies[kind])}
        out[kind]["rps"] = len(latencies[kind]) / wall
    out["total_rps"] = sum(len(v) for v in latencies.values()) / wall
    out["ratio_credit_status"] = out["credit-status"]["p99"] / out["whoami"]["p99"]
    out["ratio_loan"] = out["loan"]["p99"] / out["whoami"]["p99"]
    return out


def postgres_base() -> tuple[str, Any]:
    if url := os.environ.get("POSTLOAN_TEST_POSTGRES_URL"):
        return url.rstrip("/") + "/", None
    from pgcluster import MISSING, PostgresCluster, server_binaries

    if server_binaries() is None:
        raise SystemExit(MISSING)
    cluster = PostgresCluster().start()
    return cluster.url, cluster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, action="append", help="repeatable")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "bench" / "api_latency.json")
    parser.add_argument("--requests", type=int, default=None, help="total over the 3 endpoints")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer requests")
    args = parser.parse_args()
    sizes = args.loans or ([2000] if args.quick else [10_000, 100_000])
    total = args.requests or (1500 if args.quick else 9000)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    tmp = Path(tempfile.mkdtemp(prefix="postloan-bench-api-"))
    results: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    cluster = None
    pg_base: str | None = None
    try:
        for db in dbs:
            for n in sizes:
                if db == "sqlite":
                    url = f"sqlite:///{tmp / f'bench-{n}.db'}"
                else:
                    if pg_base is None:
                        pg_base, cluster = postgres_base()
                    url = pg_base + "postgres"
                data = seed(url, n)
                print(
                    f"[{db}] {n} loans, {len(data['customers'])} customers, "
                    f"{data['restricted']} restricted, seeded in {data['seed_seconds']:.1f}s",
                    flush=True,
                )
                r = drive(url, data, total, args.concurrency, tmp)
                r.update(db=db, loans=n, concurrency=args.concurrency)
                results.append(r)
                for ratio in ("ratio_credit_status", "ratio_loan"):
                    targets.append(
                        {
                            "name": f"{db}/{n}/{ratio.removeprefix('ratio_')}_p99_over_whoami_p99",
                            "value": round(r[ratio], 3),
                            "target": TARGET_RATIO,
                            "ok": r[ratio] <= TARGET_RATIO,
                        }
                    )
                targets.append(
                    {"name": f"{db}/{n}/errors", "value": r["errors"], "target": 0,
                     "ok": r["errors"] == 0}
                )  # fmt: skip
    finally:
        if cluster is not None:
            cluster.destroy()

    print()
    head = f"{'db':8} {'loans':>7} {'endpoint':14} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>7}"
    print(head + "  ratio p99/whoami")
    for r in results:
        for kind in ENDPOINTS:
            e = r[kind]
            ratio = e["p99"] / r["whoami"]["p99"]
            print(
                f"{r['db']:8} {r['loans']:>7} {kind:14} {e['p50']:7.1f} {e['p95']:7.1f} "
                f"{e['p99']:7.1f} {e['rps']:7.0f}  {ratio:.2f}"
            )
        print(f"{'':8} {'':>7} {'all':14} total {r['total_rps']:.0f} req/s, errors {r['errors']}")
    print("\ntargets:")
    for t in targets:
        print(f"  {'ok  ' if t['ok'] else 'FAIL'} {t['name']}: {t['value']} (<= {t['target']})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"targets": targets, "results": results}, indent=2) + "\n")
    print(f"written: {args.json}")
    return 0 if all(t["ok"] for t in targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
