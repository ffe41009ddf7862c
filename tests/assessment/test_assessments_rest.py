"""``GET /assessments`` and ``GET /assessments.csv`` over the seeded quarter, without the engine:
filters, pagination, the CSV rows, stored versus computed, and 4xx naming the field."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from api.deps import get_engine
from config.settings import Settings, get_settings
from postloan.access import service as access
from postloan.assessment import service
from postloan.db import unit_of_work
from tests.assessment.portfolio import PERIOD, TODAY


@pytest.fixture
def client(db) -> TestClient:
    from api.main import create_app

    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(database_url=db)
    app.dependency_overrides[get_engine] = lambda: None
    with unit_of_work(db) as session:
        key = access.issue(session, name="k-viewer", role="viewer", actor="tests")
    test_client = TestClient(app)
    test_client.headers["Authorization"] = f"Bearer {key}"
    return test_client


def test_one_level_with_scores_bands_ranks_and_explained_indicators(client):
    r = client.get("/api/v1/assessments", params={"period": PERIOD, "level": "vendor"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    first, second = body["items"]
    assert (first["subject_id"], first["score"], first["band"], first["rank"]) == (
        "VB",
        95.0,
        "excellent",
        1,
    )
    assert (second["subject_id"], second["subject_name"], second["score"], second["rank"]) == (
        "VA",
        "Vendor A",
        64.0,
        2,
    )
    assert second["stored"] is False
    on_time = next(i for i in second["indicators"] if i["key"] == "inspections_on_time")
    assert on_time == {
        "key": "inspections_on_time",
        "label": "Inspections done by their due date",
        "value": 0.5,
        "numerator": 1,
        "denominator": 2,
        "weight": 30.0,
        "points": 15.0,
        "explanation": "1 of 2 inspections due in the period done by their due date",
    }


def test_every_level_when_none_is_given_and_one_subject(client):
    r = client.get("/api/v1/assessments", params={"period": PERIOD})
    assert r.status_code == 200, r.text
    levels = [(i["level"], i["subject_id"]) for i in r.json()["items"]]
    assert levels == [
        ("account_manager", "am_li"),
        ("account_manager", "am_zhang"),
        ("postloan_officer", "po_wang"),
        ("postloan_officer", "po_chen"),
        ("vendor", "VB"),
        ("vendor", "VA"),
        ("branch", "BR-SH-01"),
        ("branch", "BR-BJ-02"),
    ]
    names = {i["subject_id"]: i["subject_name"] for i in r.json()["items"]}
    assert names["am_li"] == "Li Wei" and names["BR-SH-01"] == "Shanghai Pudong"
    r = client.get(
        "/api/v1/assessments",
        params={"period": PERIOD, "level": "branch", "subject_id": "BR-BJ-02"},
    )
    assert [(i["subject_id"], i["rank"]) for i in r.json()["items"]] == [("BR-BJ-02", 2)]
    r = client.get("/api/v1/assessments", params={"period": PERIOD, "subject_id": "nobody"})
    assert r.json()["total"] == 0 and r.json()["items"] == []


def test_pagination(client):
    pages = [
        client.get(
            "/api/v1/assessments", params={"period": PERIOD, "limit": 3, "offset": offset}
        ).json()
        for offset in (0, 3, 6)
    ]
    assert [p["total"] for p in pages] == [8, 8, 8]
    assert [len(p["items"]) for p in pages] == [3, 3, 2]
    ids = [i["subject_id"] for p in pages for i in p["items"]]
    assert len(set(ids)) == 8


def test_a_stored_period_says_so(client, db):
    with unit_of_work(db) as session:
        service.store_period(session, period=PERIOD, levels=["branch"], actor="tests", today=TODAY)
    items = client.get("/api/v1/assessments", params={"period": PERIOD}).json()["items"]
    assert {i["level"]: i["stored"] for i in items} == {
        "account_manager": False,
        "postloan_officer": False,
        "vendor": False,
        "branch": True,
    }


def test_csv_one_row_per_subject_and_indicator(client):
    r = client.get("/api/v1/assessments.csv", params={"period": PERIOD, "level": "vendor"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="assessments-2026-Q3-vendor.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    json_items = client.get(
        "/api/v1/assessments", params={"period": PERIOD, "level": "vendor"}
    ).json()["items"]
    assert len(rows) == sum(len(i["indicators"]) for i in json_items)
    assert list(rows[0].keys())[:3] == ["period", "level", "subject_id"]
    va = {row["indicator"]: row for row in rows if row["subject_id"] == "VA"}
    assert va["inspections_on_time"]["value"] == "0.5"
    assert (va["inspections_on_time"]["numerator"], va["inspections_on_time"]["denominator"]) == (
        "1",
        "2",
    )
    assert va["vendor_quality_score"]["points"] == "24.0"
    assert va["inspections_on_time"]["score"] == "64.0" and va["inspections_on_time"]["rank"] == "2"
    vb = {row["indicator"]: row for row in rows if row["subject_id"] == "VB"}
    assert vb["inspections_on_time"]["value"] == ""  # nothing to measure: empty, not 0


def test_csv_header_only_when_nothing_matches(client):
    r = client.get("/api/v1/assessments.csv", params={"period": "2019-01", "level": "branch"})
    assert r.status_code == 200
    assert r.text.strip().split("\r\n") == [
        "period,level,subject_id,subject_name,score,band,rank,indicator,label,value,numerator,"
        "denominator,weight,points,explanation"
    ]


BAD_FILTERS = [
    ({}, "period"),
    ({"period": "2026-Q5"}, "period"),
    ({"period": "Q3"}, "period"),
    ({"period": "2026-Q3-extra-long"}, "period"),
    ({"period": PERIOD, "level": "region"}, "level"),
]
BAD_PAGES = [
    ({"period": PERIOD, "limit": 0}, "limit"),
    ({"period": PERIOD, "offset": -1}, "offset"),
]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [("/api/v1/assessments", p, f) for p, f in BAD_FILTERS + BAD_PAGES]
    + [("/api/v1/assessments.csv", p, f) for p, f in BAD_FILTERS],
)
def test_bad_input_is_a_422_naming_the_field(client, path, params, field):
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
