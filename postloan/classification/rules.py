"""Pure classification logic shared by the service and the nightly scan (no database, no engine).

The class floors themselves live in the DMN table ``risk_classification``; this module only
prepares its inputs (days past due, the debtor's NPL share, the restructuring observation) and
orders its outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from postloan.decisions import DecisionTable, load_tables
from postloan.loans.arrears import Instalment

#: The five categories from best to worst; the last three are non-performing (NPL).
CLASSES = ("normal", "special_mention", "substandard", "doubtful", "loss")
NPL_CLASSES = frozenset(CLASSES[2:])
DECISION_KEY = "risk_classification"
_HERE = Path(__file__).resolve().parent
_BUNDLED_DMN = _HERE.parents[1] / "bpmn" / "risk_classification.dmn"


class SingleResultTable(Protocol):
    """What classification needs of a decision table (a ``DecisionTable``, or one memoised)."""

    @property
    def key(self) -> str: ...

    def single(self, variables: dict[str, Any]) -> dict[str, Any] | None: ...


def rank(risk_class: str) -> int:
    """Position in normal < special_mention < substandard < doubtful < loss."""
    try:
        return CLASSES.index(risk_class)
    except ValueError:
        raise ValueError(f"unknown risk class {risk_class!r}") from None


def is_npl(risk_class: str) -> bool:
    return risk_class in NPL_CLASSES


@lru_cache(maxsize=1)
def observation_rules() -> dict[str, int]:
    data = yaml.safe_load((_HERE / "restructuring.yaml").read_text(encoding="utf-8"))
    return {
        "min_days": int(data["observation_min_days"]),
        "min_paid_periods": int(data["observation_min_paid_periods"]),
    }


@lru_cache(maxsize=1)
def bundled_table() -> DecisionTable:
    """The table as shipped in ``bpmn/`` (what gets deployed); the engine's copy is preferred."""
    return load_tables(_BUNDLED_DMN.read_bytes())[DECISION_KEY]


def in_observation(
    restructured_on: date | None, schedule: Iterable[Instalment], as_of: date
) -> bool:
    """Whether a restructured loan is still in its observation period on ``as_of``.

    It is, until both the minimum time has passed since the restructuring and at least the
    minimum number of instalments fell due since then, every one of them paid in full by its
    due date (consecutive periods repaid normally).
    """
    if restructured_on is None:
        return False
    rules = observation_rules()
    if as_of < restructured_on + timedelta(days=rules["min_days"]):
        return True
    run = 0
    for item in sorted(
        (i for i in schedule if restructured_on < i.due_on <= as_of), key=lambda i: i.due_on
    ):
        paid_in_time = (
            item.paid_on is not None
            and item.paid_on <= item.due_on
            and item.paid_amount >= item.due_amount
        )
        run = run + 1 if paid_in_time else 0
    return run < rules["min_paid_periods"]


@dataclass(frozen=True)
class LoanFacts:
    """What the table needs to know about one loan of a debtor."""

    loan_id: str
    balance: Decimal
    days_past_due: int
    in_restructuring_observation: bool
    current_class: str


def decision_inputs(facts: LoanFacts, debtor_npl_share: float) -> dict[str, Any]:
    return {
        "days_past_due": facts.days_past_due,
        "debtor_npl_share": debtor_npl_share,
        "in_restructuring_observation": facts.in_restructuring_observation,
        "current_class": facts.current_class,
    }


def npl_share(
    table: SingleResultTable, loans: Sequence[LoanFacts], overrides: dict[str, str] | None = None
) -> float:
    """Share (0..1, by balance) of a debtor's claims that are non-performing on their own merits.

    A loan counts when the table classifies it non-performing without contagion (its arrears or
    its restructuring) — so a loan made non-performing only by contagion does not keep its
    siblings (or itself) non-performing after the real cause is cured. ``overrides`` gives
    classes decided by people (a confirmed downgrade) that count as they are.
    """
    overrides = overrides or {}
    total = sum((f.balance for f in loans), Decimal(0))
    if total <= 0:
        return 0.0
    npl = Decimal(0)
    for f in loans:
        own = table.single(decision_inputs(f, 0.0))
        own_class = own["risk_class"] if own else f.current_class
        if f.loan_id in overrides and rank(overrides[f.loan_id]) > rank(own_class):
            own_class = overrides[f.loan_id]
        if is_npl(own_class):
            npl += f.balance
    return float(npl / total)


def with_facts(result: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """The table's result with the measured figure added to a contagion reason."""
    out = dict(result)
    if out.get("rule") == "debtor_contagion":
        share = inputs.get("debtor_npl_share") or 0.0
        out["reason"] = f"{out['reason']} [now {share:.0%} of the debtor's balance]"
    return out


def classify_debtor(
    table: SingleResultTable, loans: Sequence[LoanFacts], overrides: dict[str, str] | None = None
) -> list[tuple[LoanFacts, dict[str, Any], dict[str, Any]]]:
    """Every loan of one debtor with the table's result and the inputs it was evaluated on."""
    share = npl_share(table, loans, overrides)
    out = []
    for f in loans:
        inputs = decision_inputs(f, share)
        result = table.single(inputs)
        if result is None:
            raise ValueError(f"decision {table.key}: no rule matches {inputs}")
        out.append((f, with_facts(result, inputs), inputs))
    return out
