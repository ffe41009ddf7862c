"""Logging set up while stderr is one stream keeps working after stderr became another."""

from __future__ import annotations

import io
import logging
import sys

from config.logging import setup_logging


def test_records_go_to_the_current_stderr_even_after_the_old_one_closed(monkeypatch) -> None:
    before = io.StringIO()
    monkeypatch.setattr(sys, "stderr", before)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        before.close()  # e.g. a test runner's capture of an earlier test
        after = io.StringIO()
        monkeypatch.setattr(sys, "stderr", after)
        monkeypatch.setattr(logging, "raiseExceptions", True)
        logging.getLogger("postloan.test").info("loan %s inspected", "L-1")
        assert "INFO    postloan.test: loan L-1 inspected" in after.getvalue()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
