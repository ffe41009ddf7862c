"""Readable logs for every process: one line per event, time, level, logger, message."""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _QuietLibraries(logging.Filter):
    """Drops the external-task library's INFO chatter (it logs every poll on the root logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        noisy = f"{os.sep}camunda{os.sep}" in record.pathname and "site-packages" in record.pathname
        return record.levelno >= logging.WARNING or not noisy


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not to the stream it was
    when logging was set up: a process whose stderr is swapped (a test runner capturing output,
    a daemon redirecting it) never writes to a closed file."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def setup_logging(level: str | None = None) -> None:
    level = level or os.environ.get("POSTLOAN_LOG_LEVEL", "INFO")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    handler.addFilter(_QuietLibraries())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("urllib3", "httpx", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
