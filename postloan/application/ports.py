"""What the use cases need from the outside world, as small interfaces ``gateway/`` implements.

Every port raises an exception with a readable message when the other side refuses or cannot be
reached; the relay records it as the attempt's ``last_error``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from postloan.decisions import DecisionTable

#: Opens one transaction: the session commits when the block ends normally, else rolls back.
UnitOfWork = Callable[[], AbstractContextManager[Session]]


class EngineFailure(Exception):
    """The engine refused a call (``status`` is its HTTP status) or could not be reached (0).

    What the engine's ports raise (``gateway.engine.EngineError`` is this), so that adapters
    can tell an engine failure from others without importing the gateway."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"engine answered {status}: {message}" if status else message)
        self.status = status
        self.message = message


class ActivityReader(Protocol):
    def active_activities(self, process_instance_id: str) -> list[str]:
        """Ids of the activities the instance waits in now (empty when it has ended)."""
        ...

    def waiting_in(self, process_instance_ids: Collection[str]) -> dict[str, list[str]]:
        """The activities each instance waits in, for many instances at once (a page of a
        list); the same answer ``active_activities`` gives for each."""
        ...

    def variables_of(
        self, process_instance_ids: Collection[str], names: Collection[str]
    ) -> dict[str, dict[str, Any]]:
        """The named process variables of each running instance (absent ones left out)."""
        ...


class UserDirectory(Protocol):
    def members_of(self, group: str, users: Collection[str]) -> set[str]:
        """Which of ``users`` are users of the engine in ``group`` (one look-up for all of
        them, cached briefly)."""
        ...


class ProcessStarter(Protocol):
    def start_process(
        self, key: str, business_key: str, variables: dict[str, Any] | None = None
    ) -> str:
        """Start the latest version of process ``key``; the process instance id."""
        ...

    def started_instance(self, key: str, business_key: str, outbox_id: int) -> str | None:
        """The instance (running or ended) this outbox message started already, if any."""
        ...


class MessageCorrelator(Protocol):
    def correlate_message(
        self, message: str, business_key: str | None = None, variables: dict[str, Any] | None = None
    ) -> None: ...

    def message_correlated(self, business_key: str, outbox_id: int) -> bool:
        """Whether this outbox message reached an instance of ``business_key`` already."""
        ...


class DecisionReader(Protocol):
    def decider(self, key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """``decide(facts) -> result`` for a deployed decision with exactly one result."""
        ...

    def table(self, key: str) -> DecisionTable:
        """The deployed decision table ``key`` (for evaluation in Python)."""
        ...


class EnginePort(ProcessStarter, MessageCorrelator, DecisionReader, Protocol):
    """All the engine the use cases need."""


class WebhookSender(Protocol):
    def send(self, url: str, body: bytes, event_id: str) -> None:
        """POST the signed ``body``; raises unless the receiver answered 2xx."""
        ...


class NoticeSender(Protocol):
    def send_notice(self, customer_id: str, text: str, notice_id: str) -> None: ...


def database_unit(url: str) -> UnitOfWork:
    """A unit of work on the project database at ``url``."""
    from postloan.db import unit_of_work

    return lambda: unit_of_work(url)


def bound_unit(bind: Any) -> UnitOfWork:
    """A unit of work on the database a session or engine is bound to (tools and tests)."""
    factory = sessionmaker(bind=bind, expire_on_commit=False)

    @contextmanager
    def unit() -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    return unit
