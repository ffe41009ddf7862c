"""What every use case is handed: its unit of work, the engine's ports, the outbox dispatcher."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from postloan.application.ports import UnitOfWork


class Dispatcher(Protocol):
    def deliver_now(self, ids: Iterable[int]) -> None:
        """Deliver just-committed outbox messages at once; never raises (the relay retries)."""
        ...


@dataclass(frozen=True)
class Services:
    """Built once per process by its entry point (api, workers, postloanctl) and handed down.

    ``engine`` implements :class:`postloan.application.ports.EnginePort`; ``dispatch``, when
    set, delivers a transaction's outbox messages right after its commit (else the relay does,
    within its poll interval).
    """

    uow: UnitOfWork
    engine: Any
    dispatch: Dispatcher | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work; its outbox messages are handed to the dispatcher once committed."""
        with self.uow() as session:
            yield session
            owed = list(session.info.pop("outbox_ids", []))
        self.deliver(owed)

    def deliver(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if ids and self.dispatch is not None:
            self.dispatch.deliver_now(ids)


def owed(session: Session) -> list[int]:
    """The outbox ids written in ``session`` since the last call (for a caller-owned commit)."""
    return list(session.info.pop("outbox_ids", []))
