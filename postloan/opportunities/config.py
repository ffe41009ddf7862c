"""``config/opportunities.yaml``: the kinds of business need, their follow-up lead times and the
follow-up task's priority and due days."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "opportunities.yaml"


@dataclass(frozen=True)
class NeedKind:
    label: str
    follow_up_days: int


@dataclass(frozen=True)
class OpportunityRules:
    kinds: dict[str, NeedKind]
    task_priority: int
    task_due_days: int
    follow_up_max_days_ahead: int

    def kind(self, kind: str) -> NeedKind:
        return self.kinds[kind]

    def label(self, kind: str) -> str:
        return self.kinds[kind].label if kind in self.kinds else kind


def load(path: Path | None = None) -> OpportunityRules:
    """Read (and check) the rules; a broken file names its problems."""
    path = path or CONFIG_FILE
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    kinds = {}
    problems = []
    for name, spec in (raw.get("kinds") or {}).items():
        spec = spec or {}
        days = spec.get("follow_up_days")
        if not isinstance(days, int) or isinstance(days, bool) or days < 0:
            problems.append(f"kinds.{name}.follow_up_days must be a whole number >= 0")
            continue
        kinds[str(name)] = NeedKind(label=str(spec.get("label") or name), follow_up_days=days)
    if not kinds and not problems:
        problems.append("kinds lists no kind of business need")
    numbers = {}
    for key in ("task_priority", "task_due_days", "follow_up_max_days_ahead"):
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"{key} must be a whole number >= 0")
        else:
            numbers[key] = value
    if problems:
        raise ValueError(f"{path.name}: {'; '.join(problems)}")
    return OpportunityRules(kinds=kinds, **numbers)
