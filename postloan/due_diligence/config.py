"""``config/due_diligence.yaml``: loan types of the exemption rules, the branches' NPL tolerance
of new loans, the codes that flag fraud or collusion, the appeal window and the tasks' words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "due_diligence.yaml"

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """An ISO-8601 duration of days, hours, minutes and seconds (``P15D``, ``PT30S``)."""
    match = _DURATION.match(text or "")
    if not match or not any(match.groups()) or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO-8601 duration like P15D or PT1H")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


@dataclass(frozen=True)
class Tolerance:
    tolerated_below: float
    general_below: float

    def band(self, ratio_pct: float) -> str:
        """``tolerated``, ``general`` or ``strict`` for an NPL ratio of new loans (percent)."""
        if ratio_pct < self.tolerated_below:
            return "tolerated"
        if ratio_pct < self.general_below:
            return "general"
        return "strict"


@dataclass(frozen=True)
class DueDiligenceRules:
    by_product: dict[str, str]
    by_segment: dict[str, str]
    default_loan_type: str
    new_loan_months: int
    default_tolerance: Tolerance
    branch_tolerance: dict[str, Tolerance]
    fraud_codes: frozenset[str]
    collusion_codes: frozenset[str]
    appeal_window: str
    task_priority: int
    task_due_days: dict[str, int]

    def loan_type(self, product: str, segment: str) -> str:
        return (
            self.by_product.get(product) or self.by_segment.get(segment) or (self.default_loan_type)
        )

    def tolerance(self, branch: str) -> Tolerance:
        return self.branch_tolerance.get(branch, self.default_tolerance)

    @property
    def appeal_delta(self) -> timedelta:
        return parse_duration(self.appeal_window)


def _tolerance(raw: Any, where: str, problems: list[str]) -> Tolerance | None:
    if not isinstance(raw, dict):
        problems.append(f"{where} must map tolerated_below and general_below")
        return None
    try:
        low, high = float(raw["tolerated_below"]), float(raw["general_below"])
    except (KeyError, TypeError, ValueError):
        problems.append(f"{where}: tolerated_below and general_below must be numbers")
        return None
    if not 0 <= low <= high <= 100:
        problems.append(f"{where}: need 0 <= tolerated_below <= general_below <= 100")
        return None
    return Tolerance(low, high)


def load(path: Path | None = None) -> DueDiligenceRules:
    """Read (and check) the rules; a broken file names its problems."""
    path = path or CONFIG_FILE
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    types = raw.get("loan_types") or {}
    npl = raw.get("npl_tolerance") or {}
    default = _tolerance(npl.get("default"), "npl_tolerance.default", problems)
    branches = {}
    for branch, spec in (npl.get("branches") or {}).items():
        tolerance = _tolerance(spec, f"npl_tolerance.branches.{branch}", problems)
        if tolerance is not None:
            branches[str(branch)] = tolerance
    months = npl.get("new_loan_months")
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        problems.append("npl_tolerance.new_loan_months must be a whole number >= 1")
    window = str(raw.get("appeal_window") or "")
    try:
        parse_duration(window)
    except ValueError as exc:
        problems.append(f"appeal_window: {exc}")
    priority = raw.get("task_priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 100:
        problems.append("task_priority must be a whole number 0-100")
    due_days = raw.get("task_due_days") or {}
    if not all(isinstance(v, int) and v >= 0 for v in due_days.values()):
        problems.append("task_due_days must map task keys to whole numbers >= 0")
    if problems or default is None:
        raise ValueError(f"{path.name}: {'; '.join(problems)}")
    return DueDiligenceRules(
        by_product={str(k): str(v) for k, v in (types.get("by_product") or {}).items()},
        by_segment={str(k): str(v) for k, v in (types.get("by_segment") or {}).items()},
        default_loan_type=str(types.get("default") or "other"),
        new_loan_months=int(months or 0),
        default_tolerance=default,
        branch_tolerance=branches,
        fraud_codes=frozenset(str(c) for c in raw.get("fraud_codes") or []),
        collusion_codes=frozenset(str(c) for c in raw.get("collusion_codes") or []),
        appeal_window=window,
        task_priority=int(priority or 0),
        task_due_days={str(k): int(v) for k, v in due_days.items()},
    )
