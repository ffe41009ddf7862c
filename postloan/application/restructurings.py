"""Restructurings of a loan: record one (the loan reclassified in the same transaction) and list
them."""

from __future__ import annotations

from datetime import date

from postloan.application.services import Services
from postloan.classification import service as classification
from postloan.classification.rules import DECISION_KEY
from postloan.loans import restructuring
from postloan.loans.models import Loan
from postloan.loans.restructuring import LoanRestructuring, RestructuringTerms


def record_restructuring(
    services: Services,
    loan_id: str,
    terms: RestructuringTerms,
    *,
    actor: str,
    today: date | None = None,
) -> tuple[LoanRestructuring, Loan]:
    """Record a restructuring and reclassify the loan with the table the engine has deployed
    (source ``restructuring``): its observation period applies from now on. One transaction;
    bad terms are invalid input naming the field, a second one the same day a conflict."""
    today = today or date.today()
    table = services.engine.table(DECISION_KEY)  # a read; falls back to the bundled table
    with services.transaction() as session:
        row = restructuring.record(session, loan_id, terms, actor=actor, today=today)
        classification.reclassify_now(session, loan_id, table, today, actor, source="restructuring")
        loan = session.get(Loan, loan_id)
        assert loan is not None
    return row, loan


def list_restructurings(services: Services, loan_id: str) -> list[LoanRestructuring]:
    with services.uow() as session:
        return restructuring.list_for(session, loan_id)
