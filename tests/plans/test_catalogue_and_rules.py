"""Pure logic: the catalogue, the decision table rows, the triggers (no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from postloan.decisions import load_tables
from postloan.plans.catalogue import (
    PRODUCTS_FILE,
    CatalogueError,
    load_catalogue,
    load_triggers,
)
from postloan.plans.facts import add_months
from postloan.plans.triggers import is_serious_event, repayment_trigger

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
PLAN = load_tables((BPMN / "inspection_plan.dmn").read_bytes())["inspection_plan"]


def facts(**over):
    base = {
        "segment": "sme",
        "product_template": "sme_standard",
        "balance": 500000.0,
        "is_top_borrower": False,
        "is_new_customer": False,
        "simplified_eligible": False,
        "credit_rating": "BBB",
    }
    return base | over


def test_every_product_has_a_known_template_with_evidenced_points():
    cat = load_catalogue()
    for code in (
        "MICRO-OPERATING",
        "SME-WORKING-CAPITAL",
        "CORP-TERM",
        "RETAIL-BUSINESS",
        "MORTGAGE-COMMERCIAL",
    ):
        template = cat.template(cat.product(code).template)
        assert template.points and all(p.evidence for p in template.points)
    assert cat.product("UNKNOWN-PRODUCT") == cat.default_product


def test_a_product_with_an_unknown_template_is_refused(tmp_path):
    bad = tmp_path / "products.yaml"
    bad.write_text(
        PRODUCTS_FILE.read_text().replace("template: corporate_full", "template: no_such_template")
    )
    with pytest.raises(CatalogueError, match="CORP-TERM.*no_such_template"):
        load_catalogue(products_file=bad)


def test_rating_threshold_letters_and_scores():
    rules = load_catalogue().customer_rules
    assert rules.rating_at_least_threshold("A")
    assert rules.rating_at_least_threshold("BBB")
    assert not rules.rating_at_least_threshold("BB")
    assert rules.rating_at_least_threshold("700")
    assert not rules.rating_at_least_threshold("600")
    assert not rules.rating_at_least_threshold("")


@pytest.mark.parametrize(
    ("over", "frequency", "template", "mode"),
    [
        ({"balance": 5_000_000.0}, 1, "", "on_site"),
        ({"balance": 2_000_000.0}, 2, "", "on_site"),
        ({"balance": 1_000_000.0}, 3, "", "on_site"),
        ({"segment": "micro"}, 3, "micro_standard", "outsourced"),
        ({"segment": "micro", "balance": 3_500_000.0}, 1, "", "on_site"),
        ({"is_top_borrower": True, "simplified_eligible": True}, 3, "", "on_site"),
        ({"segment": "retail", "simplified_eligible": True}, 6, "retail_simplified", "desk"),
        ({"simplified_eligible": True}, 6, "", "desk"),
        ({"simplified_eligible": True, "is_new_customer": True}, 3, "", "on_site"),
    ],
)
def test_plan_rows(over, frequency, template, mode):
    result = PLAN.single(facts(**over))
    assert (
        result["frequency"],
        result["frequency_unit"],
        result["template"],
        result["mode"],
    ) == (frequency, "months", template, mode), result["reason"]


def test_every_plan_row_is_reachable_and_valid():
    cat = load_catalogue()
    for rule in PLAN.rules:
        out = rule.outputs
        assert out["mode"] in ("on_site", "desk", "outsourced"), rule.rule_id
        assert out["frequency"] > 0 and out["first_inspection_days"] > 0
        assert out["frequency_unit"] in ("days", "weeks", "months"), rule.rule_id
        assert out["template"] == "" or out["template"] in cat.templates, rule.rule_id
        assert out["reason"], rule.rule_id


def test_triggers():
    cfg = load_triggers()
    assert is_serious_event("litigation", cfg) and is_serious_event("account_frozen", cfg)
    assert not is_serious_event("negative_news", cfg)
    assert "New overdue" in repayment_trigger(0, 3, 0, cfg)
    assert repayment_trigger(3, 10, 0, cfg) is None
    assert "Interest unpaid" in repayment_trigger(0, 0, 61, cfg)
    assert repayment_trigger(0, 0, 60, cfg) is None


def test_add_months_clamps_to_month_end():
    from datetime import date

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_months(date(2026, 3, 15), -12) == date(2025, 3, 15)
