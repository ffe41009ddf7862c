"""``GET /loans/{id}`` counts the loan's technical overdues: instalments paid in full 1 to N
days late (N: ``config/reminders.yaml``), due within the configured window."""

from __future__ import annotations

from datetime import timedelta

from sqlite_template import sqlite_template  # noqa: F401 - the fixture
from test_repayments import TODAY, client, db, instalment  # noqa: F401 - the fixtures

from postloan.loans import technical_overdue


def paid_late(days_ago: int, late: int) -> dict[str, str]:
    paid_on = TODAY - timedelta(days=days_ago) + timedelta(days=late)
    return instalment(days_ago, paid_on=paid_on.isoformat(), paid_amount="1000")


def test_the_loan_shows_its_technical_overdues(client):  # noqa: F811
    rule = technical_overdue.rule()
    n = rule.max_days_late
    url = "/api/v1/loans/L-R1"
    assert client.get(url).json()["technical_overdues"] == {
        "count": 0,
        "max_days_late": 0,
        "window_days": rule.window_days,
    }
    for days_ago, late in ((100, 0), (80, 1), (60, n), (40, n + 1)):
        r = client.post(f"{url}/repayments", json=paid_late(days_ago, late))
        assert r.status_code == 201, r.text
    # on time: not late; 1 and N days late: counted; N + 1: a real overdue, not counted
    assert client.get(url).json()["technical_overdues"] == {
        "count": 2,
        "max_days_late": n,
        "window_days": rule.window_days,
    }
    # the other loan of the same customer is not touched
    assert client.get("/api/v1/loans/L-R2").json()["technical_overdues"]["count"] == 0


def test_an_instalment_due_before_the_window_is_not_counted(client, monkeypatch):  # noqa: F811
    n = technical_overdue.rule().max_days_late
    short = technical_overdue.TechnicalOverdueRule(max_days_late=n, window_days=30)
    monkeypatch.setattr(technical_overdue, "rule", lambda: short)
    for days_ago in (31, 29):
        r = client.post("/api/v1/loans/L-R1/repayments", json=paid_late(days_ago, 1))
        assert r.status_code == 201, r.text
    assert client.get("/api/v1/loans/L-R1").json()["technical_overdues"] == {
        "count": 1,
        "max_days_late": 1,
        "window_days": 30,
    }
