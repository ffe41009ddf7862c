"""Benchmark of a quarter's assessment (postloan/assessment): every indicator at every level.

Builds a SQLite file with N loans (synthetic, SQLAlchemy core executemany, the approach of
``benchmarks/portfolio_scan.py``): customers with 1-3 loans over 6 branches, 40 account managers,
12 post-loan officers and 5 vendors; per loan one inspection due in the quarter (70% on time, 20%
late, 10% missing; 20% outsourced; a quarter of them reworked) and three instalments (5% paid a
few days late); 8% of loans turning overdue, signals on 15%, rectifications on 4%, credit
applications with a rating on 2%, on-site verifications on 5% of the inspections. Then computes
the quarter (all four levels, the scorecard DMN applied) in a child process and prints the
seconds and peak memory: the child's maximum resident set size (VmHWM: interpreter and
libraries included) and, with --tracemalloc, the peak of Python allocations during the
computation (tracing slows it down).

    python benchmarks/assessment_quarter.py --loans 10000 --loans 100000 [--tracemalloc]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.portfolio_scan import _peak_rss_kb  # noqa: E402  (the child's peak memory)

PERIOD = "2026-Q3"
START = date(2026, 7, 1)
TODAY = date(2026, 12, 3)
BATCH = 20_000
BRANCHES = ("BR-SH-01", "BR-BJ-02", "BR-SZ-03", "BR-GZ-04", "BR-HZ-05", "BR-CD-06")


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def build(path: Path, loans: int, seed: int = 7) -> tuple[dict[str, int], float]:
    """A fresh SQLite database with ``loans`` loans and a quarter of post-loan work."""
    from sqlalchemy import create_engine, insert

    import postloan.models  # noqa: F401  (every table)
    from postloan.credit.models import CreditApplication
    from postloan.customers.models import Customer
    from postloan.db import Base, utcnow
    from postloan.inspections.models import Inspection, InspectionFinding
    from postloan.loans.models import DelinquencyBucketChange, Loan, Repayment
    from postloan.rectifications.models import Rectification
    from postloan.signals.models import RiskSignal
    from postloan.vendors.models import Vendor, VisitAssignment

    path.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    rng = random.Random(seed)
    now = utcnow()
    stamp = {"created_at": now, "modified_at": now}
    tables = {
        "customer": Customer,
        "loan": Loan,
        "inspection": Inspection,
        "visit_assignment": VisitAssignment,
        "inspection_finding": InspectionFinding,
        "repayment": Repayment,
        "bucket_change": DelinquencyBucketChange,
        "risk_signal": RiskSignal,
        "rectification": Rectification,
        "credit_application": CreditApplication,
    }
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in tables}
    counts = dict.fromkeys(tables, 0)
    started = time.perf_counter()

    def flush(conn: Any, force: bool = False) -> None:
        if force or sum(len(v) for v in rows.values()) >= BATCH * 5:
            for key, model in tables.items():  # parents first
                if rows[key]:
                    conn.execute(insert(model.__table__), rows[key])
                    counts[key] += len(rows[key])
                    rows[key] = []

    with engine.begin() as conn:
        conn.execute(
            insert(Vendor.__table__),
            [
                {
                    "id": f"V{v:03d}",
                    "name": f"Vendor {v}",
                    "active": True,
                    "quality_score": float(rng.randint(60, 100)),
                    **stamp,
                }
                for v in range(1, 6)
            ],
        )
        made = n_customers = signal_id = 0
        while made < loans:
            n_customers += 1
            cid = f"C{n_customers:08d}"
            branch = BRANCHES[n_customers % len(BRANCHES)]
            manager = f"am_{n_customers % 40:02d}"
            rows["customer"].append(
                {
                    "id": cid,
                    "name": f"Bench Co {n_customers}",
                    "segment": "sme",
                    "industry": "manufacturing",
                    "branch": branch,
                    "account_manager": manager,
                    "credit_rating": "BBB",
                    **stamp,
                }
            )
            if rng.random() < 0.02:
                rating = rng.choice(("good", "good", "adequate", "poor"))
                rows["credit_application"].append(
                    {
                        "id": f"CA{n_customers:08d}",
                        "customer_id": cid,
                        "product": "SME",
                        "amount": Decimal(100_000),
                        "currency": "CNY",
                        "requested_by": "los",
                        "status": "approved",
                        "gate_reasons": [],
                        "decision": "approved",
                        "quality_rating": rating,
                        "decided_at": _at(START + timedelta(days=rng.randint(0, 91))),
                        **stamp,
                    }
                )
            for k in range(min(rng.choice((1, 1, 2, 2, 3)), loans - made)):
                made += 1
                lid = f"L{n_customers:08d}-{k + 1}"
                rows["loan"].append(
                    {
                        "id": lid,
                        "customer_id": cid,
                        "product": "SME-OPERATING",
                        "amount": Decimal(500_000),
                        "currency": "CNY",
                        "disbursed_on": date(2025, 1, 10),
                        "maturity_on": date(2028, 1, 10),
                        "purpose": "working capital",
                        "risk_class": "normal",
                        "risk_class_reason": "bench",
                        "delinquency_bucket": "current",
                        **stamp,
                    }
                )
                due = START + timedelta(days=rng.randint(0, 91))
                roll = rng.random()
                done = (
                    _at(due - timedelta(days=rng.randint(0, 5)))
                    if roll < 0.7
                    else _at(due + timedelta(days=rng.randint(1, 20)))
                    if roll < 0.9
                    else None
                )
                iid = f"I-{lid}"
                rows["inspection"].append(
                    {
                        "id": iid,
                        "loan_id": lid,
                        "kind": "routine",
                        "reason": "plan",
                        "status": "completed" if done else "in_progress",
                        "requested_by": "bench",
                        "inspector": manager if done else None,
                        "reviewer": f"po_{rng.randint(0, 11):02d}" if done else None,
                        "completed_at": done,
                        "report": {} if done else None,
                        "due_on": due,
                        "template": "standard",
                        "mode": "on_site",
                        "rework_count": 1 if rng.random() < 0.25 else 0,
                        **stamp,
                    }
                )
                if rng.random() < 0.2:
                    rows["visit_assignment"].append(
                        {
                            "inspection_id": iid,
                            "vendor_id": f"V{rng.randint(1, 5):03d}",
                            "loan_id": lid,
                            "customer_id": cid,
                            "window_start": _at(START),
                            "window_end": _at(due),
                            "status": "assigned",
                            **stamp,
                        }
                    )
                if done and rng.random() < 0.05:
                    result = "discrepancies" if rng.random() < 0.3 else "confirmed"
                    rows["inspection_finding"].append(
                        {
                            "inspection_id": iid,
                            "source": "onsite_verification",
                            "code": "ONSITE_RESULT",
                            "severity": "info",
                            "summary": result,
                            "evidence": {"result": result},
                            "seq": 0,
                            **stamp,
                            "created_at": done + timedelta(days=1),
                        }
                    )
                for m in range(3):
                    due_on = START + timedelta(days=14 + 30 * m)
                    late = rng.randint(1, 3) if rng.random() < 0.05 else 0
                    rows["repayment"].append(
                        {
                            "loan_id": lid,
                            "due_on": due_on,
                            "due_amount": Decimal(20_000),
                            "paid_on": due_on + timedelta(days=late),
                            "paid_amount": Decimal(20_000),
                            "kind": "instalment",
                            **stamp,
                        }
                    )
                overdue = rng.random() < 0.08
                if overdue:
                    rows["bucket_change"].append(
                        {
                            "loan_id": lid,
                            "changed_on": START + timedelta(days=rng.randint(0, 91)),
                            "from_bucket": "current",
                            "to_bucket": "1-30",
                            "days_past_due": 1,
                            "recorded_at": now,
                        }
                    )
                if rng.random() < (0.5 if overdue else 0.12):
                    signal_id += 1
                    raised = START + timedelta(days=rng.randint(-30, 85))
                    respond_by = raised + timedelta(days=5)
                    answered = rng.random() < 0.85
                    role = rng.choice(("account_manager", "account_manager", "postloan_officer"))
                    responder = manager if role == "account_manager" else "po_00"
                    rows["risk_signal"].append(
                        {
                            "id": signal_id,
                            "code": "BENCH",
                            "customer_id": cid,
                            "loan_id": lid,
                            "severity": "orange",
                            "owner_role": role,
                            "status": "resolved" if answered else "open",
                            "summary": "bench",
                            "source": "bench",
                            "evidence": {},
                            "dedupe_key": f"bench:{signal_id}",
                            "respond_by": respond_by,
                            "occurrences": 1,
                            "last_seen_at": _at(raised),
                            "responded_at": _at(respond_by + timedelta(days=rng.randint(-4, 3)))
                            if answered
                            else None,
                            "responded_by": responder if answered else None,
                            **stamp,
                            "created_at": _at(raised),
                        }
                    )
                if rng.random() < 0.04:
                    deadline = START + timedelta(days=rng.randint(0, 91))
                    closed = rng.random() < 0.8
                    rows["rectification"].append(
                        {
                            "id": f"R-{lid}",
                            "customer_id": cid,
                            "loan_id": lid,
                            "source": "inspection",
                            "source_ref": "",
                            "title": "bench",
                            "description": "bench",
                            "severity": "major",
                            "owner": manager,
                            "raised_by": "po_00",
                            "deadline": deadline,
                            "status": "closed" if closed else "open",
                            "closed_at": _at(deadline + timedelta(days=rng.randint(-10, 5)))
                            if closed
                            else None,
                            "reopen_count": 0,
                            **stamp,
                        }
                    )
            flush(conn)
        flush(conn, force=True)
    engine.dispose()
    return counts, time.perf_counter() - started


def run_assessment(path: Path, trace: bool) -> dict[str, Any]:
    """In this (child) process: the quarter at every level; its measurements as a dict."""
    import tracemalloc

    from postloan.assessment import service
    from postloan.assessment.results import LEVELS
    from postloan.db import unit_of_work

    url = f"sqlite:///{path}"
    before_kb = _peak_rss_kb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with unit_of_work(url) as session:
        computed = service.compute(session, period=PERIOD, levels=LEVELS, today=TODAY)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    return {
        "seconds": seconds,
        "subjects": {level: len(cards) for level, cards in computed.items()},
        "best_branch": computed["branch"][0].subject_id if computed["branch"] else None,
        "tracemalloc_peak_mb": None if peak is None else peak / 2**20,
        "maxrss_mb": _peak_rss_kb() / 1024,
        "rss_before_mb": before_kb / 1024,
    }


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
        "--tracemalloc", action="store_true", help="also measure the peak of Python allocations"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite files go")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_assessment(args.child, args.tracemalloc)))
        return 0
    folder = args.dir or Path(tempfile.mkdtemp(prefix="assessment-quarter-"))
    for n in args.loans or [10_000, 100_000]:
        path = folder / f"assessment-{n}.db"
        counts, build_s = build(path, n)
        total = sum(counts.values())
        print(f"built {counts['loan']} loans, {total} rows in {build_s:.1f}s -> {path}", flush=True)
        print("  " + ", ".join(f"{k} {v}" for k, v in counts.items()), flush=True)
        cmd = [sys.executable, __file__, "--child", str(path)]
        if args.tracemalloc:
            cmd.append("--tracemalloc")
        out = subprocess.run(
            cmd, check=True, stdout=subprocess.PIPE, text=True, cwd=str(ROOT), env={**os.environ}
        ).stdout
        m = json.loads(out.strip().splitlines()[-1])
        traced = (
            f", tracemalloc peak {m['tracemalloc_peak_mb']:.1f} MB"
            if m["tracemalloc_peak_mb"] is not None
            else ""
        )
        print(
            f"{n:>7} loans: {PERIOD} at every level in {m['seconds']:.2f}s "
            f"({n / m['seconds']:,.0f} loans/s); subjects {m['subjects']}; "
            f"max RSS {m['maxrss_mb']:.0f} MB (before: {m['rss_before_mb']:.0f} MB){traced}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
