"""A worker process for the shutdown tests: ``python probe_worker.py SLEEP_SECONDS``.

Its one handler sleeps, then completes; it stops gracefully on SIGTERM like ``python -m workers``.
"""

from __future__ import annotations

import sys
import time

from config.logging import setup_logging
from config.settings import get_settings
from workers.runtime import TaskClient, TopicRouter, TopicSettings, Worker, merge_routers
from workers.runtime.settings import TopicSettingsMap

router = TopicRouter()
SLEEP = float(sys.argv[1])


@router.topic("probe.work")
def work() -> dict:
    print("handler started", flush=True)
    time.sleep(SLEEP)
    return {"finished_by": "probe"}


if __name__ == "__main__":
    setup_logging()
    settings = get_settings()
    client = TaskClient(
        settings.engine_url,
        "probe-worker",
        settings.engine_worker_user,
        settings.engine_worker_password.get_secret_value(),
    )
    worker = Worker(
        client,
        merge_routers([router]),
        TopicSettingsMap(TopicSettings(lock_ms=60_000), {}),
        max_in_flight=2,
        long_poll_ms=int(sys.argv[2]),
        shutdown_grace_seconds=settings.worker_shutdown_grace_seconds,
    )
    worker.install_signal_handlers()
    worker.run()
