"""Idempotency of external tasks: the outcome of each handled task, by external task id.

A task can be delivered twice (its lock expired while the first run was finishing). The worker
looks here first and, when the task was already handled, reports the stored result again instead
of repeating the side effects. The row is written in the same transaction as the handler's changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from postloan.db import Base, utcnow


class ProcessedTask(Base):
    __tablename__ = "processed_task"

    external_task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def previous_output(session: Session, external_task_id: str) -> dict[str, Any] | None:
    row = session.get(ProcessedTask, external_task_id)
    return None if row is None else dict(row.output)


def remember(
    session: Session,
    external_task_id: str,
    topic: str,
    business_key: str | None,
    output: dict[str, Any],
) -> None:
    session.add(
        ProcessedTask(
            external_task_id=external_task_id, topic=topic, business_key=business_key, output=output
        )
    )
