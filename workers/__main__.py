"""``python -m workers``: run the external-task workers of every business area."""

from __future__ import annotations

import argparse
import logging
import os
import socket
from typing import Any

from config.logging import setup_logging
from config.settings import Settings, get_settings
from gateway.engine import EngineGateway
from gateway.ports import AuditedNotices, EngineAdapter, HttpWebhookSender
from postloan.application import inspections as inspection_cases
from postloan.application.ports import database_unit
from postloan.application.relay import OutboxRelay
from postloan.application.services import Services
from postloan.outbox.service import RetryPolicy
from workers.registry import all_handlers
from workers.runtime import TaskClient, Worker, load_topic_settings

log = logging.getLogger("workers")


def build_relay(settings: Settings, engine: EngineAdapter) -> OutboxRelay:
    """The outbox relay of this process, with the derived-trigger pass."""
    uow = database_unit(settings.database_url)
    relay = OutboxRelay(
        uow,
        engine,
        webhooks=HttpWebhookSender(
            lambda: get_settings().origination_webhook_secret.get_secret_value(),
            lambda: get_settings().origination_webhook_timeout_seconds,
        ),
        notices=AuditedNotices(uow),
        policy=RetryPolicy(
            settings.outbox_max_attempts,
            settings.outbox_backoff_seconds,
            settings.outbox_backoff_max_seconds,
        ),
        lease_seconds=settings.outbox_lease_seconds,
        poll_seconds=settings.outbox_poll_seconds,
        periodic_seconds=settings.outbox_derived_pass_seconds,
    )
    services = Services(uow=uow, engine=engine, dispatch=relay)
    relay.periodic.append(lambda: inspection_cases.start_missing_overdue_inspections(services))
    return relay


class WorkersProcess:
    """The external-task worker and, beside it on a thread, the outbox relay: started and
    stopped together. Anything else is the worker's."""

    def __init__(self, worker: Worker, relay: OutboxRelay) -> None:
        self.worker = worker
        self.relay = relay

    def run(self) -> None:
        self.relay.start()
        try:
            self.worker.run()
        finally:
            self.relay.stop()

    def stop(self) -> None:
        self.worker.stop()
        self.relay.stop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.worker, name)


def build_worker(topics: list[str] | None = None) -> WorkersProcess:
    settings = get_settings()
    # The one engine client of the workers process, handed to the handlers and the relay.
    engine = EngineAdapter(
        EngineGateway(
            settings.engine_url,
            settings.engine_worker_user,
            settings.engine_worker_password.get_secret_value(),
            settings.engine_timeout_seconds,
        )
    )
    relay = build_relay(settings, engine)
    handlers = all_handlers(Services(uow=relay.uow, engine=engine, dispatch=relay))
    if topics:
        unknown = set(topics) - set(handlers)
        if unknown:
            raise SystemExit(f"no handler for topic(s): {', '.join(sorted(unknown))}")
        handlers = {t: h for t, h in handlers.items() if t in topics}
    worker_id = settings.worker_id or f"{socket.gethostname()}-{os.getpid()}"
    client = TaskClient(
        settings.engine_url,
        worker_id,
        settings.engine_worker_user,
        settings.engine_worker_password.get_secret_value(),
        settings.engine_timeout_seconds,
    )
    return WorkersProcess(
        Worker(
            client,
            handlers,
            load_topic_settings(settings.worker_topics_file),
            max_in_flight=settings.worker_max_in_flight,
            fetch_ahead=settings.worker_fetch_ahead,
            long_poll_ms=settings.worker_long_poll_ms,
            shutdown_grace_seconds=settings.worker_shutdown_grace_seconds,
        ),
        relay,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("--topic", action="append", help="only this topic (repeatable)")
    args = parser.parse_args()
    setup_logging()
    worker = build_worker(args.topic)
    worker.install_signal_handlers()
    worker.run()


if __name__ == "__main__":
    main()
