"""Risk signals: catalogue lookups, deduplication while live, resolution, escalation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import yaml
from checks_data import customer_and_loan
from sqlalchemy import select

from postloan.audit import AuditEvent
from postloan.checks.config import DEFAULT_PATH as CHECKS_YAML
from postloan.db import unit_of_work
from postloan.errors import Conflict, InvalidInput
from postloan.signals import service
from postloan.signals.catalogue import EarlyWarningCatalogue, Entry, max_severity

CATALOGUE = EarlyWarningCatalogue.from_file()
NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(database):
    with unit_of_work(database) as s:
        yield s
        s.rollback()


def _emitted_codes() -> set[str]:
    config = yaml.safe_load(CHECKS_YAML.read_text())
    bands = {b["code"] for b in config["repayment"]["overdue_bands"]}
    pct = round(config["financials"]["drop_ratio"] * 100)
    return (
        bands
        | set(config["external"]["codes"].values())
        | {
            f"INTEREST_UNPAID_{config['repayment']['interest_unpaid_days']}",
            "ARREARS_RISING",
            f"REVENUE_DROP_{pct}",
            f"CASH_FLOW_DROP_{pct}",
            f"UTILITY_DROP_{pct}",
            "EQUITY_RATIO_LOW",
            "EQUITY_RATIO_CRITICAL",
            "NET_MARGIN_NEGATIVE",
            "STATEMENT_MISSING",
            "LTV_HIGH",
            "REVALUATION_OVERDUE",
            "LOAN_PURPOSE_MISSING",
            "USE_OF_FUNDS_UNVERIFIED",
            "USE_OF_FUNDS_VERIFIED_LATE",
        }
    )


def test_every_code_the_checks_emit_is_catalogued():
    missing = sorted(c for c in _emitted_codes() if c not in CATALOGUE)
    assert not missing


def test_catalogue_entries():
    assert CATALOGUE.lookup("OVERDUE_90_PLUS") == Entry("red", "credit_manager", 2, True)
    assert CATALOGUE.lookup("NEGATIVE_NEWS").severity == "blue"
    assert CATALOGUE.lookup("REPAYMENT_CURRENT") is None
    assert max_severity(["blue", "red", "yellow"]) == "red"
    assert max_severity([]) is None


def test_same_finding_again_counts_an_occurrence_until_resolved(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))
    args = dict(
        code="LITIGATION",
        customer_id=loan.customer_id,
        loan_id=None,
        summary="sued",
        evidence={"events": [1]},
        source="external",
        catalogue=CATALOGUE,
    )
    first, new = service.raise_signal(session, **args, now=NOW)
    assert new and first.severity == "red" and first.owner_role == "postloan_officer"
    assert first.respond_by == date(2026, 7, 3)
    later = NOW.replace(hour=12)
    again, new_again = service.raise_signal(session, **{**args, "summary": "sued twice"}, now=later)
    assert not new_again and again.id == first.id
    assert again.occurrences == 2 and again.summary == "sued twice"
    service.resolve(session, first.id, resolution="Case settled", actor="po_chen")
    with pytest.raises(Conflict):
        service.resolve(session, first.id, resolution="again", actor="po_chen")
    fresh, new_fresh = service.raise_signal(session, **args, now=later)
    assert new_fresh and fresh.id != first.id
    session.commit()  # the audit entries are written when the transaction commits
    actions = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "risk_signal",
            AuditEvent.object_id.in_([str(first.id), str(fresh.id)]),
        )
    ).all()
    # LITIGATION is red: each new signal joined a signal handling (issue 11, risk_signal_handling)
    assert sorted(actions) == [
        "signal.joined",
        "signal.joined",
        "signal.raised",
        "signal.raised",
        "signal.resolved",
    ]


def test_unknown_code_is_refused(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))
    with pytest.raises(InvalidInput):
        service.raise_signal(
            session,
            code="NOT_A_CODE",
            customer_id=loan.customer_id,
            loan_id=loan.id,
            summary="x",
            evidence={},
            source="t",
            catalogue=CATALOGUE,
            now=NOW,
        )


def test_overdue_signals_escalate(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))

    def raise_(code):
        return service.raise_signal(
            session,
            code=code,
            customer_id=loan.customer_id,
            loan_id=loan.id,
            summary=code,
            evidence={},
            source="t",
            catalogue=CATALOGUE,
            now=NOW,
        )[0]

    red = raise_("OVERDUE_90_PLUS")  # respond by 2026-07-02
    acked = raise_("ENFORCEMENT")  # respond by 2026-07-02, acknowledged
    blue = raise_("NEGATIVE_NEWS")  # respond by 2026-07-10
    service.acknowledge(session, acked.id, actor="cm_liu", comment="looking")
    assert acked.status == "acknowledged" and acked.acknowledged_by == "cm_liu"
    assert service.escalate_overdue(session, date(2026, 7, 2)) == []
    escalated = service.escalate_overdue(session, date(2026, 7, 3))
    ours = {s.id for s in escalated} & {red.id, acked.id, blue.id}
    assert ours == {red.id, acked.id}
    assert red.status == "escalated" and red.escalated_at is not None
    assert blue.status == "open"
    # Escalated signals are not escalated twice.
    assert not {s.id for s in service.escalate_overdue(session, date(2026, 7, 4))} & ours


def test_signals_the_facts_clear_close_with_their_evidence(session):
    loan = customer_and_loan(session, disbursed_on=date(2025, 1, 1))

    def raise_(code, loan_id):
        return service.raise_signal(
            session,
            code=code,
            customer_id=loan.customer_id,
            loan_id=loan_id,
            summary=code,
            evidence={"seen": code},
            source="t",
            catalogue=CATALOGUE,
            now=NOW,
        )[0]

    overdue = raise_("OVERDUE_1_30", loan.id)
    funds = raise_("USE_OF_FUNDS_UNVERIFIED", loan.id)
    customer_level = raise_("OVERDUE_1_30", None)  # same code, not this loan's: stays open
    service.escalate_overdue(session, date(2026, 8, 1))
    assert overdue.status == "escalated"
    cleared = {"days_past_due": 0, "checked_on": "2026-08-02"}
    closed = service.close_cleared(
        session,
        codes={"OVERDUE_1_30", "OVERDUE_31_90", "OVERDUE_90_PLUS"},
        customer_id=loan.customer_id,
        loan_id=loan.id,
        evidence=cleared,
        now=NOW,
        actor="worker",
    )
    assert [s.id for s in closed] == [overdue.id]
    assert overdue.status == "resolved" and overdue.resolved_by == "worker"
    assert overdue.evidence == {"seen": "OVERDUE_1_30", "cleared_by": cleared}
    assert funds.status == "escalated" and customer_level.status == "escalated"
    session.commit()  # the audit entries are written when the transaction commits
    detail = session.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.action == "signal.closed", AuditEvent.object_id == str(overdue.id)
        )
    ).one()
    assert detail["from"] == "escalated" and detail["evidence"] == cleared
    # Nothing live left of those codes on the loan: a second run closes nothing.
    again = service.close_cleared(
        session,
        codes={"OVERDUE_1_30"},
        customer_id=loan.customer_id,
        loan_id=loan.id,
        evidence=cleared,
        now=NOW,
    )
    assert again == []
    assert (
        service.close_cleared(
            session, codes=(), customer_id=loan.customer_id, loan_id=None, evidence={}, now=NOW
        )
        == []
    )
