"""The DMN ``restriction_policy`` evaluated in Python (the same table the engine evaluates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from postloan.decisions import load_tables

DMN = Path(__file__).resolve().parents[2] / "bpmn" / "restriction_policy.dmn"


@pytest.mark.parametrize(
    ("severity", "freeze", "restrict"),
    [
        ("critical", True, True),
        ("serious", True, True),
        ("major", False, True),
        ("minor", False, False),
    ],
)
def test_policy_by_severity(severity, freeze, restrict):
    table = load_tables(DMN.read_bytes())["restriction_policy"]
    for source in ("inspection", "audit", "approval_rating"):
        result = table.single({"severity": severity, "source": source})
        assert (result["freeze_disbursement"], result["restrict_new_business"]) == (
            freeze,
            restrict,
        )
        assert result["reason"]
