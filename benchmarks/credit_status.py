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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_TMP = Path(tempfile.mkdtemp(prefix="postloan-bench-credit-"))
os.environ["POSTLOAN_DATA_DIR"] = str(_TMP)
os.environ["POSTLOAN_DATABASE_URL"] = f"sqlite:///{_TMP / 'bench.db'}"

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402

from config.settings import get_settings  # noqa: E402
from postloan.access import service as access  # noqa: E402
from postloan.customers.models import Customer  # noqa: E402
from postloan.db import unit_of_work  # noqa: E402
from postloan.rectifications import restrictions, service  # noqa: E402
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        for i, customer_id in enumerate(restricted):
            severity = "serious" if i % 2 else "major"
            item = service.raise_rectification(
                session,
                customer_id=customer_id,
                loan_id=None,
                source="audit",
                source_ref="BENCH",
                title="benchmark finding",
                description="benchmark",
                severity=severity,
                owner="am_li",
                raised_by="bench",
            )
            restrictions.apply_restrictions(session, item, POLICY[severity], actor="bench")
        key = access.issue(session, name="bench-integrator", role="integrator", actor="bench")
    print(
        f"portfolio: {loans} loans, {len(customers)} customers, {len(restricted)} restricted "
        f"({time.perf_counter() - started:.1f}s to load)"
    )
    return customers, key


def run(customers: list[str], key: str, total: int, concurrency: int) -> None:
    port = free_port()
    log = open(_TMP / "api.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v1/customers"
    headers = {"Authorization": f"Bearer {key}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (
                    httpx.get(
                        f"{base}/{customers[0]}/credit-status", headers=headers, timeout=2
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the API did not start; see {_TMP / 'api.log'}")
            time.sleep(0.2)

        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        counter = iter(range(total))

        def client() -> None:
            rng = random.Random()
            with httpx.Client(headers=headers, timeout=10) as http:
                while True:
                    with lock:
                        if next(counter, None) is None:
                            return
                    customer_id = rng.choice(customers)
                    t0 = time.perf_counter()
                    r = http.get(f"{base}/{customer_id}/credit-status")
                    elapsed = time.perf_counter() - t0
                    with lock:
                        latencies.append(elapsed)
                        if r.status_code != 200:
                            errors.append(f"{r.status_code} {r.text[:100]}")

        threads = [threading.Thread(target=client) for _ in range(concurrency)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    q = statistics.quantiles(ms, n=100)
    print(
        f"credit-status: {len(ms)} requests, {concurrency} concurrent, one uvicorn worker, SQLite"
    )
    print(f"  p50 {q[49]:.1f} ms   p90 {q[89]:.1f} ms   p99 {q[98]:.1f} ms   max {ms[-1]:.1f} ms")
    print(
        f"  {len(ms) / wall:.0f} requests/s   errors: {len(errors)}"
        + (f" (first: {errors[0]})" if errors else "")
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
