"""Writing, claiming and settling outbox messages. No delivery here (that is the relay's job).

Write a message with :func:`enqueue` in the session of the business change: both commit or
neither does. A relay claims due rows with :func:`claim` (a lease guarded by the row's version,
so two relays never hold one row at once), delivers, then settles with :func:`mark_delivered`
or :func:`mark_failed` (backoff; dead after the policy's attempts, with an audit event).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from postloan import audit
from postloan.db import utcnow
from postloan.errors import InvalidInput, NotFound
from postloan.outbox.models import OutboxKind, OutboxMessage, OutboxStatus

AUDIT_OBJECT = "outbox_message"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base_seconds * 2**(attempts-1)``, at most ``max_seconds``; a
    message whose ``max_attempts``-th delivery fails is dead (an operator replays it)."""

    max_attempts: int = 8
    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(
            seconds=min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        )


def enqueue(
    session: Session, kind: OutboxKind | str, business_key: str, payload: dict[str, Any]
) -> OutboxMessage:
    """Add a pending message to the caller's transaction (flushed, so it has its id)."""
    message = OutboxMessage(
        kind=str(kind),
        business_key=business_key,
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        version=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    # the ids this transaction owes, for delivery right after its commit (see application)
    session.info.setdefault("outbox_ids", []).append(message.id)
    return message


def enqueue_process_start(
    session: Session,
    *,
    process_key: str,
    business_key: str,
    variables: dict[str, Any],
    attach_to: str | None = None,
) -> OutboxMessage:
    """A process start owed for ``business_key``; ``attach_to`` names the business object type
    (inspection, rectification, credit_application, visit_batch) whose ``process_instance_id``
    the relay fills in once started."""
    return enqueue(
        session,
        OutboxKind.PROCESS_START,
        business_key,
        {"process_key": process_key, "variables": variables, "attach_to": attach_to},
    )


def enqueue_message(
    session: Session,
    *,
    message_name: str,
    business_key: str,
    variables: dict[str, Any] | None = None,
    only_if_waiting: bool = False,
) -> OutboxMessage:
    """A message correlated to the instance of ``business_key``. ``only_if_waiting``: a message
    nobody waits for is a normal outcome (recorded as delivered with that note), not a failure
    to retry — e.g. an accepted vendor visit of an inspection that no longer waits for it."""
    payload: dict[str, Any] = {"message_name": message_name, "variables": variables or {}}
    if only_if_waiting:
        payload["only_if_waiting"] = True
    return enqueue(session, OutboxKind.MESSAGE, business_key, payload)


def enqueue_webhook(
    session: Session,
    *,
    business_key: str,
    url: str,
    body: dict[str, Any],
    delivery_key: str | None = None,
) -> OutboxMessage:
    """A signed POST of ``body`` to ``url``; ``delivery_key`` names its ``WebhookDelivery``."""
    return enqueue(
        session,
        OutboxKind.WEBHOOK,
        business_key,
        {"url": url, "body": body, "delivery_key": delivery_key},
    )


def enqueue_customer_notice(
    session: Session, *, business_key: str, customer_id: str, text: str
) -> OutboxMessage:
    return enqueue(
        session,
        OutboxKind.CUSTOMER_NOTICE,
        business_key,
        {"customer_id": customer_id, "text": text},
    )


def claim(
    session: Session,
    owner: str,
    *,
    lease_seconds: float = 30.0,
    limit: int = 20,
    ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[OutboxMessage]:
    """Lease up to ``limit`` due pending messages (or the given ``ids``, when due) to ``owner``.

    Each row is taken by an UPDATE that names the version read, so of two relays racing for a
    row exactly one wins; the loser's UPDATE matches nothing. The caller commits the claim
    before delivering. On PostgreSQL rows locked by another claim are skipped outright.
    """
    now = now or utcnow()
    query = (
        select(OutboxMessage.id, OutboxMessage.version)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed: list[int] = []
    for message_id, version in session.execute(query).all():
        won = cast(
            CursorResult[Any],
            session.execute(  # an UPDATE: its result has a rowcount
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.version == version,
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .values(
                    version=version + 1,
                    lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_seconds),
                )
                .execution_options(synchronize_session=False)
            ),
        )
        if won.rowcount == 1:
            claimed.append(message_id)
    if not claimed:
        return []
    session.expire_all()
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
        )
    )


