"""``postloanctl compensation import FILE.csv``, ``release --as-of DATE`` and ``export``,
run through the real entry point against a fresh SQLite copy."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.settings import get_settings
from postloan.compensation.models import CompensationEntry, PayBase
from postloan.db import unit_of_work
from postloanctl.__main__ import main

from .conftest import PERSON


@pytest.fixture
def ctl(db, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("POSTLOAN_DATABASE_URL", db)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def pay_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "pay.csv"
    path.write_text("\n".join(["person,period,performance_pay,currency", *rows]) + "\n")
    return path


def count(url: str, model: type) -> int:
    with unit_of_work(url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_release_and_export(ctl, tmp_path, capsys):
    path = pay_file(tmp_path, f"{PERSON},2025,100000.00,CNY", "am_zhang,2025,3000,CNY")
    assert main(["compensation", "import", str(path)]) == 0
    assert "2 imported, 0 unchanged" in capsys.readouterr().out
    assert main(["compensation", "import", str(path)]) == 0  # the same file again: a no-op
    assert "0 imported, 2 unchanged" in capsys.readouterr().out
    assert count(ctl, CompensationEntry) == 8

    assert main(["compensation", "release", "--as-of", "2026-12-31"]) == 0
    # 13,333.33 (am_li) + 400.00 (am_zhang: 1,200.00 deferred in three)
    assert "2 tranche(s) released, 13733.33 in total" in capsys.readouterr().out
    assert main(["compensation", "release", "--as-of", "2026-12-31"]) == 0
    assert "0 tranche(s) released" in capsys.readouterr().out

    assert main(["compensation", "export", "--period", "2025", "--person", PERSON]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["kind"], r["tranche"], r["amount"], r["payable"]) for r in rows] == [
        ("paid_now", "", "60000.00", "60000.00"),
        ("deferred", "1", "13333.33", "0.00"),
        ("deferred", "2", "13333.33", "0.00"),
        ("deferred", "3", "13333.34", "0.00"),
        ("release", "1", "13333.33", "13333.33"),
    ]
    assert main(["compensation", "export", "--kind", "release"]) == 0
    released = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert sum(Decimal(r["payable"]) for r in released) == Decimal("13733.33")


def test_a_bad_file_writes_nothing_and_says_why(ctl, tmp_path, capsys):
    bad = pay_file(tmp_path, f"{PERSON},2025,100000.00,CNY", "am_zhang,2025-Q1,3000,CNY")
    assert main(["compensation", "import", str(bad)]) == 2
    assert "items.1.period" in capsys.readouterr().err
    assert count(ctl, PayBase) == 0

    nan = pay_file(tmp_path, f"{PERSON},2025,lots,CNY")
    assert main(["compensation", "import", str(nan)]) == 2
    assert "line 2: performance_pay 'lots' is not a number" in capsys.readouterr().err

    headless = tmp_path / "headless.csv"
    headless.write_text(f"{PERSON},2025,100000.00,CNY\n")
    assert main(["compensation", "import", str(headless)]) == 2
    assert "header lacks" in capsys.readouterr().err

    assert main(["compensation", "export", "--period", "2025-07"]) == 2
    assert "2025-07" in capsys.readouterr().err


def test_another_figure_is_refused(ctl, tmp_path, capsys):
    assert main(["compensation", "import", str(pay_file(tmp_path, "am_li,2025,10,CNY"))]) == 0
    again = pay_file(tmp_path, "am_li,2025,11,CNY")
    assert main(["compensation", "import", str(again)]) == 2
    err = capsys.readouterr().err
    assert "items.0.performance_pay" in err and "refused" in err
