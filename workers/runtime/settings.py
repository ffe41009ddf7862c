"""Per-topic settings (lock duration, retries, backoff) read from ``config/topics.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml


@dataclass(frozen=True)
class TopicSettings:
    lock_ms: int = 60_000
    retries: int = 3
    backoff_ms: int = 2_000
    max_backoff_ms: int = 300_000

    def backoff_for(self, failed_attempts: int) -> int:
        """Delay before the next attempt after ``failed_attempts`` failures (1, 2, ...)."""
        return min(self.backoff_ms * 2 ** max(failed_attempts - 1, 0), self.max_backoff_ms)


class TopicSettingsMap(dict[str, TopicSettings]):
    def __init__(self, default: TopicSettings, topics: dict[str, TopicSettings]) -> None:
        super().__init__(topics)
        self.default = default

    def __missing__(self, topic: str) -> TopicSettings:
        return self.default


def load_topic_settings(path: Path | None) -> TopicSettingsMap:
    if path is None or not path.exists():
        return TopicSettingsMap(TopicSettings(), {})
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    default = replace(TopicSettings(), **(raw.get("default") or {}))
    topics = {
        name: replace(default, **(values or {}))
        for name, values in (raw.get("topics") or {}).items()
    }
    return TopicSettingsMap(default, topics)