def _leased_to_another(owner: str, now: datetime) -> Any:
    """A live lease held by a relay other than ``owner``."""
    return and_(
        OutboxMessage.lease_owner.is_not(None),
        OutboxMessage.lease_owner != owner,
        OutboxMessage.lease_until >= now,
    )


def leased_elsewhere(
    session: Session, ids: Iterable[int], owner: str, now: datetime | None = None
) -> list[int]:
    """Of ``ids``, the pending messages another relay holds a live lease on (being delivered
    there right now)."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(list(ids)),
                OutboxMessage.status == OutboxStatus.PENDING,
                _leased_to_another(owner, now),
            )
        )
    )


def unsettled(
    session: Session, ids: Iterable[int], owner: str, now: datetime | None = None
) -> list[int]:
    """Of ``ids``, the pending messages still on their way: leased to another relay (being
    delivered there), or due and leased to nobody. A claim that found the latter could not take
    it: on PostgreSQL another relay's claim held the row (``SKIP LOCKED``) and has not committed
    its lease yet, so the next look sees it leased, or free again. A message waiting for its
    retry after a failed attempt is settled: the relay retries it later."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(list(ids)),
                OutboxMessage.status == OutboxStatus.PENDING,
                or_(
                    _leased_to_another(owner, now),
                    and_(
                        OutboxMessage.lease_owner.is_(None),
                        OutboxMessage.next_attempt_at <= now,
                    ),
                ),
            )
        )
    )


def _held(session: Session, message_id: int, owner: str) -> OutboxMessage | None:
    """The message if ``owner`` still holds its lease (a relay that outlived its lease lost it)."""
    session.expire_all()
    message = session.get(OutboxMessage, message_id)
    if message is None or message.status != OutboxStatus.PENDING or (message.lease_owner != owner):
        return None
    return message


def mark_delivered(
    session: Session, message_id: int, owner: str, result: str | None = None
) -> OutboxMessage | None:
    message = _held(session, message_id, owner)
    if message is None:
        return None
    message.status = OutboxStatus.DELIVERED
    message.attempts += 1
    message.delivered_at = utcnow()
    message.result = result
    message.last_error = None
    message.lease_owner = message.lease_until = None
    session.flush()
    return message


def mark_failed(
    session: Session, message_id: int, owner: str, error: str, policy: RetryPolicy
) -> OutboxMessage | None:
    """Count a failed attempt: due again after the backoff, or dead (audited) after the last."""
    message = _held(session, message_id, owner)
    if message is None:
        return None
    message.attempts += 1
    message.last_error = error[:2000]
    message.lease_owner = message.lease_until = None
    if message.attempts >= policy.max_attempts:
        message.status = OutboxStatus.DEAD
        audit.record(
            session,
            actor="system:outbox-relay",
            action="outbox.dead",
            object_type=AUDIT_OBJECT,
            object_id=str(message.id),
            detail={
                "kind": message.kind,
                "business_key": message.business_key,
                "attempts": message.attempts,
                "last_error": message.last_error,
            },
        )
    else:
        message.next_attempt_at = utcnow() + policy.delay(message.attempts)
    session.flush()
    return message


def replay(
    session: Session, *, actor: str, message_id: int | None = None, dead: bool = False
) -> list[OutboxMessage]:
    """Make a dead (or any undelivered) message due again with a fresh count of attempts;
    ``dead=True`` replays every dead message. Audited."""
    if (message_id is None) == (not dead):
        raise InvalidInput("give one message id or --dead", field="id")
    if message_id is not None:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise NotFound(f"outbox message {message_id} does not exist")
        if message.status == OutboxStatus.DELIVERED:
            raise InvalidInput(f"outbox message {message_id} was delivered already", field="id")
        messages = [message]
    else:
        messages = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.DEAD)
                .order_by(OutboxMessage.id)
            )
        )
    for message in messages:
        audit.record(
            session,
            actor=actor,
            action="outbox.replayed",
            object_type=AUDIT_OBJECT,
            object_id=str(message.id),
            detail={
                "kind": message.kind,
                "business_key": message.business_key,
                "attempts": message.attempts,
                "last_error": message.last_error,
            },
        )
        message.status = OutboxStatus.PENDING
        message.attempts = 0
        message.next_attempt_at = utcnow()
        message.lease_owner = message.lease_until = None
    session.flush()
    return messages


def messages(
    session: Session, status: str | None = None, limit: int = 100, business_key: str | None = None
) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    if business_key:
        query = query.where(OutboxMessage.business_key == business_key)
    return list(session.scalars(query))
