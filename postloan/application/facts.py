"""Checks run when the facts arrive (issue 11, item 2) and covenant tests (item 5).

Recording a fact (financial statement, collateral valuation, external event, repayment) owes, in
the same transaction, the start of the ``fact_checks`` process (business key
``<fact kind>:<fact id>``) through the outbox. Its worker (``facts.run-checks``) calls
:func:`run_checks`: the checks that fact feeds run again at once, for the customer's or the
loan's active loans; catalogued findings become risk signals (``raise_signal``, source = the
check); a statement also computes every covenant of the customer's loans; a repayment that
leaves nothing past due closes the loan's overdue signals with the evidence (``close_cleared``).

The daily ``covenant_scan`` process (``covenants.record-missing``) calls
:func:`record_missing_statements`: a covenant test that fell due without a statement is recorded
and raises its signal.

Imported facts (:func:`enqueue_imported`): the bulk importer owes, in the import's transaction,
one ``fact_checks`` start per subject (customer, collateral, loan) whose rows a file inserted,
for its latest inserted row, within the cap of ``config/fact_checks.yaml``; a first load of a
kind or a file above the cap starts none (the facts are left to the inspections and scans).

Idempotency: the worker's handler runs once per external task (``processed_task``, same
transaction); a fact posted again (a replaced statement) checks again, and the dedupe of
``raise_signal`` keeps one live signal per code, customer and loan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import distinct, func, select, true
from sqlalchemy.orm import Session

from postloan.checks import SCOPE_CUSTOMER, Finding
from postloan.checks import collateral as collateral_check
from postloan.checks import external as external_check
from postloan.checks import financials as financials_check
from postloan.checks import repayment as repayment_check
from postloan.checks.config import ChecksConfig
from postloan.covenants import service as covenants
from postloan.covenants.config import CovenantsConfig
from postloan.covenants.models import Covenant, CovenantTest
from postloan.events.models import ExternalEvent
from postloan.financials.models import FinancialStatement
from postloan.loans.models import Collateral, CollateralValuation, Loan, Repayment
from postloan.outbox import service as outbox
from postloan.outbox.models import OutboxMessage
from postloan.plans.triggers import active_loans_of
from postloan.signals import service as signals
from postloan.signals.catalogue import EarlyWarningCatalogue, max_severity

if TYPE_CHECKING:
    from postloan.importer.kinds import FactFeed

PROCESS_KEY = "fact_checks"
IMPORT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "fact_checks.yaml"


class FactKind(StrEnum):
    FINANCIAL_STATEMENT = "financial_statement"
    COLLATERAL_VALUATION = "collateral_valuation"
    EXTERNAL_EVENT = "external_event"
    REPAYMENT = "repayment"
    #: a covenant just defined: tested on the statements already held for its periods
    COVENANT = "covenant"


def business_key(kind: FactKind | str, fact_id: int | str) -> str:
    return f"{FactKind(kind)}:{fact_id}"


def enqueue_checks(session: Session, kind: FactKind, fact_id: int) -> OutboxMessage:
    """Owe the ``fact_checks`` process of a just-recorded fact (in the fact's transaction)."""
    return outbox.enqueue_process_start(
        session,
        process_key=PROCESS_KEY,
        business_key=business_key(kind, fact_id),
        variables={"fact_kind": str(kind), "fact_id": str(fact_id)},
    )


@dataclass
class CheckOutcome:
    """What one run of the checks of a fact did."""

    kind: str
    fact_id: str
    customer_id: str | None = None
    loan_ids: list[str] = field(default_factory=list)
    findings: int = 0
    signal_ids: list[int] = field(default_factory=list)
    new_signals: int = 0
    severities: list[str] = field(default_factory=list)
    closed_signal_ids: list[int] = field(default_factory=list)
    covenant_tests: list[dict[str, Any]] = field(default_factory=list)

    def variables(self) -> dict[str, Any]:
        """The process variables of the run (ids and counts, no business records)."""
        return {
            "customer_id": self.customer_id or "",
            "findings": self.findings,
            "signals_raised": len(self.signal_ids),
            "signals_new": self.new_signals,
            "signals_closed": len(self.closed_signal_ids),
            "covenant_tests": len(self.covenant_tests),
            "max_severity": max_severity(self.severities) or "none",
        }


@dataclass(frozen=True)
class Context:
    """What a run needs besides the session: rules, the catalogue, the clock, the actor."""

    catalogue: EarlyWarningCatalogue
    checks: ChecksConfig
    covenants: CovenantsConfig
    today: date
    now: datetime
    actor: str = "worker"


def _raise(
    session: Session,
    outcome: CheckOutcome,
    ctx: Context,
    *,
    source: str,
    customer_id: str,
    loan_id: str | None,
    findings: list[Finding],
) -> dict[int, int]:
    """Catalogued findings become signals; returns finding index -> signal id."""
    raised: dict[int, int] = {}
    fact = f"{outcome.kind}:{outcome.fact_id}"
    for i, finding in enumerate(findings):
        outcome.findings += 1
        entry = ctx.catalogue.lookup(finding.code)
        if entry is None:
            continue
        customer_level = finding.scope == SCOPE_CUSTOMER
        signal, new = signals.raise_signal(
            session,
            code=finding.code,
            customer_id=customer_id,
            loan_id=None if customer_level else loan_id,
            summary=finding.summary,
            evidence={**finding.evidence, "scope": finding.scope, "fact": fact},
            source=source,
            catalogue=ctx.catalogue,
            now=ctx.now,
            actor=ctx.actor,
        )
        outcome.signal_ids.append(signal.id)
        outcome.new_signals += int(new)
        outcome.severities.append(signal.severity)
        raised[i] = signal.id
    return raised


def _record_covenant_findings(
    session: Session,
    outcome: CheckOutcome,
    ctx: Context,
    tested: list[tuple[Covenant, CovenantTest]],
) -> None:
    """Record the tests in the outcome; a breach, near breach or missing statement raises its
    signal (loan level), whose id the test keeps."""
    for covenant, row in tested:
        outcome.covenant_tests.append(
            {
                "covenant_id": covenant.id,
                "period_end": row.period_end.isoformat(),
                "value": None if row.value is None else str(row.value),
                "outcome": str(row.outcome),
            }
        )
    by_loan: dict[str, list[tuple[CovenantTest, Finding]]] = {}
    for row, finding in covenants.findings_of(tested, ctx.covenants):
        by_loan.setdefault(str(finding.evidence["loan_id"]), []).append((row, finding))
    for loan_id, pairs in sorted(by_loan.items()):
        loan = session.get(Loan, loan_id)
        if loan is None:  # pragma: no cover - a covenant's loan exists (foreign key)
            raise LookupError(f"loan {loan_id!r} is missing")
        ids = _raise(
            session,
            outcome,
            ctx,
            source=covenants.NAME,
            customer_id=loan.customer_id,
            loan_id=loan_id,
            findings=[finding for _, finding in pairs],
        )
        for i, (row, _finding) in enumerate(pairs):
            row.signal_id = ids.get(i)
    session.flush()


def _statement(
    session: Session, outcome: CheckOutcome, statement: FinancialStatement, ctx: Context
) -> None:
    outcome.customer_id = statement.customer_id
    outcome.loan_ids = active_loans_of(session, statement.customer_id, ctx.today)
    # Covenant rows first (locked in id order), then signals: one lock order for every run.
    tested = covenants.compute_from_statement(
        session, statement, ctx.covenants, today=ctx.today, now=ctx.now, actor=ctx.actor
    )
    if outcome.loan_ids:
        found = financials_check.check(
            session, statement.customer_id, ctx.today, ctx.checks.financials
        )
        _raise(
            session,
            outcome,
            ctx,
            source=financials_check.NAME,
            customer_id=statement.customer_id,
            loan_id=None,
            findings=found,
        )
    _record_covenant_findings(session, outcome, ctx, tested)


def _valuation(
    session: Session, outcome: CheckOutcome, valuation: CollateralValuation, ctx: Context
) -> None:
    collateral = session.get(Collateral, valuation.collateral_id)
    loan = session.get(Loan, collateral.loan_id) if collateral is not None else None
    if loan is None:
        raise LookupError(f"collateral {valuation.collateral_id!r} or its loan is missing")
    outcome.customer_id = loan.customer_id
    if loan.maturity_on < ctx.today:
        return
    outcome.loan_ids = [loan.id]
    found = collateral_check.check(session, loan, ctx.today, ctx.checks.collateral)
    _raise(
        session,
        outcome,
        ctx,
        source=collateral_check.NAME,
        customer_id=loan.customer_id,
        loan_id=loan.id,
        findings=found,
    )


def _event(session: Session, outcome: CheckOutcome, event: ExternalEvent, ctx: Context) -> None:
    outcome.customer_id = event.customer_id
    outcome.loan_ids = active_loans_of(session, event.customer_id, ctx.today)
    if not outcome.loan_ids:
        return
    found = external_check.check(session, event.customer_id, ctx.today, ctx.checks.external)
    _raise(
        session,
        outcome,
        ctx,
        source=external_check.NAME,
        customer_id=event.customer_id,
        loan_id=None,
        findings=found,
    )


def _repayment(session: Session, outcome: CheckOutcome, repayment: Repayment, ctx: Context) -> None:
    loan = session.get(Loan, repayment.loan_id)
    if loan is None:
        raise LookupError(f"loan {repayment.loan_id!r} of repayment {repayment.id} is missing")
    outcome.customer_id = loan.customer_id
    if loan.maturity_on < ctx.today:
        return
    outcome.loan_ids = [loan.id]
    result = repayment_check.check(session, loan, ctx.today, ctx.checks.repayment)
    if result.days_past_due == 0:
        # Nothing past due: the loan's overdue signals are cleared by this repayment.
        closed = signals.close_cleared(
            session,
            codes=[band.code for band in ctx.checks.repayment.overdue_bands],
            customer_id=loan.customer_id,
            loan_id=loan.id,
            evidence={
                "fact": f"{outcome.kind}:{outcome.fact_id}",
                "repayment_id": repayment.id,
                "paid_on": repayment.paid_on.isoformat() if repayment.paid_on else None,
                "paid_amount": str(repayment.paid_amount),
                "days_past_due": 0,
                "as_of": ctx.today.isoformat(),
            },
            now=ctx.now,
            actor=ctx.actor,
        )
        outcome.closed_signal_ids = [s.id for s in closed]
    _raise(
        session,
        outcome,
        ctx,
        source=repayment_check.NAME,
        customer_id=loan.customer_id,
        loan_id=loan.id,
        findings=result.findings,
    )


def _covenant(session: Session, outcome: CheckOutcome, covenant: Covenant, ctx: Context) -> None:
    loan = session.get(Loan, covenant.loan_id)
    if loan is None:
        raise LookupError(f"loan {covenant.loan_id!r} of covenant {covenant.id} is missing")
    outcome.customer_id = loan.customer_id
    outcome.loan_ids = [loan.id]
    # the covenant row locked first, as every covenant test does
    session.scalars(select(Covenant).where(Covenant.id == covenant.id).with_for_update()).one()
    rows = covenants.catch_up(
        session,
        covenant,
        loan.customer_id,
        ctx.covenants,
        today=ctx.today,
        now=ctx.now,
        actor=ctx.actor,
    )
    _record_covenant_findings(session, outcome, ctx, [(covenant, row) for row in rows])


_FACTS: dict[FactKind, tuple[type, Any]] = {
    FactKind.FINANCIAL_STATEMENT: (FinancialStatement, _statement),
    FactKind.COLLATERAL_VALUATION: (CollateralValuation, _valuation),
    FactKind.EXTERNAL_EVENT: (ExternalEvent, _event),
    FactKind.REPAYMENT: (Repayment, _repayment),
    FactKind.COVENANT: (Covenant, _covenant),
}


def run_checks(session: Session, kind: str, fact_id: str, ctx: Context) -> CheckOutcome:
    """Run the checks the fact feeds and raise (or close) the signals, in the caller's
    transaction. An unknown kind or a fact the database does not hold is a ``LookupError``
    (a technical failure: an incident to retry once restored)."""
    try:
        fact_kind = FactKind(kind)
    except ValueError as exc:
        raise LookupError(f"unknown fact kind {kind!r}") from exc
    model, run = _FACTS[fact_kind]
    try:
        key = int(fact_id)
    except ValueError as exc:
        raise LookupError(f"fact id {fact_id!r} of {kind} is not a number") from exc
    fact = session.get(model, key)
    if fact is None:
        raise LookupError(
            f"{kind} {fact_id} is not in the project database; restore it, then retry the incident"
        )
    outcome = CheckOutcome(kind=str(fact_kind), fact_id=str(key))
    run(session, outcome, fact, ctx)
    return outcome


def record_missing_statements(session: Session, ctx: Context) -> CheckOutcome:
    """Covenant tests that fell due without a statement: recorded, each raising its signal."""
    outcome = CheckOutcome(kind="covenant_scan", fact_id=ctx.today.isoformat())
    tested = covenants.record_missing(
        session, ctx.covenants, today=ctx.today, now=ctx.now, actor=ctx.actor
    )
    _record_covenant_findings(session, outcome, ctx, tested)
    return outcome


# -- imported facts ---------------------------------------------------------------------------


class ImportChecksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_starts: int = Field(ge=0)
    first_load_starts_none: bool = True


@lru_cache(maxsize=4)
def load_import_config(path: Path = IMPORT_CONFIG_PATH) -> ImportChecksConfig:
    with Path(path).open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    return ImportChecksConfig.model_validate(raw.get("imports", {}))


@dataclass(frozen=True)
class ImportedChecks:
    """What an import owes: ``started`` fact checks for ``subjects`` subjects; ``left`` says
    why none was started when the import inserted facts (first load, above the cap)."""

    kind: str
    subjects: int = 0
    started: int = 0
    left: str = ""

    def detail(self) -> dict[str, Any]:
        return {"fact_checks": self.started, "fact_subjects": self.subjects, "left": self.left}


def fact_watermark(session: Session, feed: FactFeed) -> int | None:
    """The highest id of the feed's table before an import (None: the table is empty)."""
    return session.scalar(select(func.max(feed.table.c.id)))


def enqueue_imported(
    session: Session,
    feed: FactFeed,
    watermark: int | None,
    config: ImportChecksConfig | None = None,
) -> ImportedChecks:
    """Owe the checks of the rows an import inserted (ids above ``watermark``): one
    ``fact_checks`` start per subject, for its latest row (by business date, then id), in the
    import's transaction; none on a first load of the kind or above ``max_starts`` subjects."""
    config = config or load_import_config()
    table = feed.table
    subject, day = table.c[feed.subject], table.c[feed.date]
    inserted = table.c.id > watermark if watermark is not None else true()
    subjects = session.scalar(select(func.count(distinct(subject))).where(inserted)) or 0
    if not subjects:
        return ImportedChecks(feed.kind)
    if watermark is None and config.first_load_starts_none:
        return ImportedChecks(
            feed.kind,
            subjects,
            left=f"first load of {feed.kind}: the checks of {subjects} "
            f"{feed.subject.removesuffix('_id')}s are left to the inspections",
        )
    if subjects > config.max_starts:
        return ImportedChecks(
            feed.kind,
            subjects,
            left=f"{subjects} {feed.subject.removesuffix('_id')}s exceed the cap of "
            f"{config.max_starts} fact checks per import: left to the inspections",
        )
    latest: dict[str, int] = {}
    rows = session.execute(
        select(subject, table.c.id).where(inserted).order_by(subject, day.desc(), table.c.id.desc())
    )
    for key, fact_id in rows:
        latest.setdefault(key, fact_id)
    for key in sorted(latest):
        enqueue_checks(session, FactKind(feed.kind), latest[key])
    return ImportedChecks(feed.kind, subjects, started=len(latest))
