"""What the benchmark scripts share: a fresh data directory and engine port, the engine started
and provisioned, REST clients as the engine's users, loans seeded, the API served and driven.

Importing it puts the repository root on ``sys.path`` and imports nothing else of the project, so a
script imports it first and calls :func:`isolate` before anything reads the settings. Helpers that
the resilience stack has too (``tests/resilience/stack.py``: seeding a loan, the API's command
line) are the stack's own, imported from there.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings
    from gateway.engine import EngineGateway
    from postloanctl.engine_process import EngineProcess

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- environment and engine ---------------------------------------------------------------------


def isolate(prefix: str, engine: bool = True) -> tuple[Path, int]:
    """A fresh temporary directory for this run's data and SQLite database and, with ``engine``,
    a free port for the engine, all in the environment the settings read: (directory, port)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["POSTLOAN_DATA_DIR"] = str(tmp)
    os.environ["POSTLOAN_DATABASE_URL"] = f"sqlite:///{tmp / 'bench.db'}"
    port = 0
    if engine:
        from postloanctl.engine_process import EngineProcess

        port = EngineProcess.free_port()
        os.environ["POSTLOAN_ENGINE_URL"] = f"http://127.0.0.1:{port}/engine-rest"
    return tmp, port


def start_engine(tmp: Path, port: int, quiet: bool = False) -> EngineProcess:
    """The engine jar on ``port`` with a fresh H2 database under ``tmp``, started (and, unless
    ``quiet``, how long that took printed)."""
    from postloanctl.engine_process import EngineProcess

    engine = EngineProcess(port, tmp / "engine", tmp / "engine.log")
    t0 = time.monotonic()
    engine.start()
    if not quiet:
        print(f"engine started in {time.monotonic() - t0:.1f}s (H2, fresh database)", flush=True)
    return engine


def migrate_and_provision(settings: Settings, deploy_timeout: float | None = None) -> None:
    """The project database's schema, then the engine's identities, authorizations and bpmn/.
    ``deploy_timeout``: a longer HTTP timeout for provisioning only (a long deploy on a busy
    machine)."""
    from gateway.provision import provision
    from postloanctl.__main__ import migrate

    migrate(settings)
    if deploy_timeout is not None:
        settings = settings.model_copy(update={"engine_timeout_seconds": deploy_timeout})
    provision(settings)


def gateway(settings: Settings, user: str, timeout: float) -> EngineGateway:
    """The engine's REST API as one of the configured users: ``admin``, ``api`` or ``worker``."""
    from gateway.engine import EngineGateway

    password = getattr(settings, f"engine_{user}_password").get_secret_value()
    return EngineGateway(
        settings.engine_url, getattr(settings, f"engine_{user}_user"), password, timeout
    )


def run_in_thread(worker: Any) -> threading.Thread:
    """``worker.run`` started on a daemon thread."""
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


def _stack() -> Any:
    """tests/resilience/stack.py (it imports tests/pgcluster.py)."""
    for folder in (ROOT / "tests", ROOT / "tests" / "resilience"):
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
    import stack

    return stack


# -- loans through the domain services ----------------------------------------------------------


