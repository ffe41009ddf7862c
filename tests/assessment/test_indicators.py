"""The seeded quarter's indicators equal the values computed by hand (tests/assessment/
portfolio.py lists every fact), at every level; scores follow the DMN's weights."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from postloan.assessment import service
from postloan.assessment.results import LEVELS
from postloan.assessment.scorecard import DEFAULT_PATH, ScorecardTable
from postloan.db import unit_of_work
from postloan.errors import InvalidInput
from postloan.loans import technical_overdue
from tests.assessment.portfolio import PERIOD, TODAY

# (numerator, denominator) of a rate; the mean's value for the mean indicators.
EXPECTED: dict[str, dict[str, dict[str, tuple[int, int] | float]]] = {
    "account_manager": {
        # I1 on time, I2 late, I3 missing (nobody performed it: the customer's manager answers)
        "am_li": {
            "inspections_on_time": (1, 3),
            "inspections_late": (1, 3),
            "inspections_missing": (1, 3),
            "rework_rate": (1, 2),  # I1, I2 completed in Q3; I2 reworked
            "signals_caught_early": (1, 1),  # L1 overdue 08-20; S6 (C1) 07-15, S1 08-01
            "signal_lead_time_days": 36.0,  # 08-20 - 07-15
            "signals_responded_on_time": (1, 1),  # S1 (S6 is the credit manager's)
            "rectifications_on_time": (1, 1),  # R1
            "technical_overdue_rate": (1, 3),  # L1 08-15 paid 2 days late
            "approval_quality": 1.0,  # CA1 good
            "onsite_contradicted_rate": (1, 1),  # I2
        },
        # I4 on time, I5 done after the quarter; I4 and I6 completed in Q3, I4 reworked
        "am_zhang": {
            "inspections_on_time": (1, 2),
            "inspections_late": (0, 2),
            "inspections_missing": (1, 2),
            "rework_rate": (1, 2),
            "signals_caught_early": (0, 1),  # L3 overdue from 09-06; S2 09-08, S5 too old
            "signals_responded_on_time": (0, 1),  # S2 answered two days late
            "rectifications_on_time": (0, 2),  # R2 late, R3 open
            "technical_overdue_rate": (1, 3),  # L3 09-01 a day late; L2 part paid, 40 days
            "approval_quality": 0.25,  # (poor 0 + adequate 0.5) / 2
            "onsite_contradicted_rate": (0, 1),  # I4 confirmed; I5's is after Q3
        },
    },
    "postloan_officer": {
        "po_chen": {
            "inspections_on_time": (1, 2),  # I1, I2 (I3 has no reviewer)
            "inspections_late": (1, 2),
            "inspections_missing": (0, 2),
            "rework_rate": (1, 3),  # I1, I2, I6
        },
        "po_wang": {
            "inspections_on_time": (1, 2),  # I4, I5
            "inspections_late": (0, 2),
            "inspections_missing": (1, 2),
            "rework_rate": (1, 1),  # I4
            "signals_responded_on_time": (1, 1),  # S3 (S4 unanswered: nobody to answer for)
        },
    },
    "vendor": {
        "VA": {
            "inspections_on_time": (1, 2),
            "inspections_late": (0, 2),
            "inspections_missing": (1, 2),
            "rework_rate": (1, 1),
            "onsite_contradicted_rate": (0, 1),
            "vendor_quality_score": 80.0,
        },
        "VB": {"vendor_quality_score": 95.0},
    },
    "branch": {
        "BR-SH-01": {
            "inspections_on_time": (2, 4),  # I1, I2, I3, I4
            "inspections_late": (1, 4),
            "inspections_missing": (1, 4),
            "rework_rate": (2, 3),  # I1, I2, I4
            "signals_caught_early": (1, 1),
            "signal_lead_time_days": 36.0,
            "signals_responded_on_time": (3, 4),  # S1, S3, S6 on time; S4 unanswered
            "rectifications_on_time": (1, 2),
            "technical_overdue_rate": (1, 5),
            "approval_quality": 0.5,  # (1 + 0 + 0.5) / 3
            "onsite_contradicted_rate": (1, 2),
        },
        "BR-BJ-02": {
            "inspections_on_time": (0, 1),
            "inspections_late": (0, 1),
            "inspections_missing": (1, 1),
            "rework_rate": (0, 1),  # I6
            "signals_caught_early": (0, 1),
            "signals_responded_on_time": (0, 1),
            "rectifications_on_time": (0, 1),
            "technical_overdue_rate": (1, 1),
        },
    },
}


def _measured(cards) -> dict[str, dict[str, tuple[int, int] | float]]:
    found: dict[str, dict[str, tuple[int, int] | float]] = {}
    for card in cards:
        values: dict[str, tuple[int, int] | float] = {}
        for i in card.indicators:
            if i.value is None:
                continue
            values[i.key] = (i.numerator, i.denominator) if i.numerator is not None else i.value
        found[card.subject_id] = values
    return found


def test_the_seed_is_what_the_hand_computation_assumes():
    # 2 days late counts as technical overdue, 40 days does not (config/reminders.yaml).
    assert 2 <= technical_overdue.rule().max_days_late < 40


@pytest.mark.parametrize("level", LEVELS)
def test_indicators_equal_the_hand_computed_values(db, level):
    with unit_of_work(db) as session:
        cards = service.scorecards(session, period=PERIOD, level=level, today=TODAY)
    assert _measured(cards) == EXPECTED[level]


def test_an_indicator_without_data_is_none_and_left_out_of_the_score(db):
    with unit_of_work(db) as session:
        cards = {
            c.subject_id: c for c in service.scorecards(session, period=PERIOD, level="vendor")
        }
    vb = {i.key: i for i in cards["VB"].indicators}
    assert vb["inspections_on_time"].value is None and vb["inspections_on_time"].points == 0
    assert vb["inspections_on_time"].explanation == "nothing to measure in this period"
    # Only the quality score (95 of 100) has data: its weight is all the weight there is.
    assert cards["VB"].score == 95.0 and cards["VB"].band == "excellent"


def test_scores_follow_the_weights_of_the_dmn(db):
    with unit_of_work(db) as session:
        cards = {
            c.subject_id: c for c in service.scorecards(session, period=PERIOD, level="vendor")
        }
    # VA by hand with the shipped weights (on time 30, missing 10, rework 10, on-site 20,
    # quality 30; scale 100 for the quality score): 30*.5 + 10*(1-.5) + 10*(1-1) + 20*(1-0)
    # + 30*.8 = 64 of 100.
    assert cards["VA"].score == 64.0
    assert cards["VA"].band == "adequate"
    assert [c.rank for c in sorted(cards.values(), key=lambda c: c.rank)] == [1, 2]
    assert cards["VB"].rank == 1 and cards["VA"].rank == 2
    points = {i.key: i.points for i in cards["VA"].indicators}
    assert points == {
        "inspections_on_time": 15.0,
        "inspections_late": 0.0,
        "inspections_missing": 5.0,
        "rework_rate": 0.0,
        "onsite_contradicted_rate": 20.0,
        "vendor_quality_score": 24.0,
    }


def _changed_copy(tmp_path: Path, old: str, new: str) -> ScorecardTable:
    xml = DEFAULT_PATH.read_text(encoding="utf-8")
    assert xml.count(old) == 1, old
    path = tmp_path / "assessment_scorecard.dmn"
    path.write_text(xml.replace(old, new), encoding="utf-8")
    return ScorecardTable.from_file(path)


def test_changing_a_weight_in_a_copy_of_the_dmn_changes_the_score(db, tmp_path):
    table = _changed_copy(
        tmp_path,
        '<outputEntry id="LiteralExpression_Vendor_VendorQualityScore_Weight">\n'
        "          <text>30</text>",
        '<outputEntry id="LiteralExpression_Vendor_VendorQualityScore_Weight">\n'
        "          <text>90</text>",
    )
    with unit_of_work(db) as session:
        cards = {
            c.subject_id: c
            for c in service.scorecards(session, period=PERIOD, level="vendor", table=table)
        }
    # (15 + 5 + 0 + 20 + 90 * .8) / 160 weight in all = 70.0
    assert cards["VA"].score == 70.0
    assert cards["VA"].band == "good"


def test_changing_a_band_in_a_copy_of_the_dmn_changes_the_band(db, tmp_path):
    table = _changed_copy(tmp_path, "<text>&gt;= 50</text>", "<text>&gt;= 65</text>")
    with unit_of_work(db) as session:
        cards = {
            c.subject_id: c
            for c in service.scorecards(session, period=PERIOD, level="vendor", table=table)
        }
    assert cards["VA"].band == "poor"


def test_a_month_counts_only_its_own_facts(db):
    with unit_of_work(db) as session:
        cards = {
            c.subject_id: c for c in service.scorecards(session, period="2026-08", level="branch")
        }
    sh = {i.key: i for i in cards["BR-SH-01"].indicators}
    assert (sh["inspections_on_time"].numerator, sh["inspections_on_time"].denominator) == (0, 1)
    assert "BR-BJ-02" not in cards  # nothing of BJ fell in August


def test_an_open_period_counts_only_what_is_already_due(db):
    # On 2026-09-21 I1, I2, I3 (due 09-20) and I4 are due; I5 (due 09-25) is not yet missing.
    with unit_of_work(db) as session:
        cards = service.scorecards(session, period=PERIOD, level="branch", today=date(2026, 9, 21))
    by_id = {c.subject_id: {i.key: i for i in c.indicators} for c in cards}
    sh = by_id["BR-SH-01"]
    assert (sh["inspections_missing"].numerator, sh["inspections_missing"].denominator) == (1, 4)
    # BJ's only inspection of the quarter (I5) is not due yet: nothing to measure, not a 0.
    assert by_id["BR-BJ-02"]["inspections_missing"].value is None
    assert by_id["BR-BJ-02"]["rework_rate"].denominator == 1  # I6, completed 07-05


@pytest.mark.parametrize(
    "period",
    ["2026-13", "2026-Q5", "26", "2026-q3", "", "Q3-2026", "9999-12", "9999", "0000", "２０２６"],
)
def test_a_bad_period_is_refused_naming_the_field(db, period):
    with unit_of_work(db) as session, pytest.raises(InvalidInput) as caught:
        service.scorecards(session, period=period, level="branch")
    assert caught.value.field == "period"


def test_a_bad_level_is_refused_naming_the_field(db):
    with unit_of_work(db) as session, pytest.raises(InvalidInput) as caught:
        service.scorecards(session, period=PERIOD, level="region")
    assert caught.value.field == "level"
