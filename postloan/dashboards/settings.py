"""The dashboards' tunables (``config/dashboards.yaml``): age buckets and the widest span drawn."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from config.settings import ROOT

CONFIG_FILE = ROOT / "config" / "dashboards.yaml"


@dataclass(frozen=True)
class AgeBucket:
    label: str
    up_to_days: int | None  # None: the last bucket, no upper bound


@dataclass(frozen=True)
class DashboardRules:
    age_buckets: tuple[AgeBucket, ...]
    max_signal_buckets: int
    default_days_back: int
    on_time_target: float


def load(path: Path = CONFIG_FILE) -> DashboardRules:
    """The rules in ``path``; a malformed file is refused with what is wrong in it."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    problems: list[str] = []
    raw = data.get("age_buckets") if isinstance(data, dict) else None
    buckets: list[AgeBucket] = []
    if not isinstance(raw, list) or not raw:
        problems.append("age_buckets: a non-empty list is expected")
        raw = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not str(entry.get("label") or "").strip():
            problems.append(f"age_buckets[{i}]: a mapping with a label is expected")
            continue
        days = entry.get("up_to_days")
        last = i == len(raw) - 1
        if last and days is not None:
            problems.append(f"age_buckets[{i}]: the last bucket has no up_to_days")
        if not last and (not isinstance(days, int) or days < 0):
            problems.append(f"age_buckets[{i}]: up_to_days must be a whole number >= 0")
            continue
        if buckets and days is not None and buckets[-1].up_to_days is not None:
            if days <= buckets[-1].up_to_days:
                problems.append(f"age_buckets[{i}]: up_to_days must grow from bucket to bucket")
        buckets.append(AgeBucket(str(entry["label"]), days))
    numbers = {}
    for name in ("max_signal_buckets", "default_days_back"):
        value = data.get(name) if isinstance(data, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"{name}: a whole number >= 1 is expected")
            value = 1
        numbers[name] = value
    target = data.get("on_time_target") if isinstance(data, dict) else None
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
        problems.append("on_time_target: a rate above 0 and at most 1 is expected (0.9 = 90%)")
        target = 1.0
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return DashboardRules(
        tuple(buckets),
        numbers["max_signal_buckets"],
        numbers["default_days_back"],
        float(target),
    )


@lru_cache
def dashboard_rules() -> DashboardRules:
    return load()
