"""Financial statements of customers: record a period's statement (the same period again
replaces it)."""

from __future__ import annotations

from postloan.application import facts
from postloan.application.services import Services
from postloan.financials import service
from postloan.financials.models import FinancialStatement


def record_statement(
    services: Services, customer_id: str, data: service.StatementData, *, actor: str
) -> tuple[FinancialStatement, bool]:
    """Store the statement in its own transaction; returns it and whether it replaced the
    period's earlier one. The checks it feeds (and its covenant tests) are owed with it: a
    ``fact_checks`` process start in the outbox."""
    with services.transaction() as session:
        statement, replaced = service.record_statement(session, customer_id, data, actor=actor)
        facts.enqueue_checks(session, facts.FactKind.FINANCIAL_STATEMENT, statement.id)
        return statement, replaced
