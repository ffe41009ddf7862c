"""Pure logic: the approval gate table (as the engine deploys it) and the webhook signature."""

from __future__ import annotations

from pathlib import Path

import pytest

from postloan.credit import webhook
from postloan.decisions import load_tables

GATE = load_tables(
    (Path(__file__).resolve().parents[2] / "bpmn" / "approval_gate.dmn").read_text()
)["approval_gate"]
CLEAN = {
    "active_restrictions": 0,
    "open_serious_rectifications": 0,
    "worst_class": "normal",
    "npl": False,
    "open_red_signals": 0,
    "open_orange_signals": 0,
}


@pytest.mark.parametrize(
    ("change", "gate", "reason_start"),
    [
        ({}, "clear", "No post-loan concern"),
        ({"active_restrictions": 1}, "block", "Customer under restriction"),
        (
            {"worst_class": "loss", "npl": True},
            "block",
            "A loan of the customer is classified doubtful",
        ),
        ({"worst_class": "doubtful", "npl": True}, "block", "A loan of the customer is classified"),
        ({"open_serious_rectifications": 2}, "block", "Open serious rectification"),
        (
            {"worst_class": "substandard", "npl": True},
            "conditional",
            "A loan of the customer is non",
        ),
        ({"open_red_signals": 1}, "conditional", "Open red"),
        (
            {"worst_class": "special_mention"},
            "conditional",
            "A loan of the customer is classified sp",
        ),
        ({"open_orange_signals": 3}, "conditional", "Open orange"),
        # the first rule that applies decides: a restriction outweighs a mere orange signal
        (
            {"open_orange_signals": 1, "active_restrictions": 1},
            "block",
            "Customer under restriction",
        ),
    ],
)
def test_gate_rules(change: dict, gate: str, reason_start: str) -> None:
    result = GATE.single({**CLEAN, **change})
    assert result is not None
    assert result["gate"] == gate
    assert result["reason"].startswith(reason_start)


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    raw = webhook.body({"b": 1, "a": "x"})
    assert raw == b'{"a":"x","b":1}'
    sig = webhook.signature(raw, "s3cret")
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert webhook.verify(raw, "s3cret", sig)
    assert not webhook.verify(raw + b" ", "s3cret", sig)
    assert not webhook.verify(raw, "other", sig)
