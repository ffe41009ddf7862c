"""Loans: register one (its plan and first inspection owed with it) and record a repayment
(reclassification, repayment check and the special inspection of a new overdue, one
transaction)."""

from __future__ import annotations

import logging
from datetime import date

from postloan.application import facts
from postloan.application import inspections as inspection_cases
from postloan.application.services import Services
from postloan.checks import repayment as repayment_check
from postloan.checks.config import load_config as load_checks_config
from postloan.classification import service as classification
from postloan.classification.rules import DECISION_KEY
from postloan.loans import service
from postloan.loans.arrears import arrears_as_of
from postloan.loans.models import Loan, Repayment, RepaymentAmendment

log = logging.getLogger(__name__)


def register_loan(services: Services, data: service.LoanData, *, actor: str) -> Loan:
    """Register a disbursed loan. Its plan (DMN ``inspection_plan``) and first inspection are
    decided in the same transaction when the engine can decide; otherwise the loan is saved
    alone and the inspection scheduler requests the first inspection later."""
    with services.transaction() as session:
        service.register(session, data, actor=actor)
    try:
        with services.transaction() as session:
            inspection_cases.request_first_inspection(session, services, data.id, actor)
    except Exception as exc:  # noqa: BLE001 - the loan is saved; the scheduler catches up
        log.warning(
            "first inspection of loan %s not requested now (%s); the inspection scheduler will",
            data.id,
            exc,
        )
    with services.uow() as session:
        return service.get(session, data.id)


def record_repayment(
    services: Services,
    loan_id: str,
    data: service.RepaymentData,
    *,
    actor: str,
    today: date | None = None,
) -> Repayment:
    """Record an instalment or a payment; in the same transaction the loan is reclassified
    (from the table the engine has deployed), the repayment checks run, and a loan newly
    overdue (or with interest unpaid too long) gets its special inspection, whose process
    start is owed through the outbox: the engine is never called before the commit. The
    ``fact_checks`` process of the repayment is owed too (its signals raised, or its overdue
    signals closed, at once)."""
    today = today or date.today()
    table = services.engine.table(DECISION_KEY)  # a read; falls back to the bundled table
    with services.transaction() as session:
        schedule = service.schedule(session, loan_id)  # read once, kept current by each step
        before = arrears_as_of(schedule, today)
        repayment = service.record_repayment(session, loan_id, data, actor=actor, schedule=schedule)
        classification.reclassify_now(session, loan_id, table, today, actor, schedule=schedule)
        now = repayment_check.check(
            session,
            service.get(session, loan_id),
            today,
            load_checks_config().repayment,
            schedule,
        )
        inspection_cases.special_inspection_for_repayment(
            session,
            loan_id,
            before.days_past_due,
            now.days_past_due,
            now.interest_unpaid_days,
            actor=actor,
        )
        facts.enqueue_checks(session, facts.FactKind.REPAYMENT, repayment.id)
    return repayment


def amend_repayment(
    services: Services,
    loan_id: str,
    repayment_id: int,
    data: service.RepaymentData,
    *,
    reason: str,
    actor: str,
    today: date | None = None,
) -> RepaymentAmendment:
    """Correct a recorded instalment (the values it replaces kept in the amendment, audited);
    the loan is reclassified in the same transaction, as after a new instalment, and a loan
    the correction makes newly overdue gets its special inspection; the repayment's
    ``fact_checks`` are owed again (a payment that clears the arrears closes the overdue
    signals)."""
    today = today or date.today()
    table = services.engine.table(DECISION_KEY)
    with services.transaction() as session:
        schedule = service.schedule(session, loan_id)  # read once, kept current by each step
        before = arrears_as_of(schedule, today)
        amendment = service.amend_repayment(
            session, loan_id, repayment_id, data, reason=reason, actor=actor, schedule=schedule
        )
        classification.reclassify_now(session, loan_id, table, today, actor, schedule=schedule)
        now = repayment_check.check(
            session,
            service.get(session, loan_id),
            today,
            load_checks_config().repayment,
            schedule,
        )
        inspection_cases.special_inspection_for_repayment(
            session,
            loan_id,
            before.days_past_due,
            now.days_past_due,
            now.interest_unpaid_days,
            actor=actor,
        )
        facts.enqueue_checks(session, facts.FactKind.REPAYMENT, repayment_id)
    return amendment
