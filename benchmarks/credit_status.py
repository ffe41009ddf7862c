"""Benchmark: ``GET /api/v1/customers/{id}/credit-status``, the check core banking calls before
every disbursement.

Loads the demo portfolio (``postloanctl.demo.load_portfolio``) into a temporary SQLite database,
raises serious/major rectifications with their restrictions for a share of the customers, starts
the API with uvicorn in a subprocess on a free port (no engine needed: the check never calls it)
and fires concurrent requests over keep-alive connections.

    .venv/bin/python benchmarks/credit_status.py [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import time

from support import api_server, isolate, load, restrict

_TMP, _ = isolate("postloan-bench-credit-", engine=False)

from sqlalchemy import select  # noqa: E402

from config.settings import get_settings  # noqa: E402
from postloan.customers.models import Customer  # noqa: E402
from postloan.db import unit_of_work  # noqa: E402
from postloanctl.__main__ import migrate  # noqa: E402
from postloanctl.demo import load_portfolio  # noqa: E402

POLICY = {
    "serious": {
        "freeze_disbursement": True,
        "restrict_new_business": True,
        "reason": "benchmark: serious item open",
    },
    "major": {
        "freeze_disbursement": False,
        "restrict_new_business": True,
        "reason": "benchmark: major item open",
    },
}


def prepare(restricted_share: float) -> tuple[list[str], str]:
    settings = get_settings()
    migrate(settings)
    logging.getLogger("postloan").setLevel(logging.ERROR)  # one warning per restriction
    started = time.perf_counter()
    with unit_of_work(settings.database_url) as session:
        loans = load_portfolio(session)
        customers = list(session.scalars(select(Customer.id).order_by(Customer.id)))
        rng = random.Random(7)
        restricted = rng.sample(customers, int(len(customers) * restricted_share))
        key = restrict(session, restricted, POLICY)
    print(
        f"portfolio: {loans} loans, {len(customers)} customers, {len(restricted)} restricted "
        f"({time.perf_counter() - started:.1f}s to load)"
    )
    return customers, key


def run(customers: list[str], key: str, total: int, concurrency: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    probe = f"/customers/{customers[0]}/credit-status"
    with api_server(os.environ.copy(), _TMP / "api.log", probe, headers, 60) as api:
        base = f"{api}/customers"
        by_kind, errors, wall = load(
            total,
            concurrency,
            ["credit-status"],
            lambda j, rng: ("credit-status", f"{base}/{rng.choice(customers)}/credit-status"),
            seeded=False,
            headers=headers,
            timeout=10,
        )
    latencies = by_kind["credit-status"]
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    q = statistics.quantiles(ms, n=100)
    print(
        f"credit-status: {len(ms)} requests, {concurrency} concurrent, one uvicorn worker, SQLite"
    )
    print(f"  p50 {q[49]:.1f} ms   p90 {q[89]:.1f} ms   p99 {q[98]:.1f} ms   max {ms[-1]:.1f} ms")
    print(
        f"  {len(ms) / wall:.0f} requests/s   errors: {len(errors)}"
        + (f" (first: {errors[0][1]})" if errors else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--restricted-share", type=float, default=0.15)
    args = parser.parse_args()
    customers, key = prepare(args.restricted_share)
    run(customers, key, args.requests, args.concurrency)


if __name__ == "__main__":
    main()
