"""``config/vendors.yaml``: vendor registry, selection, authenticity thresholds, sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "vendors.yaml"
#: Tests and operators may point this at another file (or override values in memory).
OVERRIDES: dict[str, Any] = {}


def load(path: Path | None = None) -> dict[str, Any]:
    raw = yaml.safe_load((path or CONFIG_FILE).read_text(encoding="utf-8")) or {}
    for key, value in OVERRIDES.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw


def section(name: str) -> dict[str, Any]:
    return dict(load().get(name) or {})
