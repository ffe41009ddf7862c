"""The one retry policy for the engine's optimistic-locking error (ENGINE-03005).

The engine rolls a call back whole when another transaction changed the same process instance
at the same moment; sent again it usually goes through. Both engine clients use this policy:
the REST gateway (:meth:`gateway.engine.EngineGateway.call`) and the workers' external-task
client (outcomes: complete, failure, BPMN error; ``workers/runtime/client.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

OPTIMISTIC_LOCKING = "ENGINE-03005"


@dataclass(frozen=True)
class OptimisticLockingRetry:
    """Up to ``attempts`` sends of a call whose failure names ``code``, pausing
    ``pause_seconds`` × the attempt number between them."""

    attempts: int = 3
    pause_seconds: float = 0.2
    code: str = OPTIMISTIC_LOCKING

    def lost_race(self, message: str | None) -> bool:
        """Whether an engine message reports a lost optimistic-locking race."""
        return bool(message) and self.code in str(message)

    def run(self, call: Callable[[], T], retryable: Callable[[Exception], bool], what: str) -> T:
        """``call()``; sent again while it raises an exception ``retryable`` accepts (a lost
        race), at most ``attempts`` times in all; any other exception, or the last, is raised."""
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except Exception as exc:
                if attempt == self.attempts or not retryable(exc):
                    raise
                log.info("%s lost a concurrent update (%s); sending it again", what, self.code)
                time.sleep(self.pause_seconds * attempt)
        raise AssertionError("unreachable")


#: The policy both engine clients use.
ENGINE_RETRY = OptimisticLockingRetry()
