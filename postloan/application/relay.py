"""The outbox relay: delivers pending outbox messages at least once, idempotently.

Idempotency on the far side: a process start first asks whether an instance with the business
key and the outbox id (a process variable ``outbox_id``) exists, running or ended; a message
correlation carries ``outbox_id`` and is skipped when it reached the instance already; a webhook's
event id is the outbox id (the receiver drops a repeat). Failures are retried with exponential
backoff and end as ``dead`` after the policy's attempts (audited; ``postloanctl outbox replay``).

Each round also runs the periodic passes it is given (derived triggers such as "overdue with no
special inspection"), so a trigger whose moment was missed is made good on the next pass.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from postloan.application.ports import (
    EngineFailure,
    MessageCorrelator,
    NoticeSender,
    ProcessStarter,
    UnitOfWork,
    WebhookSender,
)
from postloan.credit import webhook as webhooks
from postloan.errors import NotFound
from postloan.outbox import service as outbox
from postloan.outbox.models import OutboxKind, OutboxMessage

log = logging.getLogger(__name__)


def _attach(session: Session, object_type: str | None, object_id: str, pid: str) -> None:
    """Record the started instance on its business object (gone objects are left alone)."""
    from postloan.credit import service as credit
    from postloan.inspections import service as inspections
    from postloan.rectifications import service as rectifications
    from postloan.vendors import service as vendors

    attach = {
        "inspection": inspections.attach_process,
        "rectification": rectifications.attach_process,
        "credit_application": credit.attach_process,
        "visit_batch": vendors.attach_process,
    }.get(object_type or "")
    if attach is None:
        return
    try:
        attach(session, object_id, pid)
        session.flush()
    except NotFound:
        log.warning("%s %s is gone; process %s started for it", object_type, object_id, pid)


class _NoNotices:
    def send_notice(self, customer_id: str, text: str, notice_id: str) -> None:
        raise RuntimeError("no customer notice channel configured")


@dataclass
class RelayCounts:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0  # claimed by another relay, or found delivered on the far side


@dataclass
class OutboxRelay:
    """Delivers the outbox of one project database. Safe to run in several processes."""

    uow: UnitOfWork
    engine: Any  # ProcessStarter & MessageCorrelator
    webhooks: WebhookSender | None = None
    notices: NoticeSender = field(default_factory=_NoNotices)
    policy: outbox.RetryPolicy = field(default_factory=outbox.RetryPolicy)
    owner: str = field(default_factory=lambda: f"relay-{uuid.uuid4().hex[:12]}")
    lease_seconds: float = 30.0
    poll_seconds: float = 0.5
    batch_size: int = 20
    settle_seconds: float = 5.0  # deliver_now's wait for a message another relay delivers
    periodic: list[Callable[[], Any]] = field(default_factory=list)
    periodic_seconds: float = 60.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    # -- delivery -----------------------------------------------------------------------------

    def deliver_due(self, ids: Iterable[int] | None = None) -> RelayCounts:
        """Claim and deliver what is due now (only ``ids`` when given)."""
        counts = RelayCounts()
        with self.uow() as session:
            claimed = [
                (m.id, m.kind, m.business_key, dict(m.payload))
                for m in outbox.claim(
                    session,
                    self.owner,
                    ids=ids,
                    lease_seconds=self.lease_seconds,
                    limit=self.batch_size,
                )
            ]
        for message_id, kind, business_key, payload in claimed:
            self._deliver(message_id, kind, business_key, payload, counts)
        return counts

    def deliver_now(self, ids: Iterable[int]) -> None:
        """Deliver these just-committed messages at once (the relay would within a second);
        never raises: what fails here stays pending for the relay's retries.

        A message the relay thread claimed first (between the caller's commit and this call)
        is being delivered there: wait up to ``settle_seconds`` for it to settle, so that the
        caller reads what the delivery left (a process instance id) as when it delivers itself.
        On PostgreSQL the relay's claim may hold the row without its lease committed yet (this
        claim skipped the locked row, and the row still reads unleased): such a message is
        claimed again on the next look, or waited for once its lease shows.
        """
        ids = list(ids)
        if not ids:
            return
        try:
            deadline = time.monotonic() + self.settle_seconds
            while True:
                self.deliver_due(ids)
                with self.uow() as session:
                    if not outbox.unsettled(session, ids, self.owner):
                        return
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            log.info("outbox messages %s still being delivered by another relay", ids)
        except Exception:  # noqa: BLE001 - the relay retries; the caller's change is saved
            log.exception("outbox messages %s left to the relay", ids)

    def _deliver(
        self,
        message_id: int,
        kind: str,
        business_key: str,
        payload: dict[str, Any],
        counts: RelayCounts,
    ) -> None:
        try:
            result = self._send(message_id, kind, business_key, payload)
        except Exception as exc:  # noqa: BLE001 - every failure is an attempt on record
            error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            with self.uow() as session:
                message = outbox.mark_failed(session, message_id, self.owner, error, self.policy)
                if message is not None:
                    self._after(session, message, error=error)
            if message is not None and message.status == "dead":
                counts.dead += 1
                log.error(
                    "outbox %d (%s %s) dead after %d attempts: %s",
                    message_id,
                    kind,
                    business_key,
                    message.attempts,
                    error,
                )
            else:
                counts.failed += 1
                log.warning(
                    "outbox %d (%s %s) failed, retried later: %s",
                    message_id,
                    kind,
                    business_key,
                    error,
                )
            return
        with self.uow() as session:
            message = outbox.mark_delivered(session, message_id, self.owner, result)
            if message is None:
                counts.skipped += 1  # the lease ran out and another relay took it
                return
            self._after(session, message, result=result)
        counts.delivered += 1
        log.info(
            "outbox %d (%s %s) delivered%s",
            message_id,
            kind,
            business_key,
            f": {result}" if result else "",
        )

    def _send(
        self, message_id: int, kind: str, business_key: str, payload: dict[str, Any]
    ) -> str | None:
        if kind == OutboxKind.PROCESS_START:
            starter: ProcessStarter = self.engine
            key = payload["process_key"]
            found = starter.started_instance(key, business_key, message_id)
            if found:
                return found
            return starter.start_process(
                key, business_key, {**payload.get("variables", {}), "outbox_id": str(message_id)}
            )
        if kind == OutboxKind.MESSAGE:
            correlator: MessageCorrelator = self.engine
            if correlator.message_correlated(business_key, message_id):
                return None
            try:
                correlator.correlate_message(
                    payload["message_name"],
                    business_key,
                    {
                        **payload.get("variables", {}),
                        "outbox_id": str(message_id),
                        f"outbox_{message_id}": True,
                    },
                )
            except EngineFailure as exc:
                if payload.get("only_if_waiting") and _nobody_waiting(exc):
                    log.info(
                        "outbox %d: nobody waits for %s of %s (%s); recorded as delivered",
                        message_id,
                        payload["message_name"],
                        business_key,
                        exc.message,
                    )
                    return "nobody waiting"
                raise
            return None
        if kind == OutboxKind.WEBHOOK:
            if self.webhooks is None:
                raise RuntimeError("no webhook sender configured")
            self.webhooks.send(payload["url"], webhooks.body(payload["body"]), str(message_id))
            return None
        if kind == OutboxKind.CUSTOMER_NOTICE:
            self.notices.send_notice(payload["customer_id"], payload["text"], str(message_id))
            return None
        raise ValueError(f"unknown outbox kind {kind!r}")

    @staticmethod
    def _after(
        session: Session,
        message: OutboxMessage,
        *,
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        """Business bookkeeping of a settled message, in the settling transaction."""
        payload = message.payload or {}
        if message.kind == OutboxKind.PROCESS_START and result:
            _attach(session, payload.get("attach_to"), message.business_key, result)
        if message.kind == OutboxKind.WEBHOOK and payload.get("delivery_key"):
            webhooks.record_attempt(session, payload["delivery_key"], error)

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> None:
        """Deliver until :meth:`stop`; the periodic passes every ``periodic_seconds``."""

        next_pass = 0.0
        while not self._stop.is_set():
            try:
                if self.periodic and time.monotonic() >= next_pass:
                    next_pass = time.monotonic() + self.periodic_seconds
                    for run_pass in self.periodic:
                        run_pass()
                busy = True
                while busy and not self._stop.is_set():
                    counts = self.deliver_due()
                    busy = (
                        counts.delivered + counts.failed + counts.dead + counts.skipped
                    ) >= self.batch_size
            except Exception:  # noqa: BLE001 - a database hiccup must not end the relay
                log.exception("outbox relay round failed; next round in %.1fs", self.poll_seconds)
            self._stop.wait(self.poll_seconds)

    def start(self) -> threading.Thread:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="outbox-relay", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def _nobody_waiting(exc: EngineFailure) -> bool:
    """The engine's answer when no instance of the business key waits for the message."""
    return exc.status == 400 and "matches the parameters" in exc.message
