"""``config/assessment.yaml``: indicator labels and the parameters of their definitions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "assessment.yaml"
IDENTITIES_FILE = Path(__file__).resolve().parents[2] / "config" / "identities.yaml"

#: Every indicator key, in the order they are shown. The labels come from the configuration.
INDICATORS = (
    "inspections_on_time",
    "inspections_late",
    "inspections_missing",
    "rework_rate",
    "signals_caught_early",
    "signal_lead_time_days",
    "signals_responded_on_time",
    "rectifications_on_time",
    "technical_overdue_rate",
    "approval_quality",
    "onsite_contradicted_rate",
    "vendor_quality_score",
)


class AssessmentConfigError(ValueError):
    """``config/assessment.yaml`` is wrong; the message names the key."""


@dataclass(frozen=True)
class AssessmentConfig:
    labels: dict[str, str]
    approval_rating_values: dict[str, float]
    early_signal_lookback_days: int

    def label(self, key: str) -> str:
        return self.labels.get(key, key)


def parse(raw: object) -> AssessmentConfig:
    if not isinstance(raw, dict):
        raise AssessmentConfigError("assessment.yaml: a mapping expected")
    labels = raw.get("indicators")
    if not isinstance(labels, dict):
        raise AssessmentConfigError("indicators: a mapping of indicator key to label")
    missing = [k for k in INDICATORS if not isinstance(labels.get(k), str)]
    if missing:
        raise AssessmentConfigError(f"indicators: no label for {', '.join(missing)}")
    ratings = raw.get("approval_rating_values")
    if not isinstance(ratings, dict) or not ratings:
        raise AssessmentConfigError("approval_rating_values: a mapping of rating to 0..1")
    values: dict[str, float] = {}
    for rating, value in ratings.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise AssessmentConfigError(f"approval_rating_values.{rating}: a number 0..1")
        values[str(rating)] = float(value)
    lookback = raw.get("early_signal_lookback_days")
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise AssessmentConfigError("early_signal_lookback_days: a whole number >= 1")
    return AssessmentConfig(
        labels={k: str(labels[k]) for k in INDICATORS},
        approval_rating_values=values,
        early_signal_lookback_days=lookback,
    )


@lru_cache
def load(path: Path = CONFIG_FILE) -> AssessmentConfig:
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache
def person_names(path: Path = IDENTITIES_FILE) -> dict[str, str]:
    """Engine user id -> "First Last" of the configured people (the id is shown otherwise)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names: dict[str, str] = {}
    for user in raw.get("demo_users") or []:
        if isinstance(user, dict) and user.get("id"):
            full = f"{user.get('first', '')} {user.get('last', '')}".strip()
            names[str(user["id"])] = full or str(user["id"])
    return names
