"""Business opportunities over a real (migrated) database, no engine: capture from the perform
form and from vendor visits, idempotence, outcomes, the dossier, the configuration and the form.

Each test works in one session that is rolled back at its end: nothing it writes (outbox rows
owing processes included) is left for a relay of a later engine test to deliver.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import add_performing_loan, customer_row, rolled_back_session
from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.application import opportunities as opportunity_cases
from postloan.credit import dossier as dossiers
from postloan.errors import Conflict, InvalidInput
from postloan.inspections.models import Inspection
from postloan.opportunities import config
from postloan.opportunities import service as opportunities
from postloan.opportunities.models import Opportunity
from postloan.outbox.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]
TODAY = date.today()


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    yield from rolled_back_session(database)


def _seed(session: Session) -> tuple[str, str, str]:
    """A customer of am_qian with a loan and an inspection of it: (customer, loan, inspection)."""
    suffix = uuid.uuid4().hex[:8]
    customer_id, loan_id, inspection_id = f"C-O{suffix}", f"L-O{suffix}", f"I-O{suffix}"
    customer = customer_row(
        customer_id,
        name=f"Opportunity Co {suffix}",
        branch="BR-SH-01",
        account_manager="am_qian",
        credit_rating="BBB",
    )
    add_performing_loan(
        session,
        customer,
        loan_id=loan_id,
        product="SME-WORKING-CAPITAL",
        amount=Decimal("1000000"),
        disbursed_on=TODAY - timedelta(days=200),
    )
    session.add(
        Inspection(
            id=inspection_id, loan_id=loan_id, kind="routine", reason="plan", requested_by="plan"
        )
    )
    session.flush()
    return customer_id, loan_id, inspection_id


def _starts_owed(session: Session, opportunity_id: int) -> int:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.business_key == str(opportunity_id))
    )
    return sum(
        1
        for m in rows
        if m.kind == "process_start" and m.payload["process_key"] == "opportunity_follow_up"
    )


class TestCaptureFromTheInspection:
    def test_each_ticked_need_becomes_an_opportunity_of_the_account_manager(self, session):
        customer_id, loan_id, inspection_id = _seed(session)
        created = opportunity_cases.capture_from_inspection(
            session,
            inspection_id,
            ["new_credit", "payroll"],
            {"new_credit": "  wants 2m CNY for a second line  ", "wealth": "not ticked"},
            captured_by="am_li",
        )
        rules = config.load()
        by_kind = {o.kind: o for o in created}
        assert sorted(by_kind) == ["new_credit", "payroll"]
        credit = by_kind["new_credit"]
        assert (credit.customer_id, credit.loan_id, credit.owner) == (
            customer_id,
            loan_id,
            "am_qian",
        )
        assert (credit.source, credit.source_ref, credit.captured_by) == (
            "inspection",
            inspection_id,
            "am_li",
        )
        assert credit.note == "wants 2m CNY for a second line"
        assert by_kind["payroll"].note == ""
        for o in created:
            assert o.follow_up_on == TODAY + timedelta(days=rules.kind(o.kind).follow_up_days)
            assert o.outcome == "open" and o.outcome_by is None
            assert _starts_owed(session, o.id) == 1
        start = next(
            m
            for m in session.scalars(select(OutboxMessage))
            if m.business_key == str(credit.id)
            and m.payload.get("process_key") == "opportunity_follow_up"
        )
        variables = start.payload["variables"]
        assert variables["owner"] == "am_qian"
        assert variables["follow_up_at"].startswith(credit.follow_up_on.isoformat())
        assert "follow_up_at" in variables["__dates__"]
        assert variables["task_priority"] == rules.task_priority

    def test_performing_again_adds_nothing_twice_and_updates_the_note(self, session):
        _, _, inspection_id = _seed(session)
        first = opportunity_cases.capture_from_inspection(
            session, inspection_id, ["wealth"], {"wealth": "asked about funds"}, captured_by="am_li"
        )
        again = opportunity_cases.capture_from_inspection(
            session,
            inspection_id,
            ["wealth", "wealth"],
            {"wealth": "asked about funds for the founder"},
            captured_by="am_li",
        )
        assert len(first) == 1 and again == []
        rows = list(
            session.scalars(select(Opportunity).where(Opportunity.source_ref == inspection_id))
        )
        assert [(r.kind, r.note) for r in rows] == [("wealth", "asked about funds for the founder")]
        assert _starts_owed(session, rows[0].id) == 1

    def test_nothing_ticked_captures_nothing(self, session):
        _, _, inspection_id = _seed(session)
        assert (
            opportunity_cases.capture_from_inspection(
                session, inspection_id, None, {}, captured_by="am_li"
            )
            == []
        )
        assert (
            opportunity_cases.capture_from_inspection(
                session, inspection_id, [], {"new_credit": "x"}, captured_by="am_li"
            )
            == []
        )

    def test_an_unknown_need_is_refused_naming_the_field(self, session):
        _, _, inspection_id = _seed(session)
        with pytest.raises(InvalidInput) as err:
            opportunity_cases.capture_from_inspection(
                session, inspection_id, ["crypto"], {}, captured_by="am_li"
            )
        assert err.value.field == "business_needs"
        with pytest.raises(InvalidInput) as err:
            opportunity_cases.capture_from_inspection(
                session, inspection_id, ["other"], {"other": "x" * 2001}, captured_by="am_li"
            )
        assert err.value.field == "business_needs.other.note"


class TestCaptureFromVendorVisits:
    def test_needs_of_a_visit_are_owned_by_the_account_manager_not_the_vendor(self, session):
        customer_id, _, inspection_id = _seed(session)
        created = opportunity_cases.capture_from_visits(
            session,
            [
                {"inspection_id": inspection_id, "business_needs": []},
                {
                    "inspection_id": inspection_id,
                    "business_needs": [{"kind": "trade_finance_fx", "note": "imports in USD"}],
                },
            ],
            captured_by="vendor:V001",
        )
        assert [(o.kind, o.source, o.owner, o.captured_by) for o in created] == [
            ("trade_finance_fx", "vendor_visit", "am_qian", "vendor:V001")
        ]
        assert created[0].customer_id == customer_id

    def test_bad_needs_name_the_visit_and_the_need(self, session):
        _, _, inspection_id = _seed(session)
        for needs, field in (
            ([{"kind": "lottery", "note": ""}], "visits[0].business_needs[0].kind"),
            (
                [{"kind": "payroll", "note": ""}, {"kind": "payroll", "note": ""}],
                "visits[0].business_needs[1].kind",
            ),
        ):
            with pytest.raises(InvalidInput) as err:
                opportunity_cases.capture_from_visits(
                    session,
                    [{"inspection_id": inspection_id, "business_needs": needs}],
                    captured_by="vendor:V001",
                )
            assert err.value.field == field


class TestOutcome:
    def _one(self, session) -> Opportunity:
        _, _, inspection_id = _seed(session)
        return opportunity_cases.capture_from_inspection(
            session, inspection_id, ["deposits_settlement"], {}, captured_by="am_li"
        )[0]

    def test_won_records_who_and_when_and_a_second_outcome_conflicts(self, session):
        opportunity = self._one(session)
        won = opportunities.record_outcome(
            session, opportunity.id, outcome="won", note="opened", actor="am_qian", today=TODAY
        )
        assert (won.outcome, won.outcome_by, won.outcome_note) == ("won", "am_qian", "opened")
        assert won.outcome_at is not None
        with pytest.raises(Conflict):
            opportunities.record_outcome(
                session, opportunity.id, outcome="lost", note="", actor="am_qian", today=TODAY
            )

    def test_a_new_follow_up_date_keeps_it_open(self, session):
        opportunity = self._one(session)
        later = TODAY + timedelta(days=10)
        kept = opportunities.record_outcome(
            session,
            opportunity.id,
            outcome="open",
            note="call back",
            actor="am_qian",
            today=TODAY,
            follow_up_on=later,
        )
        assert (kept.outcome, kept.follow_up_on, kept.outcome_at) == ("open", later, None)

    @pytest.mark.parametrize(
        ("outcome", "follow_up_on", "field"),
        [
            ("maybe", None, "outcome"),
            ("open", None, "follow_up_on"),
            ("open", TODAY, "follow_up_on"),
            ("open", TODAY + timedelta(days=10_000), "follow_up_on"),
        ],
    )
    def test_bad_outcomes_name_the_field_and_change_nothing(
        self, session, outcome, follow_up_on, field
    ):
        opportunity = self._one(session)
        before = opportunity.follow_up_on
        with pytest.raises(InvalidInput) as err:
            opportunities.record_outcome(
                session,
                opportunity.id,
                outcome=outcome,
                note="",
                actor="am_qian",
                today=TODAY,
                follow_up_on=follow_up_on,
            )
        assert err.value.field == field
        assert (opportunity.outcome, opportunity.follow_up_on) == ("open", before)

    def test_the_follow_up_after_a_rest_outcome_records_nothing(self, session):
        opportunity = self._one(session)
        opportunities.record_outcome(
            session, opportunity.id, outcome="lost", note="", actor="crm/x", today=TODAY
        )
        assert (
            opportunity_cases.record_follow_up(
                session, opportunity.id, outcome="won", note="", follow_up_on=None, actor="am"
            )
            is None
        )
        assert opportunity.outcome == "lost"


def test_the_dossier_of_the_customer_shows_its_opportunities(session):
    customer_id, _, inspection_id = _seed(session)
    created = opportunity_cases.capture_from_inspection(
        session, inspection_id, ["new_credit"], {"new_credit": "second line"}, captured_by="am_li"
    )
    dossier = dossiers.assemble(session, customer_id, TODAY)
    assert [(o["id"], o["kind"], o["outcome"], o["owner"]) for o in dossier["opportunities"]] == [
        (created[0].id, "new_credit", "open", "am_qian")
    ]
    assert "second line" in dossiers.summary(dossier)


def test_search_filters_and_pages(session):
    customer_id, _, inspection_id = _seed(session)
    opportunity_cases.capture_from_inspection(
        session, inspection_id, ["new_credit", "payroll", "other"], {}, captured_by="am_li"
    )
    rows, total = opportunities.search(session, customer_id=customer_id, limit=2)
    assert total == 3 and len(rows) == 2
    assert rows[0].id > rows[1].id  # newest first
    rows, total = opportunities.search(session, customer_id=customer_id, kind="payroll")
    assert total == 1 and rows[0].kind == "payroll"
    _, total = opportunities.search(session, customer_id=customer_id, outcome="won")
    assert total == 0


# -- configuration and form ------------------------------------------------------------------


def test_the_perform_form_offers_each_configured_need_with_its_note_field():
    form = json.loads((ROOT / "bpmn" / "perform_inspection.form").read_text(encoding="utf-8"))
    by_key = {c.get("key"): c for c in form["components"] if c.get("key")}
    kinds = list(config.load().kinds)
    assert [v["value"] for v in by_key["business_needs"]["values"]] == kinds
    for kind in kinds:
        note = by_key[f"business_need_note_{kind}"]
        assert f'"{kind}"' in note["conditional"]["hide"]
    # the fields the inspection already had are all still there
    for key in (
        "items_in_order",
        "items_not_applicable",
        "item_notes",
        "funds_used_as_agreed",
        "inspection_findings",
        "inspection_conclusion",
    ):
        assert key in by_key


def test_the_record_work_handler_reads_the_business_needs():
    from workers.registry import all_handlers

    handler = all_handlers()["inspection.record-work"]
    kinds = config.load().kinds
    assert {"business_needs", *(f"business_need_note_{k}" for k in kinds)} <= set(handler.variables)
    assert {"inspection_id", "items_in_order", "inspector"} <= set(handler.variables)


def test_a_broken_configuration_is_refused_with_its_problems(tmp_path):
    bad = tmp_path / "opportunities.yaml"
    bad.write_text(
        "kinds:\n  new_credit: {label: New credit, follow_up_days: -1}\n"
        "task_priority: 40\ntask_due_days: x\nfollow_up_max_days_ahead: 30\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as err:
        config.load(bad)
    assert "kinds.new_credit.follow_up_days" in str(err.value)
    assert "task_due_days" in str(err.value)


def test_the_dossier_page_lists_the_opportunities(session):
    from api.pages import render

    customer_id, _, inspection_id = _seed(session)
    opportunity_cases.capture_from_inspection(
        session, inspection_id, ["payroll"], {"payroll": "120 staff elsewhere"}, captured_by="am_li"
    )
    html = render.dossier(dossiers.assemble(session, customer_id, TODAY), None)
    assert "Business opportunities" in html
    assert "Payroll services" in html and "120 staff elsewhere" in html
