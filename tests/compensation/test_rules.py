"""The arithmetic of deferred pay (no database): periods, the split into paid now and tranches,
clawback amounts, reach, and config/compensation.yaml's checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import yaml

from postloan.compensation import config
from postloan.compensation import rules as arithmetic
from postloan.compensation.config import CompensationConfigError

RULES = config.rules()


def _rules(**changes: object) -> config.CompensationRules:
    raw = yaml.safe_load(config.CONFIG_FILE.read_text(encoding="utf-8"))
    raw.update(changes)
    return config.parse(raw)


class TestTheSplit:
    def test_100000_is_60000_now_and_40000_in_three_tranches_summing_exactly(self):
        period = arithmetic.parse_period("2025", "year")
        split = arithmetic.split(Decimal("100000.00"), period, RULES)
        assert split.paid_now == Decimal("60000.00")
        assert split.deferred == Decimal("40000.00")
        assert [t.amount for t in split.tranches] == [
            Decimal("13333.33"),
            Decimal("13333.33"),
            Decimal("13333.34"),
        ]
        # each tranche is due on an anniversary of the period's end
        assert [t.due_on for t in split.tranches] == [
            date(2026, 12, 31),
            date(2027, 12, 31),
            date(2028, 12, 31),
        ]
        assert [t.number for t in split.tranches] == [1, 2, 3]

    @pytest.mark.parametrize(
        "pay", ["0.01", "0.05", "1.00", "99999.99", "123456.78", "33333.33", "7.77"]
    )
    def test_now_plus_tranches_is_always_the_pay_and_no_tranche_is_negative(self, pay):
        split = arithmetic.split(Decimal(pay), arithmetic.parse_period("2025", "year"), RULES)
        assert split.paid_now + sum(t.amount for t in split.tranches) == Decimal(pay)
        assert sum(t.amount for t in split.tranches) == split.deferred
        assert all(t.amount >= 0 for t in split.tranches)
        assert split.tranches[-1].amount >= split.tranches[0].amount

    def test_the_deferred_amount_is_rounded_as_configured(self):
        period = arithmetic.parse_period("2025", "year")
        # 0.40 x 1.13 = 0.452 -> 0.45
        assert arithmetic.split(Decimal("1.13"), period, RULES).deferred == Decimal("0.45")
        half = _rules(deferred_share=0.5)
        # 0.5 x 0.05 = 0.025: half_up 0.03, half_even 0.02, down 0.02
        assert arithmetic.split(Decimal("0.05"), period, half).deferred == Decimal("0.03")
        even = _rules(deferred_share=0.5, rounding="half_even")
        assert arithmetic.split(Decimal("0.05"), period, even).deferred == Decimal("0.02")

    def test_other_shares_and_years(self):
        rules = _rules(deferred_share=0.5, deferral_years=4)
        split = arithmetic.split(
            Decimal("1000.00"), arithmetic.parse_period("2026-Q1", "quarter"), rules
        )
        assert split.paid_now == Decimal("500.00")
        assert [t.amount for t in split.tranches] == [Decimal("125.00")] * 4
        assert [t.due_on for t in split.tranches] == [date(2027 + i, 3, 31) for i in range(4)]

    def test_more_than_two_decimals_is_refused(self):
        with pytest.raises(ValueError, match="two decimal"):
            arithmetic.split(Decimal("1.005"), arithmetic.parse_period("2025", "year"), RULES)


class TestPeriods:
    @pytest.mark.parametrize(
        ("label", "kind", "start", "end"),
        [
            ("2026", "year", date(2026, 1, 1), date(2026, 12, 31)),
            ("2026-Q1", "quarter", date(2026, 1, 1), date(2026, 3, 31)),
            ("2026-Q3", "quarter", date(2026, 7, 1), date(2026, 9, 30)),
            ("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31)),
            ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29)),
            ("2026-12", "month", date(2026, 12, 1), date(2026, 12, 31)),
        ],
    )
    def test_a_label_names_its_days(self, label, kind, start, end):
        assert arithmetic.parse_period(label, kind) == arithmetic.PayPeriod(label, start, end)

    @pytest.mark.parametrize(
        ("label", "kind"),
        [
            ("2026-Q3", "year"),
            ("26", "year"),
            ("2026", "quarter"),
            ("2026-Q5", "quarter"),
            ("2026-13", "month"),
            ("2026-7", "month"),
            ("1899", "year"),
        ],
    )
    def test_a_label_of_another_convention_is_refused_with_an_example(self, label, kind):
        problem = arithmetic.period_problem(label, kind)
        assert problem is not None and arithmetic.PERIOD_FORMATS[kind][1] in problem

    def test_29_february_has_its_anniversary_on_28_february(self):
        assert arithmetic.anniversary(date(2024, 2, 29), 1) == date(2025, 2, 28)
        assert arithmetic.anniversary(date(2024, 2, 29), 4) == date(2028, 2, 29)


class TestClawbackAndReach:
    def test_a_clawback_is_the_share_rounded_and_never_more_than_the_tranche(self):
        assert arithmetic.clawback(Decimal("13333.33"), Decimal("0.5"), RULES) == Decimal("6666.67")
        assert arithmetic.clawback(Decimal("13333.34"), Decimal("1"), RULES) == Decimal("13333.34")
        assert arithmetic.clawback(Decimal("0.01"), Decimal("0.5"), RULES) == Decimal("0.01")
        assert arithmetic.clawback(Decimal("10.00"), Decimal("0"), RULES) == Decimal("0.00")

    def test_a_review_reaches_the_periods_from_the_disbursement_to_the_determination(self):
        y = {label: arithmetic.parse_period(label, "year") for label in ("2024", "2025", "2026")}
        reach = {"reaches_from": date(2025, 3, 1), "reaches_until": date(2025, 11, 30)}
        assert [p for p, period in y.items() if arithmetic.in_reach(period, **reach)] == ["2025"]
        reach_any = {"reaches_from": None, "reaches_until": date(2026, 1, 1)}
        assert [p for p, period in y.items() if arithmetic.in_reach(period, **reach_any)] == [
            "2024",
            "2025",
            "2026",
        ]


class TestTheConfiguration:
    def test_the_bundled_file_is_the_domain_default(self):
        assert RULES.deferred_share == Decimal("0.4")
        assert RULES.deferral_years == 3
        assert {k: v.clawback_share for k, v in RULES.outcomes.items()} == {
            "exempt": Decimal("0"),
            "reduced": Decimal("0.5"),
            "full_accountability": Decimal("1"),
        }

    @pytest.mark.parametrize(
        ("change", "named"),
        [
            ({"deferred_share": 1.5}, "deferred_share"),
            ({"deferral_years": 0}, "deferral_years"),
            ({"pay_period": "week"}, "pay_period"),
            ({"currency": "XYZ"}, "currency"),
            ({"rounding": "up"}, "rounding"),
            ({"outcomes": {"exempt": {"clawback_share": 0}}}, "outcomes"),
            (
                {
                    "outcomes": {
                        "exempt": {"clawback_share": 0},
                        "reduced": {"clawback_share": 2},
                        "full_accountability": {"clawback_share": 1},
                    }
                },
                "outcomes.reduced.clawback_share",
            ),
            ({"reach": {"from": "approval"}}, "reach.from"),
            ({"surprise": 1}, "surprise"),
        ],
    )
    def test_a_broken_file_fails_loudly_naming_the_key(self, change, named, tmp_path):
        raw = yaml.safe_load(config.CONFIG_FILE.read_text(encoding="utf-8"))
        raw.update(change)
        broken = tmp_path / "compensation.yaml"
        broken.write_text(yaml.safe_dump(raw), encoding="utf-8")
        with pytest.raises(CompensationConfigError, match=named):
            config.load(broken)

    def test_an_empty_file_is_refused(self, tmp_path):
        empty = tmp_path / "compensation.yaml"
        empty.write_text("", encoding="utf-8")
        with pytest.raises(CompensationConfigError, match="mapping"):
            config.load(empty)
