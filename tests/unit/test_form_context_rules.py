"""The forms' rules that need no database: consistency warnings, the report's summary checklist
taken from the points, evidence and amounts in words."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from postloan.inspections.form_context import (
    consistency_warnings,
    day_in_words,
    evidence_in_words,
    money,
    points_for_review,
)
from postloan.inspections.models import InspectionItem
from postloan.inspections.service import checklist_summary


def item(code: str, result: str | None, source: str = "template") -> InspectionItem:
    return InspectionItem(
        code=code, label=f"Point {code}", source=source, result=result, evidence_required="docs"
    )


RED = {"severity": "red", "summary": "95 days past due", "code": "REPAYMENT_OVERDUE"}
ORANGE = {"severity": "orange", "summary": "Orders down", "code": "ORDERS_DOWN"}


class TestConsistencyWarnings:
    def test_no_concerns_with_points_not_in_order(self) -> None:
        [warning] = consistency_warnings("satisfactory", [item("a", "ok"), item("b", "not_ok")], [])
        assert warning == 'The conclusion is "no concerns" but 1 point(s) are not in order: Point b'

    def test_unanswered_points_count_as_not_in_order(self) -> None:
        [warning] = consistency_warnings("satisfactory", [item("a", None)], [])
        assert "1 point(s) are not in order" in warning

    def test_no_concerns_with_a_red_signal_open(self) -> None:
        [warning] = consistency_warnings("satisfactory", [item("a", "ok")], [RED, ORANGE])
        assert warning == (
            'The conclusion is "no concerns" but 1 red signal(s) are open: 95 days past due'
        )

    def test_no_concerns_with_an_orange_signal_only_is_no_contradiction(self) -> None:
        assert consistency_warnings("satisfactory", [item("a", "ok")], [ORANGE]) == []

    def test_concerns_with_everything_in_order_and_no_signal(self) -> None:
        [warning] = consistency_warnings(
            "concerns", [item("a", "ok"), item("b", "not_applicable")], []
        )
        assert warning.startswith("The conclusion reports concerns but every point")

    def test_concerns_explained_by_an_open_signal_or_a_point(self) -> None:
        assert consistency_warnings("serious_concerns", [item("a", "ok")], [ORANGE]) == []
        assert consistency_warnings("concerns", [item("a", "not_ok")], []) == []

    def test_every_point_not_applicable(self) -> None:
        warnings = consistency_warnings(
            "serious_concerns", [item("a", "not_applicable"), item("b", "not_applicable")], [RED]
        )
        assert warnings == ["Every point is marked not applicable: nothing was verified"]

    def test_a_consistent_record_has_no_warning(self) -> None:
        assert consistency_warnings("satisfactory", [item("a", "ok")], []) == []


def test_points_for_review_say_not_applicable_in_words() -> None:
    rows = points_for_review([item("a", "ok"), item("b", "not_applicable"), item("c", "not_ok")])
    assert [r["result"] for r in rows] == ["In order", "Not applicable", "Not in order"]
    assert rows[1]["point"] == "Point b"


class TestChecklistSummary:
    def test_conditions_follow_their_points_not_the_tick(self) -> None:
        points = [item("cond.1", "ok", "approval_condition"), item("funds.1", "ok", "use_of_funds")]
        summary = checklist_summary(
            points, {"approval_conditions_met": False, "funds_used_as_agreed": False}
        )
        assert summary["approval_conditions_met"] is True
        assert summary["funds_used_as_agreed"] is True

    def test_one_condition_not_in_order(self) -> None:
        points = [
            item("cond.1", "ok", "approval_condition"),
            item("cond.2", "not_ok", "approval_condition"),
        ]
        assert checklist_summary(points, {})["approval_conditions_met"] is False

    def test_conditions_all_not_applicable_read_not_applicable(self) -> None:
        points = [item("cond.1", "not_applicable", "approval_condition")]
        assert (
            checklist_summary(points, {"approval_conditions_met": True})["approval_conditions_met"]
            is None
        )

    def test_without_condition_points_the_inspectors_answer_stands(self) -> None:
        points = [item("tpl.a", "ok")]
        assert (
            checklist_summary(points, {"approval_conditions_met": True})["approval_conditions_met"]
            is True
        )
        summary = checklist_summary(points, {"collateral_intact": True})
        assert summary["approval_conditions_met"] is None  # nobody had to check any
        assert summary["collateral_intact"] is True


def test_evidence_in_words() -> None:
    text = evidence_in_words(
        {
            "as_of": "2026-12-02",
            "days_past_due": 95,
            "oldest_unpaid_due_on": "2026-08-29",
            "instalments": [{}, {}],
            "ltv": 0.8123,
            "nested": {"ignored": 1},
            "missing": None,
            "scope": "loan",
        }
    )
    assert text == (
        "days past due 95 · oldest unpaid due on 29 Aug 2026 · 2 instalments on record · ltv 81% "
        "· checked on 2 Dec 2026"
    )


def test_amounts_and_dates_in_words() -> None:
    assert money(Decimal("500000"), "CNY") == "500,000.00 CNY"
    assert money(None) == ""
    assert day_in_words(date(2026, 1, 5)) == "5 Jan 2026"
    assert day_in_words("2026-12-02T10:00:00+00:00") == "2 Dec 2026"
    assert day_in_words(None) == ""
