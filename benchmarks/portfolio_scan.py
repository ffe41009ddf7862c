"""Benchmark of the nightly classification scan (postloan/classification/scan.py).

Builds a SQLite file with N loans and 10 repayment rows per loan (synthetic, with SQLAlchemy core
executemany: ~85% of loans current, the rest 1-90, 91-270, 271-360 and 360+ days past due, some
restructured; customers with 1-3 loans so contagion happens), then runs the scan in a child
process and prints loans, repayment rows, seconds, rows/s and peak memory: the child's maximum
resident set size (VmHWM, includes the interpreter and libraries) and, with --tracemalloc,
the peak of Python allocations during the scan (tracing slows the scan down).

    python benchmarks/portfolio_scan.py --loans 10000 --loans 100000 [--tracemalloc]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = date(2026, 6, 30)


def build(path: Path, loans: int, seed: int = 7) -> tuple[int, int, float]:
    """A fresh SQLite database with ``loans`` loans and 10 repayment rows each."""
    from sqlalchemy import create_engine
    from support import Rows, customer_row, loan_row, repayment_row

    import postloan.models  # noqa: F401  (every table)
    from postloan.db import Base, utcnow

    path.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    rng = random.Random(seed)
    started = time.perf_counter()
    now = utcnow()
    n_customers = n_repayments = 0
    made = 0

    with engine.begin() as conn:
        rows = Rows(conn)
        while made < loans:
            n_customers += 1
            cid = f"C{n_customers:08d}"
            rows.customers.append(customer_row(n_customers, now))
            for k in range(min(rng.choice((1, 1, 2, 2, 3)), loans - made)):
                made += 1
                lid = f"L{n_customers:08d}-{k + 1}"
                roll = rng.random()
                dpd = (
                    0
                    if roll < 0.85
                    else rng.randint(1, 90)
                    if roll < 0.93
                    else rng.randint(91, 270)
                    if roll < 0.97
                    else rng.randint(271, 360)
                    if roll < 0.985
                    else rng.randint(361, 500)
                )
                amount = Decimal(rng.randrange(50_000, 5_000_000, 1000))
                restructured = (
                    AS_OF - timedelta(days=rng.randint(30, 700)) if rng.random() < 0.02 else None
                )
                rows.loans.append(
                    loan_row(lid, cid, amount, AS_OF, now, restructured_on=restructured)
                )
                due_amount = (amount / 24).quantize(Decimal("0.01"))
                # Ten monthly instalments, the newest due 10 days ago; unpaid from ``dpd`` back.
                for m in range(10):
                    due = AS_OF - timedelta(days=10 + 30 * m)
                    if m == 9 and dpd > 280:
                        due = AS_OF - timedelta(days=dpd)
                    unpaid = dpd > 0 and (AS_OF - due).days <= dpd
                    rows.repayments.append(
                        repayment_row(
                            lid,
                            due,
                            due_amount,
                            None if unpaid else due,
                            Decimal(0) if unpaid else due_amount,
                            now,
                        )
                    )
                    n_repayments += 1
            rows.flush()
        rows.flush(force=True)
    engine.dispose()
    return made, n_repayments, time.perf_counter() - started


def _peak_rss_kb() -> int:
    """This process's peak resident set size: VmHWM (Linux; reset by exec, unlike ru_maxrss,
    which a child inherits from the process it was forked from), else getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_scan(path: Path, trace: bool) -> dict:
    """In this (child) process: the scan over the database; its measurements as a dict."""
    import tracemalloc

    from sqlalchemy import create_engine

    from postloan.classification.rules import bundled_table
    from postloan.classification.scan import scan

    engine = create_engine(f"sqlite:///{path}")
    table = bundled_table()
    before_kb = _peak_rss_kb()
    if trace:
        tracemalloc.start()
    result = scan(engine, table, AS_OF, progress=True, raise_signals=False)
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    maxrss_kb = _peak_rss_kb()
    return {
        "loans": result.loans,
        "repayment_rows": result.repayment_rows,
        "seconds": result.seconds,
        "changes": result.changes,
        "contagion": result.contagion,
        "by_class": result.by_class,
        "tracemalloc_peak_mb": None if peak is None else peak / 2**20,
        "maxrss_mb": maxrss_kb / 1024,
        "rss_before_mb": before_kb / 1024,
    }


def build_generated(path: Path, loans: int) -> tuple[int, int, float]:
    """The realistic generated portfolio (postloanctl.generator) loaded by the bulk importer."""
    from sqlalchemy import func, select

    from api.import_rows import ROW_MODELS
    from config.settings import Settings
    from postloan.db import unit_of_work
    from postloan.importer import Importer
    from postloan.loans.models import Repayment
    from postloanctl.__main__ import migrate
    from postloanctl.generator import generate_portfolio

    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate(Settings(database_url=url))
    started = time.perf_counter()
    with unit_of_work(url) as session:
        counts = Importer(session, ROW_MODELS, actor="bench", as_of=AS_OF).import_portfolio(
            generate_portfolio(loans, seed=7, today=AS_OF)
        )
        rows = session.scalar(select(func.count()).select_from(Repayment)) or 0
    return counts["loans"], rows, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--loans",
        type=int,
        action="append",
        help="portfolio size (repeatable; default 10000 and 100000)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also measure the peak of Python allocations (slower)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite files go")
    parser.add_argument(
        "--source",
        choices=["synthetic", "generator"],
        default="synthetic",
        help="synthetic: fast core inserts with a controlled class mix; "
        "generator: the demo generator's portfolio through the bulk importer",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_scan(args.child, args.tracemalloc)))
        return 0
    folder = args.dir or Path(tempfile.mkdtemp(prefix="portfolio-scan-"))
    for n in args.loans or [10_000, 100_000]:
        path = folder / f"portfolio-{n}.db"
        loans, rows, build_s = (build_generated if args.source == "generator" else build)(path, n)
        print(
            f"built {loans} loans / {rows} repayment rows in {build_s:.1f}s "
            f"({rows / build_s:,.0f} rows/s) -> {path}",
            flush=True,
        )
        cmd = [sys.executable, __file__, "--child", str(path)]
        if args.tracemalloc:
            cmd.append("--tracemalloc")
        out = subprocess.run(
            cmd,
            check=True,
            capture_output=False,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
            env={**os.environ},
        ).stdout
        m = json.loads(out.strip().splitlines()[-1])
        traced = (
            f", tracemalloc peak {m['tracemalloc_peak_mb']:.1f} MB"
            if m["tracemalloc_peak_mb"] is not None
            else ""
        )
        print(
            f"scan: loans {m['loans']}, repayment rows {m['repayment_rows']}, "
            f"{m['seconds']:.1f} s, {m['repayment_rows'] / m['seconds']:,.0f} rows/s "
            f"({m['loans'] / m['seconds']:,.0f} loans/s), peak RSS {m['maxrss_mb']:.0f} MB "
            f"({m['rss_before_mb']:.0f} MB before the scan)"
            f"{traced}; {m['changes']} changes ({m['contagion']} by contagion), "
            f"classes {m['by_class']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
