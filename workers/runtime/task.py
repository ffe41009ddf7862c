"""The task a handler receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ExternalTask:
    id: str
    topic: str
    worker_id: str
    business_key: str | None
    process_instance_id: str
    process_definition_key: str | None
    activity_id: str
    retries: int | None
    priority: int
    variables: dict[str, Any]
    extension_properties: dict[str, str] = field(default_factory=dict)
    _extend: Callable[[int], None] | None = field(default=None, repr=False)

    def extend_lock(self, duration_ms: int) -> None:
        """Keep the task locked ``duration_ms`` from now (the runtime also does this by itself)."""
        if self._extend is not None:
            self._extend(duration_ms)
