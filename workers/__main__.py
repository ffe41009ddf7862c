"""``python -m workers``: run the external-task workers of every business area."""

from __future__ import annotations

import argparse
import logging
import os
import socket

from config.logging import setup_logging
from config.settings import get_settings
from workers.registry import all_handlers
from workers.runtime import TaskClient, Worker, load_topic_settings

log = logging.getLogger("workers")


def build_worker(topics: list[str] | None = None) -> Worker:
    settings = get_settings()
    handlers = all_handlers()
    if topics:
        unknown = set(topics) - set(handlers)
        if unknown:
            raise SystemExit(f"no handler for topic(s): {', '.join(sorted(unknown))}")
        handlers = {t: h for t, h in handlers.items() if t in topics}
    worker_id = settings.worker_id or f"{socket.gethostname()}-{os.getpid()}"
    client = TaskClient(
        settings.engine_url, worker_id, settings.engine_worker_user,
        settings.engine_worker_password.get_secret_value(), settings.engine_timeout_seconds,
    )
    return Worker(
        client, handlers, load_topic_settings(settings.worker_topics_file),
        max_in_flight=settings.worker_max_in_flight,
        long_poll_ms=settings.worker_long_poll_ms,
        shutdown_grace_seconds=settings.worker_shutdown_grace_seconds,
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
