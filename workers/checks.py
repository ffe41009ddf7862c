"""Automated checks of an inspection and the risk signals they raise.

Each check handler runs one pure check of ``postloan.checks`` and records its findings on the
inspection in one transaction; ``inspection.raise-signals`` turns the findings whose code is in the
early-warning catalogue into risk signals; ``signals.escalate-overdue`` (timer process
``signal_escalation``) escalates signals past their response deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Protocol

from sqlalchemy.orm import Session

from config.settings import get_settings
from postloan.checks import SCOPE_CUSTOMER, Finding
from postloan.checks import collateral as collateral_check
from postloan.checks import external as external_check
from postloan.checks import financials as financials_check
from postloan.checks import repayment as repayment_check
from postloan.checks import use_of_funds as use_of_funds_check
from postloan.checks.config import ChecksConfig, load_config
from postloan.db import utcnow
from postloan.errors import NotFound
from postloan.inspections import service as inspections
from postloan.loans.models import Loan
from postloan.signals import service as signals
from postloan.signals.catalogue import EarlyWarningCatalogue, max_severity
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction, services

log = logging.getLogger("workers.checks")
router = TopicRouter()


class _CatalogueSource(Protocol):
    def current(self) -> EarlyWarningCatalogue: ...


@lru_cache(maxsize=1)
def _deployed_catalogue() -> _CatalogueSource:
    """The deployed catalogue, through the process's one engine client (its port)."""
    source: _CatalogueSource = services().engine.early_warning_catalogue(
        get_settings().bpmn_dir / "early_warning.dmn"
    )
    return source


def catalogue() -> EarlyWarningCatalogue:
    return _deployed_catalogue().current()


def config() -> ChecksConfig:
    return load_config()


def _loan_of(session: Session, inspection_id: str) -> Loan:
    try:
        inspection = inspections.get(session, inspection_id)
    except NotFound as exc:
        raise LookupError(
            f"{exc.detail}: the process refers to an inspection the project "
            "database does not hold; restore it, then retry the incident"
        ) from exc
    loan = session.get(Loan, inspection.loan_id)
    if loan is None:
        raise LookupError(
            f"loan {inspection.loan_id!r} of inspection {inspection_id} is not in "
            "the project database; restore it, then retry the incident"
        )
    return loan


def _record(session: Session, inspection_id: str, source: str, findings: Iterable[Finding]) -> int:
    cat = catalogue()
    count = 0
    for f in findings:
        entry = cat.lookup(f.code)
        inspections.record_finding(
            session,
            inspection_id,
            source=source,
            code=f.code,
            severity=entry.severity if entry else f.severity,
            summary=f.summary,
            evidence={**f.evidence, "scope": f.scope},
        )
        count += 1
    log.info("inspection %s: %s check recorded %d finding(s)", inspection_id, source, count)
    return count


USE_OF_FUNDS_UNVERIFIED = "USE_OF_FUNDS_UNVERIFIED"


def _close_cleared(session: Session, loan: Loan, codes: set[str], evidence: dict) -> None:
    """Live signals of ``codes`` on this loan that the check no longer finds are resolved with
    the evidence that cleared them, and leave their handling (``signals.close_cleared``).

    Called BEFORE the findings are recorded: the signal rows (and their handlings) are locked
    while this transaction holds nothing else another one could wait for."""
    closed = signals.close_cleared(
        session,
        codes=codes,
        customer_id=loan.customer_id,
        loan_id=loan.id,
        evidence=evidence,
        now=utcnow(),
        actor=WORKER_ACTOR,
    )
    if closed:
        log.info(
            "loan %s: signal(s) %s closed, the facts cleared them",
            loan.id,
            ", ".join(str(s.id) for s in closed),
        )


@router.topic("inspection.check-repayment")
@in_transaction
def check_repayment(session: Session, task: ExternalTask, inspection_id: str) -> dict:
    """Days past due, arrears trend over the latest instalments and unpaid interest; nothing
    past due closes the loan's overdue signals."""
    loan = _loan_of(session, inspection_id)
    today = date.today()
    result = repayment_check.check(session, loan, today, config().repayment)
    if result.days_past_due == 0:
        _close_cleared(
            session,
            loan,
            {band.code for band in config().repayment.overdue_bands},
            {"days_past_due": 0, "checked_on": today.isoformat(), "inspection_id": inspection_id},
        )
    _record(session, inspection_id, repayment_check.NAME, result.findings)
    return {
        "days_past_due": result.days_past_due,
        "overdue_amount": result.overdue_amount,
        "interest_unpaid_days": result.interest_unpaid_days,
    }


