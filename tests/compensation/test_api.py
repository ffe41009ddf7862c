"""``POST /compensation/pay-bases``, ``GET /compensation/ledger`` and ``ledger.csv`` on an app of
its own over a fresh SQLite copy (no engine): validation 422s naming the field, 409 for another
figure, pagination, filters, per-person totals, the payroll CSV, and who may read pay."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import get_engine, get_services
from config.settings import Settings, get_settings
from postloan.access import service as access
from postloan.application.ports import database_unit
from postloan.application.services import Services
from postloan.compensation import service as compensation
from postloan.db import unit_of_work

from .conftest import PERSON

URL = "/api/v1/compensation"


@pytest.fixture
def keys(db) -> dict[str, str]:
    with unit_of_work(db) as session:
        return {
            role: access.issue(session, name=f"k-{role}", role=role, actor="tests")
            for role in ("integrator", "auditor", "viewer", "admin")
        }


@pytest.fixture
def client(db, keys) -> TestClient:
    from api.main import create_app

    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(database_url=db)
    app.dependency_overrides[get_engine] = lambda: None
    app.dependency_overrides[get_services] = lambda: Services(uow=database_unit(db), engine=None)
    test_client = TestClient(app)
    test_client.headers["Authorization"] = f"Bearer {keys['integrator']}"
    return test_client


def item(person: str = PERSON, period: str = "2025", pay: Any = "100000.00", **more: Any):
    return {"person": person, "period": period, "performance_pay": pay, "currency": "CNY", **more}


class TestImport:
    def test_it_answers_the_split_and_a_repeat_is_unchanged(self, client):
        r = client.post(f"{URL}/pay-bases", json={"items": [item()]})
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["created"], body["unchanged"]) == (1, 0)
        [out] = body["items"]
        assert out["status"] == "created"
        assert (out["paid_now"], out["deferred"]) == ("60000.00", "40000.00")
        assert out["tranches"] == [
            {"tranche": 1, "amount": "13333.33", "due_on": "2026-12-31"},
            {"tranche": 2, "amount": "13333.33", "due_on": "2027-12-31"},
            {"tranche": 3, "amount": "13333.34", "due_on": "2028-12-31"},
        ]
        assert out["imported_by"] == "api:k-integrator"
        again = client.post(f"{URL}/pay-bases", json={"items": [item()]})
        assert again.status_code == 200, again.text
        assert (again.json()["created"], again.json()["unchanged"]) == (0, 1)
        assert again.json()["items"][0]["tranches"] == out["tranches"]

    def test_another_figure_is_409_naming_the_item_and_nothing_is_written(self, client):
        assert client.post(f"{URL}/pay-bases", json={"items": [item()]}).status_code == 201
        r = client.post(
            f"{URL}/pay-bases",
            json={"items": [item(period="2026"), item(pay="90000.00")]},
        )
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "conflict"
        assert r.json()["field"] == "items.1.performance_pay"
        assert client.get(f"{URL}/ledger", params={"period": "2026"}).json()["total"] == 0

    @pytest.mark.parametrize(
        ("items", "field"),
        [
            ([item(), item(), item(period="2026", pay="-5")], "items.2.performance_pay"),
            ([item(pay="0")], "items.0.performance_pay"),
            ([item(pay="12.345")], "items.0.performance_pay"),
            ([item(pay="abc")], "items.0.performance_pay"),
            ([item(period="2025-Q3")], "items.0.period"),
            ([item(period="25")], "items.0.period"),
            ([item(person="am li")], "items.0.person"),
            ([item(currency="XYZ")], "items.0.currency"),
            ([item(currency="USD")], "items.0.currency"),  # not the ledger's currency
            ([item(period="2099")], "items.0.period"),  # not begun yet
            ([item(), item()], "items.1.period"),  # twice in one batch
            ([item(bonus="1")], "items.0.bonus"),
            ([], "items"),
        ],
    )
    def test_bad_items_are_422_naming_the_field(self, client, items, field):
        r = client.post(f"{URL}/pay-bases", json={"items": items})
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid_input"
        assert r.json()["field"] == field
        assert client.get(f"{URL}/ledger").json()["total"] == 0

    def test_a_body_without_items_is_422(self, client):
        r = client.post(f"{URL}/pay-bases", json=[item()])
        assert r.status_code == 422 and r.json()["field"] == "body"


def _seed_ledger(client: TestClient, db: str) -> None:
    r = client.post(
        f"{URL}/pay-bases",
        json={
            "items": [
                item(),
                item(period="2026", pay="30000.00"),
                item(person="am_zhang", pay="1000.00"),
            ]
        },
    )
    assert r.status_code == 201, r.text
    with unit_of_work(db) as session:
        compensation.release_due(session, as_of=date(2026, 12, 31), actor="postloanctl")
        compensation.record_final(
            session,
            review_id="R-API",
            outcome="reduced",
            final_on=date(2027, 2, 1),
            actor="cm_liu",
            loan_id="L-C1",
            person=PERSON,
        )


class TestLedger:
    def test_pages_filters_and_totals(self, client, db):
        _seed_ledger(client, db)
        everything = client.get(f"{URL}/ledger", params={"limit": 500}).json()
        # am_li: 2025 and 2026 each 4 rows + 1 release (2025 tranche 1); reduced on 2025's
        # tranches 2, 3 and 2026's 1, 2, 3: a hold, a clawback and a hold_lifted each;
        # am_zhang: 4 rows + 1 release
        assert everything["total"] == 4 + 4 + 1 + 5 * 3 + 4 + 1
        page = client.get(f"{URL}/ledger", params={"limit": 5, "offset": 5}).json()
        assert (page["total"], page["limit"], page["offset"]) == (everything["total"], 5, 5)
        assert [e["id"] for e in page["items"]] == [e["id"] for e in everything["items"][5:10]]
        # ordered by person, period, then as written
        keys = [(e["person"], e["period"]) for e in everything["items"]]
        assert keys == sorted(keys)

        mine = client.get(f"{URL}/ledger", params={"person": PERSON, "period": "2025"}).json()
        assert {e["person"] for e in mine["items"]} == {PERSON}
        [totals] = mine["totals"]
        # 2025: 13,333.33 released; tranches 2 and 3 half clawed back (6,666.67 each)
        assert totals == {
            "person": PERSON,
            "currency": "CNY",
            "paid_now": "60000.00",
            "deferred": "40000.00",
            "deferred_outstanding": "13333.33",
            "held": "0.00",
            "released": "13333.33",
            "clawed_back": "13333.34",
        }
        claws = client.get(f"{URL}/ledger", params={"kind": "clawback"}).json()
        assert claws["total"] == 5
        assert {(e["review_id"], e["loan_id"]) for e in claws["items"]} == {("R-API", "L-C1")}
        # the kind filter narrows the rows, not the balances
        both = {t["person"]: t for t in claws["totals"]}
        assert set(both) == {PERSON}
        assert both[PERSON]["paid_now"] == "78000.00"
        assert both[PERSON]["clawed_back"] == str(Decimal("13333.34") + Decimal("6000.00"))
        zhang = client.get(f"{URL}/ledger", params={"person": "am_zhang"}).json()
        assert zhang["totals"][0]["released"] == "133.33"
        effective = client.get(
            f"{URL}/ledger",
            params={"effective_from": "2027-02-01", "effective_to": "2027-02-01"},
        ).json()
        assert {e["kind"] for e in effective["items"]} == {"hold", "clawback", "hold_lifted"}

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"period": "2025-Q1"}, "period"),
            ({"kind": "bonus"}, "kind"),
            ({"person": "a b"}, "person"),
            ({"limit": 0}, "limit"),
            ({"limit": 501}, "limit"),
            ({"offset": -1}, "offset"),
            ({"effective_from": "2027-02-02", "effective_to": "2027-02-01"}, "effective_from"),
            ({"effective_to": "0"}, "effective_to"),  # a timestamp is not a day
            ({"effective_to": "2027-02-30"}, "effective_to"),
        ],
    )
    def test_bad_filters_are_422_naming_the_field(self, client, params, field):
        r = client.get(f"{URL}/ledger", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        if not {"limit", "offset"} & set(params):  # the export is not paged
            r = client.get(f"{URL}/ledger.csv", params=params)
            assert r.status_code == 422, r.text
            assert r.json()["field"] == field

    def test_the_payroll_csv_has_a_header_and_one_row_per_entry(self, client, db):
        _seed_ledger(client, db)
        r = client.get(f"{URL}/ledger.csv", params={"person": PERSON})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert 'filename="ledger-am_li.csv"' in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        listed = client.get(f"{URL}/ledger", params={"person": PERSON, "limit": 500}).json()
        assert [int(row["entry_id"]) for row in rows] == [e["id"] for e in listed["items"]]
        assert list(rows[0]) == [
            "entry_id",
            "person",
            "period",
            "kind",
            "tranche",
            "amount",
            "payable",
            "currency",
            "due_on",
            "effective_on",
            "review_id",
            "loan_id",
            "reason",
            "at",
            "by",
        ]
        payable = sum(Decimal(row["payable"]) for row in rows)
        # paid now 60,000.00 + 18,000.00, and the release of 2025's tranche 1 (13,333.33)
        assert payable == Decimal("91333.33")
        for row in rows:
            if row["kind"] not in ("paid_now", "release"):
                assert row["payable"] == "0.00"
        clawbacks = [row for row in rows if row["kind"] == "clawback"]
        assert {row["review_id"] for row in clawbacks} == {"R-API"}
        assert all("reduced" in row["reason"] for row in clawbacks)

    def test_an_empty_export_is_just_the_header(self, client):
        r = client.get(f"{URL}/ledger.csv", params={"period": "2024"})
        assert r.status_code == 200
        assert r.text.splitlines() == [
            "entry_id,person,period,kind,tranche,amount,payable,currency,due_on,"
            "effective_on,review_id,loan_id,reason,at,by"
        ]


class TestWhoMay:
    @pytest.mark.parametrize(
        ("role", "read", "write"),
        [
            ("integrator", 200, 201),
            ("admin", 200, 201),
            ("auditor", 200, 403),
            ("viewer", 403, 403),
        ],
    )
    def test_pay_is_read_by_payroll_auditors_and_admins_only(self, client, keys, role, read, write):
        headers = {"Authorization": f"Bearer {keys[role]}"}
        assert client.get(f"{URL}/ledger", headers=headers).status_code == read
        assert client.get(f"{URL}/ledger.csv", headers=headers).status_code == read
        r = client.post(
            f"{URL}/pay-bases", json={"items": [item(person=f"am_{role}")]}, headers=headers
        )
        assert r.status_code == write, r.text

    def test_no_key_is_401(self, client):
        assert client.get(f"{URL}/ledger", headers={"Authorization": ""}).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"items": [item(pay="NaN")]},
        {"items": [item(pay="Infinity")]},
        {"items": [item(pay="1e400")]},
        {"items": [item(pay=1e-10)]},
        {"items": [item(period="٢٠٢٥")]},
        {"items": [item(period="2025-")]},
        {"items": [item(person="")]},
        {"items": [{"person": PERSON}]},
        {"items": "all"},
    ],
)
def test_odd_input_is_a_422_never_a_500(client, body):
    r = client.post(f"{URL}/pay-bases", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"].startswith("items")
