"""The dashboards as pages, without the engine: who may open them, the filters checked at the
edge, what the chart data and the tables say, and nothing loaded from another host.

A person's session is a signed cookie (api/pages/session.py) made here as the login would; a
vendor's key and a vendor's session are refused. The assessment's scorecards (H1's
``postloan.assessment.service.scorecards``) are stood in for by fixed scorecards in the two
tests of the pages that draw them: what is tested is how the page shows a scorecard.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import customer_row
from sqlite_template import copy_of

from api.pages import session as page_session
from config.settings import Settings, get_settings
from postloan.access import service as access
from postloan.assessment import service as assessment
from postloan.assessment.results import IndicatorValue, Scorecard
from postloan.db import get_engine as db_engine
from postloan.db import unit_of_work
from postloan.loans.models import ClassificationChange, Loan
from postloan.rectifications.models import Rectification
from postloan.signals.models import RiskSignal

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
TODAY = date.today()


@pytest.fixture
def db(tmp_path, sqlite_template) -> Any:
    url = copy_of(sqlite_template, tmp_path / "dashboard_pages.db")
    now = datetime.now(UTC)
    with unit_of_work(url) as s:
        s.add(
            customer_row(
                "C-1", name="Shanghai Textiles", branch="BR-SH-01", account_manager="am_li"
            )
        )
        for lid, cls in (("L-1", "substandard"), ("L-2", "normal")):
            s.add(
                Loan(
                    id=lid,
                    customer_id="C-1",
                    product="P",
                    amount=Decimal("250000"),
                    currency="CNY",
                    disbursed_on=TODAY - timedelta(days=400),
                    maturity_on=TODAY + timedelta(days=400),
                    purpose="stock",
                    risk_class=cls,
                )
            )
        s.flush()
        s.add(
            ClassificationChange(
                loan_id="L-1",
                from_class="normal",
                to_class="substandard",
                reason="overdue",
                source="scan",
                status="applied",
                decided_by="cm_liu",
                at=now - timedelta(days=10),
            )
        )
        s.add(
            RiskSignal(
                code="LITIGATION",
                customer_id="C-1",
                severity="red",
                owner_role="account_manager",
                summary="Sued by a supplier",
                source="test",
                dedupe_key="k-1",
                respond_by=TODAY,
                last_seen_at=now,
                created_at=now - timedelta(days=3),
            )
        )
        s.add(
            Rectification(
                id="RECT-1",
                customer_id="C-1",
                source="inspection",
                title="Insurance lapsed",
                description="Renew it",
                severity="serious",
                owner="am_li",
                raised_by="po_chen",
                deadline=TODAY - timedelta(days=2),
                created_at=now - timedelta(days=45),
            )
        )
    yield url
    db_engine(url).dispose()


@pytest.fixture
def app(db) -> Any:
    from api.main import create_app

    application = create_app()
    application.dependency_overrides[get_settings] = lambda: Settings(database_url=db)
    return application


def cookie(role: str, user: str = "am_li", name: str = "Li Wei") -> str:
    session = page_session.PageSession(user, role, name, int(time.time()) + 600)
    return page_session.encode(session, get_settings().page_session_secret.get_secret_value())


def person(app: Any, role: str = "viewer") -> TestClient:
    c = TestClient(app, follow_redirects=False)
    c.cookies.set(page_session.COOKIE, cookie(role))
    c.headers.update(BROWSER)
    return c


def chart_data(html: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S
    )
    assert found, html[:500]
    return json.loads(found.group(1))


PAGES = [
    "/pages/dashboards/",
    "/pages/dashboards/migration",
    "/pages/dashboards/signals",
    "/pages/dashboards/inspections?period=2026-Q3",
    "/pages/dashboards/ranking?period=2026-Q3&level=branch",
    "/pages/dashboards/rectifications",
]


@pytest.fixture
def scorecards(monkeypatch) -> list[Scorecard]:
    """Two branch scorecards, as the assessment gives them."""

    def indicator(n: int, d: int, weight: float, points: float) -> IndicatorValue:
        return IndicatorValue(
            "inspections_on_time",
            "Inspections done on time",
            n / d,
            n,
            d,
            weight,
            points,
            f"{n} of {d} planned inspections done by their due date",
        )

    cards = [
        Scorecard("2026-Q3", "branch", "BR-BJ-02", "Beijing Chaoyang", 90.0, "Good", 1,
                  (indicator(9, 10, 0.5, 45.0),)),
        Scorecard("2026-Q3", "branch", "BR-SH-01", "Shanghai Pudong", 60.0, "Fair", 2,
                  (indicator(3, 5, 0.5, 30.0),)),
    ]  # fmt: skip
    calls: list[tuple[str, str]] = []

    def fake(session: Any, *, period: str, level: str) -> list[Scorecard]:
        calls.append((period, level))
        return [c for c in cards if c.level == level]

    monkeypatch.setattr(assessment, "scorecards", fake)
    return cards


@pytest.mark.parametrize("path", PAGES[1:])
def test_without_a_session_a_browser_goes_to_the_login_and_an_api_client_gets_401(app, path):
    c = TestClient(app, follow_redirects=False)
    r = c.get(path, headers=BROWSER)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/pages/login?next=/pages/dashboards/")
    assert c.get(path).status_code == 401


@pytest.mark.parametrize("path", PAGES)
def test_a_vendor_gets_no_dashboard(app, db, path):
    vendor = person(app, "vendor:V001")
    r = vendor.get(path)
    assert r.status_code == 403
    assert "may not open the dashboards" in unescape(r.text)
    with unit_of_work(db) as s:
        key = access.issue(s, name="k-vendor", role="vendor:V001", actor="tests")
    r = TestClient(app).get(path, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


@pytest.mark.parametrize("path", PAGES)
def test_each_page_loads_nothing_from_another_host(app, path, scorecards):
    c = person(app)
    page = c.get(path)
    assert page.status_code == 200, page.text[:300]
    assert re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page.text) == []
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    assert not re.search(r"<script(?![^>]*(?:src=|type=\"application/json\"))", page.text)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert "/static/dashboards.css" in assets
    if path != "/pages/dashboards/":
        assert {"/static/chartjs/chart.umd.min.js", "/static/dashboards.js"} <= set(assets)
    for asset in assets:
        r = c.get(asset)
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert c.get("/static/chartjs/LICENSE.md").status_code == 200


def test_the_index_links_every_dashboard(app):
    page = person(app).get("/pages/dashboards/")
    for slug in ("migration", "signals", "inspections", "ranking", "rectifications"):
        assert f'href="/pages/dashboards/{slug}"' in page.text


def test_the_migration_page_draws_and_tables_the_matrix(app):
    from_day = TODAY - timedelta(days=30)
    page = person(app).get(f"/pages/dashboards/migration?from={from_day}&to={TODAY}")
    assert page.status_code == 200
    (chart,) = chart_data(page.text)["charts"]
    assert chart["filename"] == f"migration-{TODAY.isoformat()}.png"
    assert chart["labels"][:2] == ["Normal", "Special mention"]
    by_class = {d["label"]: d["data"] for d in chart["datasets"]}
    # L-1 normal -> substandard, L-2 normal -> normal: both in the "Normal" column.
    assert by_class["Substandard"][0] == 1 and by_class["Normal"][0] == 1
    assert sum(sum(d) for d in by_class.values()) == 2
    text = unescape(page.text)
    assert "1 moved to a worse class" in text
    assert "250,000.00 CNY" in text
    assert "special_mention" not in re.sub(r"<script.*?</script>", "", text, flags=re.S)


def test_the_signals_page_counts_by_severity_and_says_when_there_are_none(app):
    page = person(app).get(f"/pages/dashboards/signals?bucket=month&to={TODAY}")
    (chart,) = chart_data(page.text)["charts"]
    red = next(d for d in chart["datasets"] if d["label"] == "Red")
    assert sum(red["data"]) == 1 and red["color"].startswith("#")
    assert "1 signal raised: 1 red" in unescape(page.text)
    long_ago = TODAY - timedelta(days=900)
    empty = person(app).get(f"/pages/dashboards/signals?from={long_ago}&to={long_ago}")
    assert empty.status_code == 200
    assert chart_data(empty.text)["charts"] == []
    assert "No signals in this period" in empty.text and "<canvas" not in empty.text


def test_the_rectifications_page_shows_ages_and_overdue(app):
    page = person(app).get("/pages/dashboards/rectifications")
    charts = chart_data(page.text)["charts"]
    assert [c["id"] for c in charts] == ["chart-rectifications"]  # no restriction in force
    serious = next(d for d in charts[0]["datasets"] if d["label"] == "Serious")
    assert serious["data"] == [0, 1, 0, 0]  # 45 days open
    text = unescape(re.sub(r"<[^>]+>", "", page.text))
    assert "1 open rectification, 1 past their deadline; 0 restrictions in force" in text
    assert "No restriction in force" in text


def test_the_inspections_page_draws_each_branch_rate(app, scorecards):
    page = person(app).get("/pages/dashboards/inspections?period=2026-Q3")
    (chart,) = chart_data(page.text)["charts"]
    assert chart["labels"] == ["Beijing Chaoyang", "Shanghai Pudong"]
    assert chart["datasets"][0]["data"] == [90.0, 60.0]
    assert chart["percent"] is True and chart["max"] == 100
    assert "3 of 5 planned inspections done by their due date" in page.text
    # Bars at or above the target (config/dashboards.yaml: 90%) green, below it red.
    assert chart["datasets"][0]["color"] == ["#2e7d32", "#c62828"]
    assert "12 of 15 inspections due were done on time (80%)" in page.text
    assert "1 of 2 branches meet it" in unescape(page.text)


def test_the_ranking_page_explains_every_score(app, scorecards):
    page = person(app).get("/pages/dashboards/ranking?period=2026-Q3&level=branch")
    (chart,) = chart_data(page.text)["charts"]
    assert chart["horizontal"] is True
    assert chart["labels"] == ["1. Beijing Chaoyang", "2. Shanghai Pudong"]
    assert chart["datasets"][0]["data"] == [90.0, 60.0]
    text = unescape(page.text)
    assert "9 of 10 planned inspections done by their due date" in text
    assert "1. Beijing Chaoyang — score 90.0 (Good)" in text
    empty = person(app).get("/pages/dashboards/ranking?period=2026-Q3&level=vendor")
    assert "No scorecards for 2026-Q3" in empty.text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/pages/dashboards/migration?from=2026-13-01", "from"),
        ("/pages/dashboards/migration?from=2026-09-30&to=2026-06-30", "to"),
        ("/pages/dashboards/signals?to=yesterday", "to"),
        ("/pages/dashboards/signals?bucket=day", "bucket"),
        ("/pages/dashboards/signals?from=1900-01-01", "from"),
        ("/pages/dashboards/inspections?period=2026-Q5", "period"),
        ("/pages/dashboards/ranking?period=2026-Q3&level=boss", "level"),
        ("/pages/dashboards/ranking?period=Q3", "period"),
    ],
)
def test_a_bad_filter_is_a_422_naming_the_field(app, db, path, field, scorecards):
    page = person(app).get(path)
    assert page.status_code == 422
    assert 'role="alert"' in page.text and field in unescape(page.text)
    with unit_of_work(db) as s:
        key = access.issue(s, name="k-viewer", role="viewer", actor="tests")
    r = TestClient(app).get(path, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 422 and r.json()["field"] == field


def test_too_long_a_filter_is_refused_not_a_500(app):
    r = person(app).get("/pages/dashboards/signals?bucket=" + "w" * 100)
    assert r.status_code == 422


def test_the_vendored_chart_js_is_the_version_the_static_readme_names():
    from api.pages.render import STATIC

    bundle = (STATIC / "chartjs" / "chart.umd.min.js").read_text(encoding="utf-8")
    version = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", bundle[:300])
    assert version, bundle[:300]
    readme = (STATIC / "README.md").read_text(encoding="utf-8")
    assert f"`chart.js` **{version.group(1)}**" in readme
    assert "MIT License" in (STATIC / "chartjs" / "LICENSE.md").read_text(encoding="utf-8")