def seed_loans(
    count: int,
    prefix: str,
    *,
    name: str = "Bench {prefix} {n}",
    digits: int = 5,
    months: int = 12,
    paid: Callable[[int, int], bool] = lambda n, k: True,
    managers: Sequence[str] = ("am_li",),
    batch: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> list[str]:
    """``count`` micro loans of 100,000 CNY (customer ``{prefix}C{n}``, loan ``{prefix}L{n}``,
    ``n`` with ``digits`` digits) disbursed a year ago, due in a year, with ``months`` monthly
    instalments up to a month ago (instalment ``k`` paid when ``paid(n, k)``), the account
    manager ``managers[n % len(managers)]``; ``batch`` loans a transaction (all in one by
    default), ``on_batch(loans so far)`` after each. Returns the loan ids."""
    from config.settings import get_settings
    from postloan.db import unit_of_work

    register_loan = _stack().register_loan
    today = date.today()
    ids: list[str] = []
    step = batch or max(count, 1)
    for base in range(0, count, step):
        with unit_of_work(get_settings().database_url) as session:
            for n in range(base, min(count, base + step)):
                cid, lid = f"{prefix}C{n:0{digits}d}", f"{prefix}L{n:0{digits}d}"
                register_loan(
                    session,
                    cid,
                    lid,
                    name=name.format(prefix=prefix, n=n),
                    branch="B1",
                    product="MICRO",
                    disbursed_on=today - timedelta(days=365),
                    maturity_on=today + timedelta(days=365),
                    instalments=[
                        (today - timedelta(days=30 * (months - k)), paid(n, k))
                        for k in range(months)
                    ],
                    actor="bench",
                    account_manager=managers[n % len(managers)],
                )
                ids.append(lid)
        if on_batch is not None:
            on_batch(min(count, base + step))
    return ids


def restrict(session: Any, customer_ids: Iterable[str], policy: dict[str, dict[str, Any]]) -> str:
    """An open audit rectification for each customer, major and serious in turn, with the
    restrictions ``policy`` gives its severity; then an integrator API key (returned)."""
    from postloan.access import service as access
    from postloan.rectifications import restrictions, service

    for i, customer_id in enumerate(customer_ids):
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
        restrictions.apply_restrictions(session, item, policy[severity], actor="bench")
    return access.issue(session, name="bench-integrator", role="integrator", actor="bench")


# -- synthetic rows, inserted with SQLAlchemy core executemany -----------------------------------


def customer_row(n: int, now: datetime) -> dict[str, Any]:
    return {
        "id": f"C{n:08d}",
        "name": f"Bench Co {n}",
        "segment": "sme",
        "industry": "manufacturing",
        "branch": f"BR-{n % 40:02d}",
        "account_manager": "am_li",
        "credit_rating": "BBB",
        "created_at": now,
        "modified_at": now,
    }


def loan_row(
    loan_id: str, customer_id: str, amount: Decimal, as_of: date, now: datetime, **extra: Any
) -> dict[str, Any]:
    """A current SME loan disbursed 700 days before ``as_of``, not yet classified."""
    return {
        "id": loan_id,
        "customer_id": customer_id,
        "product": "SME-OPERATING",
        "amount": amount,
        "currency": "CNY",
        "disbursed_on": as_of - timedelta(days=700),
        "maturity_on": as_of + timedelta(days=400),
        "purpose": "working capital",
        "risk_class": "normal",
        "risk_class_reason": "Not yet classified: new loan",
        "delinquency_bucket": "current",
        "created_at": now,
        "modified_at": now,
        **extra,
    }


def repayment_row(
    loan_id: str,
    due: date,
    due_amount: Decimal,
    paid_on: date | None,
    paid_amount: Decimal,
    now: datetime,
) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "due_on": due,
        "due_amount": due_amount,
        "paid_on": paid_on,
        "paid_amount": paid_amount,
        "kind": "instalment",
        "created_at": now,
        "modified_at": now,
    }


class Rows:
    """Customer, loan and repayment rows to insert over ``conn``, in batches of about
    ``batch`` repayment rows."""

    def __init__(self, conn: Any, batch: int = 200_000) -> None:
        self.conn = conn
        self.batch = batch
        self.customers: list[dict[str, Any]] = []
        self.loans: list[dict[str, Any]] = []
        self.repayments: list[dict[str, Any]] = []

    def flush(self, force: bool = False) -> None:
        """Insert what is held, when it is a batch or with ``force``."""
        from sqlalchemy import insert

        from postloan.customers.models import Customer
        from postloan.loans.models import Loan, Repayment

        if not force and len(self.repayments) < self.batch:
            return
        for table, rows in (
            (Customer.__table__, self.customers),
            (Loan.__table__, self.loans),
            (Repayment.__table__, self.repayments),
        ):
            if rows:
                self.conn.execute(insert(table), rows)
            rows.clear()


# -- the API under load ---------------------------------------------------------------------------


@contextmanager
def api_server(
    env: dict[str, str], log_path: Path, probe: str, headers: dict[str, str], timeout: float
) -> Iterator[str]:
    """The API as the product runs it (uvicorn ``api.main:app``, one worker, no access log) on a
    free port, its output in ``log_path``, from when ``probe`` (a path below ``/api/v1``) answers
    200 until the block ends: the API's base URL."""
    import httpx

    from postloanctl.engine_process import EngineProcess

    port = EngineProcess.free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, *_stack().api_args(port), "--no-access-log"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(base + probe, headers=headers, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"the API did not start; see {log_path}")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def load(
    total: int,
    concurrency: int,
    kinds: Iterable[str],
    request: Callable[[int, random.Random], tuple[str, str]],
    seeded: bool = True,
    **client: Any,
) -> tuple[dict[str, list[float]], list[tuple[str, str]], float]:
    """``total`` GETs from ``concurrency`` threads, each over one keep-alive ``httpx.Client(
    **client)``: thread ``i``'s ``j``-th request (``j`` counted from ``i``) is ``request(j, rng)``
    -> (kind, url), with ``rng`` seeded with ``i`` (or not). Returns the seconds each request took
    by kind, the errors (kind, ``"{status} {body}"``) and the wall time in seconds."""
    import httpx

    latencies: dict[str, list[float]] = {k: [] for k in kinds}
    errors: list[tuple[str, str]] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def run(i: int) -> None:
        rng = random.Random(i) if seeded else random.Random()
        with httpx.Client(**client) as http:
            j = i
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                kind, url = request(j, rng)
                j += 1
                t0 = time.perf_counter()
                r = http.get(url)
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies[kind].append(elapsed)
                    if r.status_code != 200:
                        errors.append((kind, f"{r.status_code} {r.text[:100]}"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - started