@router.topic("inspection.check-financials")
@in_transaction
def check_financials(session: Session, task: ExternalTask, inspection_id: str) -> dict:
    loan = _loan_of(session, inspection_id)
    found = financials_check.check(session, loan.customer_id, date.today(), config().financials)
    return {"financial_findings": _record(session, inspection_id, financials_check.NAME, found)}


@router.topic("inspection.check-collateral")
@in_transaction
def check_collateral(session: Session, task: ExternalTask, inspection_id: str) -> dict:
    loan = _loan_of(session, inspection_id)
    found = collateral_check.check(session, loan, date.today(), config().collateral)
    return {"collateral_findings": _record(session, inspection_id, collateral_check.NAME, found)}


@router.topic("inspection.check-external")
@in_transaction
def check_external(session: Session, task: ExternalTask, inspection_id: str) -> dict:
    loan = _loan_of(session, inspection_id)
    found = external_check.check(session, loan.customer_id, date.today(), config().external)
    return {"external_findings": _record(session, inspection_id, external_check.NAME, found)}


@router.topic("inspection.check-use-of-funds")
@in_transaction
def check_use_of_funds(session: Session, task: ExternalTask, inspection_id: str) -> dict:
    loan = _loan_of(session, inspection_id)
    today = date.today()
    found, verified = use_of_funds_check.check(session, loan, today, config().use_of_funds)
    if verified:
        _close_cleared(
            session,
            loan,
            {USE_OF_FUNDS_UNVERIFIED},
            {
                "use_of_funds_verified": True,
                "checked_on": today.isoformat(),
                "inspection_id": inspection_id,
            },
        )
    _record(session, inspection_id, use_of_funds_check.NAME, found)
    return {"use_of_funds_verified": verified}


@router.topic("inspection.raise-signals")
@in_transaction
def raise_signals(session: Session, task: ExternalTask, inspection_id: str) -> dict:
    """Every finding of this inspection whose code is a catalogued warning becomes a signal."""
    loan = _loan_of(session, inspection_id)
    cat = catalogue()
    now = utcnow()
    raised: list[str] = []
    serious = False
    cleared = 0
    for finding in inspections.findings(session, inspection_id):
        entry = cat.lookup(finding.code)
        if entry is None:
            continue
        customer_level = (finding.evidence or {}).get("scope") == SCOPE_CUSTOMER
        # Once per finding: this step may run again (an engine restarted after a crash hands it
        # out anew under another task id), and a finding the facts cleared since raises nothing.
        signal = signals.raise_for_finding(
            session,
            counted_signal_id=finding.signal_id,
            found_at=finding.modified_at,
            code=finding.code,
            customer_id=loan.customer_id,
            loan_id=None if customer_level else loan.id,
            summary=finding.summary,
            evidence={**(finding.evidence or {}), "inspection_id": inspection_id},
            source=finding.source,
            catalogue=cat,
            now=now,
            actor=WORKER_ACTOR,
        )
        if signal is None:
            cleared += 1
            continue
        finding.signal_id = signal.id
        raised.append(signal.severity)
        serious = serious or entry.serious
    if cleared:
        log.info(
            "inspection %s: %d finding(s) cleared by newer facts raise no signal",
            inspection_id,
            cleared,
        )
    log.info("inspection %s: %d signal(s) raised or seen again", inspection_id, len(raised))
    return {
        "signals_raised": len(raised),
        "max_severity": max_severity(raised),
        "serious_signal": serious,
    }


@router.topic("signals.escalate-overdue")
@in_transaction
def escalate_overdue(session: Session, task: ExternalTask) -> dict:
    escalated = signals.escalate_overdue(session, date.today(), actor=WORKER_ACTOR)
    if escalated:
        log.warning(
            "%d signal(s) escalated past their response deadline: %s",
            len(escalated),
            ", ".join(str(s.id) for s in escalated),
        )
    return {"signals_escalated": len(escalated)}
