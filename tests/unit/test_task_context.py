"""config/tasks.yaml as postloan/application/task_context.py reads it (no engine)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from postloan.application import task_context
from postloan.application.task_context import CONFIG_FILE, end_of_day, rules


def test_the_shipped_configuration_names_every_kind_and_task() -> None:
    config = rules()
    assert [config.kind(k).label for k in ("special", "first", "routine")] == [
        "Special inspection",
        "First inspection",
        "Routine inspection",
    ]
    assert config.kind("special").noun == "special inspection"
    # a kind the configuration does not know yet still gets words and a priority
    assert config.kind("catch_up") == config.other_inspection_kind
    assert config.due_after_creation("review_inspection") == (
        f"P{config.due_days_after_creation['review_inspection']}D"
    )


def test_a_configuration_lacking_a_task_or_severity_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    del raw["due_days_after_creation"]["verify_rectification"]
    del raw["rectification_severities"]["critical"]
    raw["due_days_after_creation"]["review_inspection"] = -1
    broken = tmp_path / "tasks.yaml"
    broken.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ValueError) as refused:
        task_context.rules.__wrapped__(broken)
    message = str(refused.value)
    assert "verify_rectification" in message and "critical" in message
    assert "review_inspection is negative" in message


def test_a_task_due_on_a_day_is_overdue_once_that_day_is_over() -> None:
    assert end_of_day(date(2026, 12, 2)) == datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC)
