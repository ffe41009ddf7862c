"""Migration 0008 on a database that already holds what it forbids: duplicate open inspections
are closed (the oldest stays open), ids differing only in case stop it with their list."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from config.settings import ROOT
from postloan.db import get_engine


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def _at_0007(tmp_path, name: str) -> tuple[str, Config]:
    url = f"sqlite:///{tmp_path / name}"
    config = _config(url)
    command.upgrade(config, "0007")
    with get_engine(url).begin() as db:
        db.execute(
            text(
                "INSERT INTO customer (id, name, segment, industry, branch, account_manager, "
                "credit_rating, created_at, modified_at) VALUES ('C-1', 'Co', 'sme', 'x', 'B', "
                "'am_li', 'A', '2026-01-01', '2026-01-01')"
            )
        )
        db.execute(
            text(
                "INSERT INTO loan (id, customer_id, product, amount, currency, disbursed_on, "
                "maturity_on, purpose, risk_class, risk_class_reason, delinquency_bucket, "
                "created_at, modified_at) VALUES ('L-1', 'C-1', 'P', 100, 'CNY', '2026-01-01', "
                "'2027-01-01', 'p', 'normal', 'new', 'current', '2026-01-01', '2026-01-01')"
            )
        )
        for n, (kind, status) in enumerate(
            [
                ("routine", "requested"),
                ("routine", "in_progress"),
                ("routine", "completed"),
                ("special", "requested"),
            ]
        ):
            db.execute(
                text(
                    "INSERT INTO inspection (id, loan_id, kind, reason, status, requested_by, "
                    "template, mode, rework_count, report, created_at, modified_at) VALUES "
                    "(:id, 'L-1', :kind, 'r', :status, 't', 'standard', 'on_site', 0, :report, "
                    ":at, :at)"
                ),
                {
                    "id": f"INS-{n}",
                    "kind": kind,
                    "status": status,
                    "at": f"2026-01-0{n + 1}",
                    "report": "{}" if status == "completed" else None,
                },
            )
    return url, config


def test_duplicate_open_inspections_are_closed_keeping_the_oldest(tmp_path):
    url, config = _at_0007(tmp_path, "dupes.db")
    command.upgrade(config, "0008")
    with get_engine(url).connect() as db:
        rows = dict(db.execute(text("SELECT id, status FROM inspection")).all())
        reason = db.scalar(text("SELECT cancel_reason FROM inspection WHERE id = 'INS-1'"))
    assert rows == {
        "INS-0": "requested",
        "INS-1": "cancelled",
        "INS-2": "completed",
        "INS-3": "requested",
    }
    assert "migration 0008" in reason
    command.downgrade(config, "0007")
    command.upgrade(config, "0008")


def test_ids_differing_only_in_case_stop_the_migration(tmp_path):
    url, config = _at_0007(tmp_path, "case.db")
    with get_engine(url).begin() as db:
        db.execute(
            text(
                "INSERT INTO customer (id, name, segment, industry, branch, account_manager, "
                "credit_rating, created_at, modified_at) VALUES ('c-1', 'Twin', 'sme', 'x', 'B', "
                "'am_li', 'A', '2026-01-01', '2026-01-01')"
            )
        )
    with pytest.raises(RuntimeError, match="customer: C-1 / c-1"):
        command.upgrade(config, "0008")
