"""Signal handling without the engine: which signals become work, joins, the owner's answers,
escalation levels, signals the facts clear (``postloan.signals.handling``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.loans.models import Loan
from postloan.outbox.models import OutboxMessage
from postloan.signals import handling, service
from postloan.signals.catalogue import EarlyWarningCatalogue
from postloan.signals.models import RiskSignal, SignalHandling

CATALOGUE = EarlyWarningCatalogue.from_file()
NOW = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(database):
    with unit_of_work(database) as s:
        yield s
        s.rollback()


@pytest.fixture
def loan(session) -> Loan:
    suffix = uuid.uuid4().hex[:8]
    session.add(
        Customer(
            id=f"C-{suffix}",
            name=f"Handling Co {suffix}",
            segment="sme",
            industry="textiles",
            branch="BR-1",
            account_manager="am_zhang",
            credit_rating="BBB",
        )
    )
    session.flush()
    row = Loan(
        id=f"L-{suffix}",
        customer_id=f"C-{suffix}",
        product="SME-OPERATING",
        amount=Decimal("500000"),
        currency="CNY",
        disbursed_on=date(2025, 1, 1),
        maturity_on=date(2027, 1, 1),
        purpose="raw materials",
    )
    session.add(row)
    session.flush()
    return row


def _raise(session, loan: Loan, code: str, *, customer_level: bool = False) -> RiskSignal:
    signal, _new = service.raise_signal(
        session,
        code=code,
        customer_id=loan.customer_id,
        loan_id=None if customer_level else loan.id,
        summary=f"{code} in a test",
        evidence={},
        source="test",
        catalogue=CATALOGUE,
        now=NOW,
    )
    return signal


def _owed(session, business_key: str) -> list[str]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.business_key == business_key)
        .order_by(OutboxMessage.id)
    )
    return [m.payload.get("process_key") or m.payload.get("message_name") for m in rows]


def _answers(presented, **given) -> handling.Answers:
    fields = {
        "actions": [],
        "action_text": "",
        "false_positives": [],
        "false_positive_reason": "",
        "rectifications": [],
        "rectification_text": "",
        **given,
    }
    return handling.Answers(presented=[str(i) for i in presented], **fields)


def _no_rectification(*_args):
    raise AssertionError("no rectification expected")


class TestRules:
    def test_the_shipped_configuration_loads(self):
        rules = handling.rules()
        assert rules.opens_task("red") and rules.opens_task(rules.opens_task_at)
        assert not rules.opens_task("blue")
        assert rules.needs_confirmation("red") and rules.needs_confirmation("orange")
        assert [level.group for level in rules.escalation_levels] == [
            "postloan-officers",
            "credit-managers",
        ]

    def test_a_broken_configuration_is_refused_with_every_problem(self, tmp_path: Path):
        raw = yaml.safe_load(handling.CONFIG_FILE.read_text())
        raw["opens_task_at"] = "purple"
        raw["priorities"].pop("red")
        raw["escalation_levels"] = []
        path = tmp_path / "signal_handling.yaml"
        path.write_text(yaml.safe_dump(raw))
        with pytest.raises(ValueError) as err:
            handling.rules.__wrapped__(path)
        message = str(err.value)
        assert "opens_task_at" in message and "priorities lacks red" in message
        assert "escalation_levels" in message


class TestTakeUp:
    def test_a_signal_at_the_threshold_opens_a_handling_and_owes_its_process(self, session, loan):
        red = _raise(session, loan, "LITIGATION", customer_level=True)
        row = session.get(SignalHandling, red.handling_id)
        assert (row.customer_id, row.status, row.escalation_level) == (loan.customer_id, "open", 0)
        assert red.handling_state == "awaiting_response"
        assert _owed(session, loan.customer_id) == [handling.PROCESS_KEY]

    def test_later_signals_join_the_open_handling(self, session, loan):
        first = _raise(session, loan, "LITIGATION", customer_level=True)
        second = _raise(session, loan, "REVENUE_DROP_30")
        again = _raise(session, loan, "REVENUE_DROP_30")  # the same live signal: no new work
        assert second.handling_id == first.handling_id and again.id == second.id
        assert _owed(session, loan.customer_id) == [
            handling.PROCESS_KEY,
            handling.CHANGED_MESSAGE,
        ]
        assert (
            len(
                session.scalars(
                    select(SignalHandling).where(SignalHandling.customer_id == loan.customer_id)
                ).all()
            )
            == 1
        )

    def test_a_signal_below_the_threshold_is_not_work(self, session, loan):
        blue = _raise(session, loan, "NEGATIVE_NEWS", customer_level=True)
        assert blue.handling_id is None and blue.handling_state is None
        assert _owed(session, loan.customer_id) == []


class TestPrepare:
    def test_the_most_severe_signal_decides_owner_due_date_and_priority(self, session, loan):
        orange = _raise(session, loan, "REVENUE_DROP_30")  # account manager, 10 days
        view = handling.prepare_task(session, orange.handling_id, now=NOW, process_instance_id="p")
        assert (view.variables["owner_group"], view.variables["owner_user"]) == (
            "account-managers",
            "am_zhang",
        )
        red = _raise(session, loan, "LITIGATION", customer_level=True)  # officers, 3 days
        view = handling.prepare_task(session, red.handling_id, now=NOW, process_instance_id="p")
        v = view.variables
        assert view.has_signals_to_answer and v["signal_count"] == 2
        assert (v["owner_group"], v["owner_user"]) == ("postloan-officers", None)
        assert v["task_priority"] == handling.rules().priorities["red"]
        assert v["respond_to_signals_due"] == f"{red.respond_by.isoformat()}T23:59:59+00:00"
        assert [o["value"] for o in v["signal_options"]] == [str(red.id), str(orange.id)]
        assert session.get(SignalHandling, red.handling_id).process_instance_id == "p"


class TestResponses:
    def test_unanswered_twice_answered_and_reasonless_answers_are_refused(self, session, loan):
        a = _raise(session, loan, "REVENUE_DROP_30")
        b = _raise(session, loan, "LITIGATION", customer_level=True)
        hid = a.handling_id
        cases = {
            "not answered": _answers([a.id, b.id], actions=[str(a.id)], action_text="called"),
            "two answers": _answers(
                [a.id, b.id],
                actions=[str(a.id), str(b.id)],
                action_text="called",
                false_positives=[str(a.id)],
                false_positive_reason="seasonal",
            ),
            "a false positive needs a reason": _answers(
                [a.id, b.id], actions=[str(b.id)], action_text="x", false_positives=[str(a.id)]
            ),
            "say what action was taken": _answers([a.id, b.id], actions=[str(a.id), str(b.id)]),
            "not one of this task's signals": _answers(
                [a.id], actions=[str(a.id), "999999"], action_text="x"
            ),
        }
        for expected, answers in cases.items():
            with pytest.raises(handling.InvalidResponse, match=expected):
                handling.record_responses(
                    session,
                    hid,
                    answers,
                    responder="am_zhang",
                    now=NOW,
                    open_rectification=_no_rectification,
                )
            assert (a.response_kind, b.response_kind) == (None, None)

    def test_confirmed_severities_wait_for_the_officer_and_others_are_final(self, session, loan):
        orange = _raise(session, loan, "REVENUE_DROP_30")
        yellow = _raise(session, loan, "EQUITY_RATIO_LOW", customer_level=True)
        yellow.handling_id, yellow.handling_state = orange.handling_id, "awaiting_response"
        session.flush()  # (yellow is below the threshold: it joins only by hand here)
        waiting = handling.record_responses(
            session,
            orange.handling_id,
            _answers(
                [orange.id, yellow.id],
                actions=[str(orange.id)],
                action_text="Met the owner",
                false_positives=[str(yellow.id)],
                false_positive_reason="Statement misread",
            ),
            responder="am_zhang",
            now=NOW,
            open_rectification=_no_rectification,
        )
        assert waiting == [orange]
        assert (orange.handling_state, orange.status) == ("awaiting_confirmation", "acknowledged")
        assert (yellow.handling_state, yellow.status) == ("done", "resolved")
        assert yellow.resolution == "false positive: Statement misread"

        rectified: list[tuple[int, str, str]] = []

        def open_rectification(signal, raised_by, text):
            rectified.append((signal.id, raised_by, text))
            return "REC-TEST"

        handling.record_confirmation(
            session,
            orange.handling_id,
            approved=False,
            comment="Say what he said",
            confirmer="po_chen",
            now=NOW,
            open_rectification=open_rectification,
        )
        assert orange.handling_state == "sent_back" and orange.status != "resolved"
        handling.record_responses(
            session,
            orange.handling_id,
            _answers(
                [orange.id],
                rectifications=[str(orange.id)],
                rectification_text="Restructure the repayments",
            ),
            responder="am_zhang",
            now=NOW,
            open_rectification=open_rectification,
        )
        assert rectified == []  # not before the officer confirms
        handling.record_confirmation(
            session,
            orange.handling_id,
            approved=True,
            comment="Agreed",
            confirmer="po_chen",
            now=NOW,
            open_rectification=open_rectification,
        )
        assert rectified == [(orange.id, "am_zhang", "Restructure the repayments")]
        assert (orange.handling_state, orange.rectification_id) == ("done", "REC-TEST")
        view = handling.prepare_task(session, orange.handling_id, now=NOW, process_instance_id=None)
        assert not view.has_signals_to_answer
        assert session.get(SignalHandling, orange.handling_id).status == "closed"


class TestEscalation:
    def test_one_level_at_a_time_and_no_further_than_the_last(self, session, loan):
        signal = _raise(session, loan, "REVENUE_DROP_30")
        levels = handling.rules().escalation_levels
        groups = []
        for step in range(len(levels) + 1):
            at = NOW + timedelta(days=step)
            row = handling.escalate(session, signal.handling_id, now=at, actor="worker")
            view = handling.prepare_task(session, row.id, now=at, process_instance_id=None)
            groups.append(view.variables["owner_group"])
            assert view.variables["owner_user"] is None
            assert view.variables["escalation_label"].startswith("Escalated")
        assert groups == [levels[0].group, levels[1].group, levels[1].group]
        assert signal.status == "escalated"
        assert row.escalation_level == len(levels)
        assert row.due_at == NOW + timedelta(days=len(levels)) + timedelta(days=levels[-1].days)


class TestClearedByFacts:
    def test_a_cleared_signal_leaves_its_handling_and_the_last_one_closes_it(self, session, loan):
        overdue = _raise(session, loan, "OVERDUE_31_90")
        funds = _raise(session, loan, "USE_OF_FUNDS_UNVERIFIED")
        hid = overdue.handling_id
        service.close_cleared(
            session,
            codes={"OVERDUE_31_90"},
            customer_id=loan.customer_id,
            loan_id=loan.id,
            evidence={"days_past_due": 0},
            now=NOW,
        )
        assert (overdue.status, overdue.handling_state) == ("resolved", "closed_by_facts")
        assert session.get(SignalHandling, hid).status == "open"
        assert _owed(session, loan.customer_id)[-1] == handling.CHANGED_MESSAGE
        service.close_cleared(
            session,
            codes={"USE_OF_FUNDS_UNVERIFIED"},
            customer_id=loan.customer_id,
            loan_id=loan.id,
            evidence={"use_of_funds_verified": True},
            now=NOW,
        )
        assert funds.handling_state == "closed_by_facts"
        assert session.get(SignalHandling, hid).status == "closed"
        assert _owed(session, loan.customer_id)[-1] == handling.CLEARED_MESSAGE

    def test_a_signal_resolved_over_rest_leaves_its_task_too(self, session, loan):
        red = _raise(session, loan, "LITIGATION", customer_level=True)
        service.resolve(session, red.id, resolution="Case withdrawn", actor="po_chen")
        assert (red.status, red.handling_state) == ("resolved", "done")
        assert session.get(SignalHandling, red.handling_id).status == "closed"
        assert _owed(session, loan.customer_id)[-1] == handling.CLEARED_MESSAGE


class TestAFindingRaisesItsSignalOnce:
    """``raise_for_finding``: the step turning an inspection's findings into signals may run
    again (an engine restarted after a crash hands it out under a new task id); a finding counts
    one occurrence, and a finding older than its signal's resolution raises nothing."""

    def _found(self, session, loan: Loan, *, counted: int | None, at: datetime):
        return service.raise_for_finding(
            session,
            counted_signal_id=counted,
            found_at=at,
            code="OVERDUE_1_30",
            customer_id=loan.customer_id,
            loan_id=loan.id,
            summary="12 days past due",
            evidence={},
            source="repayment",
            catalogue=CATALOGUE,
            now=NOW,
        )

    def _rows(self, session, loan: Loan) -> list[RiskSignal]:
        return list(
            session.scalars(
                select(RiskSignal).where(RiskSignal.loan_id == loan.id).order_by(RiskSignal.id)
            )
        )

    def test_the_same_finding_again_counts_no_second_occurrence(self, session, loan):
        first = self._found(session, loan, counted=None, at=NOW)
        assert first is not None
        again = self._found(session, loan, counted=first.id, at=NOW)
        assert again is first
        assert [(s.id, s.occurrences) for s in self._rows(session, loan)] == [(first.id, 1)]

    def test_another_findings_occurrence_is_counted(self, session, loan):
        first = self._found(session, loan, counted=None, at=NOW)
        other = self._found(session, loan, counted=None, at=NOW)
        assert other is first and first.occurrences == 2

    def test_a_finding_older_than_the_resolution_raises_nothing(self, session, loan):
        signal = _raise(session, loan, "OVERDUE_1_30")
        service.close_cleared(
            session,
            codes={"OVERDUE_1_30"},
            customer_id=loan.customer_id,
            loan_id=loan.id,
            evidence={"days_past_due": 0},
            now=NOW,
        )
        assert signal.status == "resolved" and signal.resolved_at is not None
        found_before = signal.resolved_at - timedelta(seconds=1)
        assert self._found(session, loan, counted=None, at=found_before) is None
        assert self._found(session, loan, counted=signal.id, at=found_before) is None
        assert [s.id for s in self._rows(session, loan)] == [signal.id]

    def test_a_finding_newer_than_the_resolution_raises_it_again(self, session, loan):
        signal = _raise(session, loan, "OVERDUE_1_30")
        service.close_cleared(
            session,
            codes={"OVERDUE_1_30"},
            customer_id=loan.customer_id,
            loan_id=loan.id,
            evidence={"days_past_due": 0},
            now=NOW,
        )
        assert signal.resolved_at is not None
        again = self._found(session, loan, counted=signal.id, at=signal.resolved_at + timedelta(1))
        assert again is not None and again.id != signal.id and again.status == "open"
