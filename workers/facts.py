"""Checks run when the facts arrive, and the covenant tests that fall due without a statement.

``facts.run-checks`` (process ``fact_checks``, business key ``<fact kind>:<fact id>``) re-runs
the checks a just-recorded fact feeds and raises or closes the signals at once;
``covenants.record-missing`` (timer process ``covenant_scan``) records the covenant tests that
fell due with no statement. The rules are in ``postloan.application.facts``.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.orm import Session

from postloan.application import facts
from postloan.checks.config import load_config as load_checks_config
from postloan.covenants.config import load_config as load_covenants_config
from postloan.db import utcnow
from workers.checks import catalogue
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction

log = logging.getLogger("workers.facts")
router = TopicRouter()


def _context() -> facts.Context:
    return facts.Context(
        catalogue=catalogue(),
        checks=load_checks_config(),
        covenants=load_covenants_config(),
        today=date.today(),
        now=utcnow(),
        actor=WORKER_ACTOR,
    )


@router.topic("facts.run-checks")
@in_transaction
def run_checks(
    session: Session, task: ExternalTask, fact_kind: str | None, fact_id: str | None
) -> dict:
    """The checks the fact feeds, run now; catalogued findings raised as signals."""
    kind, _, key = (task.business_key or "").partition(":")
    outcome = facts.run_checks(session, fact_kind or kind, fact_id or key, _context())
    log.info(
        "%s %s: %d finding(s), %d signal(s) raised (%d new), %d closed, %d covenant test(s)",
        outcome.kind,
        outcome.fact_id,
        outcome.findings,
        len(outcome.signal_ids),
        outcome.new_signals,
        len(outcome.closed_signal_ids),
        len(outcome.covenant_tests),
    )
    return outcome.variables()


@router.topic("covenants.record-missing")
@in_transaction
def record_missing(session: Session, task: ExternalTask) -> dict:
    """Covenant tests due without a statement: recorded, each raising its signal."""
    outcome = facts.record_missing_statements(session, _context())
    if outcome.covenant_tests:
        log.warning("%d covenant test(s) recorded without a statement", len(outcome.covenant_tests))
    return outcome.variables()
