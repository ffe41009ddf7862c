"""The nightly portfolio scan: every loan classified again, in bounded memory.

Loans are streamed in chunks of customers (keyset pagination on the customer id: ``customer_id >
last`` in id order, never OFFSET), each chunk with its repayment rows in one query ordered by
loan; arrears are computed per loan, the ``risk_classification`` table is evaluated in Python
(:mod:`postloan.decisions`, memoised on its inputs) and debtor contagion is applied per customer
(a customer's loans are always in the same chunk). Changes are written per chunk with core bulk
statements (an INSERT of the :class:`ClassificationChange` rows, an executemany UPDATE of the
loans) and committed, so memory holds one chunk at a time whatever the portfolio size.

Every change the scan makes applies at once (source ``scan``, or ``contagion`` when the contagion
rule gave the class): the floors are regulatory minimums computed from facts. When the signals
service is installed, loans the scan moved down because of arrears also raise the repayment
signal of their days-past-due band (``config/checks.yaml``).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from postloan import audit
from postloan.classification.rules import LoanFacts, classify_debtor, in_observation, rank
from postloan.decisions import DecisionTable
from postloan.due_diligence import triggers as due_diligence
from postloan.loans.arrears import arrears_as_of
from postloan.loans.models import ClassificationChange, Loan, Repayment

log = logging.getLogger(__name__)

ACTOR = "scan"


@dataclass
class ScanResult:
    loans: int = 0
    repayment_rows: int = 0
    customers: int = 0
    changes: int = 0
    upgrades: int = 0
    downgrades: int = 0
    contagion: int = 0
    signals: int = 0
    #: due-diligence reviews opened for loans that turned non-performing
    due_diligence_reviews: int = 0
    seconds: float = 0.0
    by_class: dict[str, int] = field(default_factory=dict)
    #: (loan id, signal id) of serious signals this scan raised for the first time: each warrants
    #: a special inspection (started by the caller, which can reach the engine).
    serious_new_signals: list[tuple[str, int]] = field(default_factory=list)


class _MemoTable:
    """The decision table with its results memoised on the inputs (few distinct combinations)."""

    def __init__(self, table: DecisionTable) -> None:
        self.table, self.key = table, table.key
        self._cache: dict[tuple, dict[str, Any] | None] = {}

    def single(self, variables: dict[str, Any]) -> dict[str, Any] | None:
        k = (
            variables["days_past_due"],
            variables["debtor_npl_share"],
            variables["in_restructuring_observation"],
            variables["current_class"],
        )
        if k not in self._cache:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[k] = self.table.single(variables)
        found = self._cache[k]
        return dict(found) if found is not None else None


def _customer_chunks(session: Session, size: int) -> Iterator[tuple[str | None, str]]:
    """(exclusive lower, inclusive upper) customer id bounds of chunks of ``size`` customers."""
    last: str | None = None
    while True:
        query = select(Loan.customer_id).distinct().order_by(Loan.customer_id).limit(size)
        if last is not None:
            query = query.where(Loan.customer_id > last)
        ids = session.scalars(query).all()
        if not ids:
            return
        yield last, ids[-1]
        last = ids[-1]


def _signal_raiser(
    session: Session,
    serious: list[tuple[str, int]] | None = None,
) -> Callable[[str, str, int], bool] | None:
    """raise(customer_id, loan_id, dpd) if the signals service is installed, else None."""
    try:
        from postloan.checks.config import load_config
        from postloan.signals import service as signals
        from postloan.signals.catalogue import EarlyWarningCatalogue

        catalogue = EarlyWarningCatalogue.from_file()
        # The repayment check's own bands: the scan names overdues exactly as the check does.
        bands = sorted(load_config().repayment.overdue_bands, key=lambda b: b.from_days)
    except Exception as exc:  # noqa: BLE001 - optional collaborator: scan without signals
        log.info("repayment signals not raised by the scan (signals service unavailable: %s)", exc)
        return None

    def raise_one(customer_id: str, loan_id: str, dpd: int) -> bool:
        code = None
        for band in bands:
            if dpd >= band.from_days:
                code = band.code
        if code is None or code not in catalogue:
            return False
        signal, created = signals.raise_signal(
            session,
            code=code,
            customer_id=customer_id,
            loan_id=loan_id,
            summary=f"{dpd} days past due (nightly classification scan)",
            evidence={"days_past_due": dpd},
            source="classification-scan",
            catalogue=catalogue,
            now=datetime.now(UTC),
            actor=ACTOR,
        )
        entry = catalogue.lookup(code)
        if created and serious is not None and entry is not None and entry.serious:
            serious.append((loan_id, signal.id))
        return True

    return raise_one


def scan(
    engine: Engine,
    table: DecisionTable,
    as_of: date,
    *,
    chunk_customers: int = 500,
    progress: bool = True,
    raise_signals: bool = True,
    open_reviews: bool = True,
) -> ScanResult:
    """Classify every loan on ``as_of``; write what changed. Returns counts and timing.

    ``open_reviews``: a loan moved from a performing class into a non-performing one gets its
    due-diligence review (off for the first classification of a book just imported, whose
    non-performing loans did not turn so under this bank's watch)."""
    started = time.perf_counter()
    result = ScanResult()
    memo = _MemoTable(table)
    loan_t, rep_t, change_t = Loan.__table__, Repayment.__table__, ClassificationChange.__table__
    set_class = (
        update(loan_t)
        .where(loan_t.c.id == bindparam("b_id"))
        .values(risk_class=bindparam("b_class"), risk_class_reason=bindparam("b_reason"))
    )
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(loan_t)) or 0
        raiser = _signal_raiser(session, result.serious_new_signals) if raise_signals else None
        bar = _progress(total, progress)
        for low, high in _customer_chunks(session, chunk_customers):
            bounds = [loan_t.c.customer_id <= high]
            if low is not None:
                bounds.append(loan_t.c.customer_id > low)
            loans = session.execute(
                select(
                    loan_t.c.id,
                    loan_t.c.customer_id,
                    loan_t.c.amount,
                    loan_t.c.risk_class,
                    loan_t.c.risk_class_reason,
                    loan_t.c.restructured_on,
                )
                .where(*bounds)
                .order_by(loan_t.c.customer_id, loan_t.c.id)
            ).all()
            schedules: dict[str, list[Any]] = {}
            rows = session.execute(
                select(
                    rep_t.c.loan_id,
                    rep_t.c.due_on,
                    rep_t.c.due_amount,
                    rep_t.c.paid_on,
                    rep_t.c.paid_amount,
                )
                .join(loan_t, loan_t.c.id == rep_t.c.loan_id)
                .where(*bounds)
                .order_by(rep_t.c.loan_id, rep_t.c.due_on)
            ).all()
            result.repayment_rows += len(rows)
            for loan_id, items in groupby(rows, key=lambda r: r.loan_id):
                schedules[loan_id] = list(items)
            del rows
            changes, updates, to_signal = [], [], []
            for customer_id, grouped in groupby(loans, key=lambda r: r.customer_id):
                group = list(grouped)
                result.customers += 1
                facts, dpd_of, stored = [], {}, {}
                for loan in group:
                    schedule = schedules.get(loan.id, [])
                    dpd = arrears_as_of(schedule, as_of).days_past_due
                    dpd_of[loan.id] = dpd
                    stored[loan.id] = (loan.risk_class, loan.risk_class_reason)
                    facts.append(
                        LoanFacts(
                            loan_id=loan.id,
                            balance=loan.amount,
                            days_past_due=dpd,
                            in_restructuring_observation=in_observation(
                                loan.restructured_on, schedule, as_of
                            ),
                            current_class=loan.risk_class,
                        )
                    )
                for f, outcome, _inputs in classify_debtor(memo, facts):
                    to_class, reason = outcome["risk_class"], outcome["reason"]
                    result.by_class[to_class] = result.by_class.get(to_class, 0) + 1
                    before, before_reason = stored[f.loan_id]
                    if (to_class, reason) == (before, before_reason):
                        continue
                    source = "contagion" if outcome.get("rule") == "debtor_contagion" else "scan"
                    changes.append(
                        {
                            "loan_id": f.loan_id,
                            "from_class": before,
                            "to_class": to_class,
                            "reason": reason,
                            "source": source,
                            "status": "applied",
                            "decided_by": ACTOR,
                            "at": datetime.now(UTC),
                        }
                    )
                    updates.append({"b_id": f.loan_id, "b_class": to_class, "b_reason": reason})
                    if rank(to_class) > rank(before):
                        result.downgrades += 1
                        if source == "scan" and dpd_of[f.loan_id] > 0:
                            to_signal.append((customer_id, f.loan_id, dpd_of[f.loan_id]))
                    elif rank(to_class) < rank(before):
                        result.upgrades += 1
                    result.contagion += source == "contagion"
            if changes:
                session.execute(insert(change_t), changes)
                session.execute(set_class, updates)
                result.changes += len(changes)
            if changes and open_reviews:
                # A loan turned non-performing owes its due-diligence review in this chunk's
                # transaction (the bulk update bypasses the service's hook).
                for change in changes:
                    if due_diligence.on_class_applied(
                        session,
                        change["loan_id"],
                        change["from_class"],
                        change["to_class"],
                        actor=ACTOR,
                    ):
                        result.due_diligence_reviews += 1
            if raiser is not None:
                for customer_id, loan_id, dpd in to_signal:
                    result.signals += raiser(customer_id, loan_id, dpd)
            session.commit()
            result.loans += len(loans)
            if bar is not None:
                bar.update(len(loans))
        result.seconds = time.perf_counter() - started
        audit.record(
            session,
            actor=ACTOR,
            action="classification.scan",
            object_type="portfolio",
            object_id=as_of.isoformat(),
            detail={k: v for k, v in result.__dict__.items() if k != "seconds"}
            | {"seconds": round(result.seconds, 2)},
        )
        session.commit()
        if bar is not None:
            bar.close()
    log.info(
        "classification scan %s: %d loans, %d changes (%d up, %d down, %d contagion), "
        "%d signals in %.1fs",
        as_of,
        result.loans,
        result.changes,
        result.upgrades,
        result.downgrades,
        result.contagion,
        result.signals,
        result.seconds,
    )
    return result


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total, unit="loan", file=sys.stderr, desc="classification scan", mininterval=1.0
    )
