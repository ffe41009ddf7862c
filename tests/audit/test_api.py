"""``GET /api/v1/audit-events``: auditors and admins read the chain; filters, pages, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlite_template import copy_of

from config.settings import Settings, get_settings
from postloan import audit
from postloan.access import service as access
from postloan.db import get_engine, unit_of_work

PATH = "/api/v1/audit-events"
ROLES = ("auditor", "admin", "integrator", "viewer", "vendor:V001")


def make_client(db_url: str) -> TestClient:
    """An app of its own (the shared one is left alone), on the given database, with a key per
    role and thirty entries carrying before/after."""
    from api.main import create_app

    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(database_url=db_url)
    with unit_of_work(db_url) as session:
        keys = {
            role: access.issue(session, name=f"k-{role}", role=role, actor="tests")
            for role in ROLES
        }
        for n in range(30):
            audit.record(
                session,
                actor=f"am_{'li' if n % 2 else 'zhang'}",
                action="loan.amended" if n % 3 else "customer.registered",
                object_type="loan" if n % 3 else "customer",
                object_id=f"X{n % 5}",
                detail={"n": n, "before": {"n": n - 1}, "after": {"n": n}},
            )
    test_client = TestClient(app)

    def as_role(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[role]}"}

    test_client.as_role = as_role  # type: ignore[attr-defined]
    return test_client


@pytest.fixture(scope="module")
def reader_db(tmp_path_factory, sqlite_template):
    url = copy_of(sqlite_template, tmp_path_factory.mktemp("audit-api") / "audit.db")
    yield url
    get_engine(url).dispose()


@pytest.fixture(scope="module")
def client(reader_db):
    """Shared by the tests that only read."""
    return make_client(reader_db)


def get(client, role="auditor", **params):
    return client.get(PATH, params=params, headers=client.as_role(role))


def all_entries(url):
    with unit_of_work(url) as session:
        return session.execute(text("SELECT seq, hash FROM audit_event ORDER BY seq")).all()


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_read_the_trail_newest_first(client, reader_db, role):
    r = get(client, role)
    assert r.status_code == 200, r.text
    body = r.json()
    rows = all_entries(reader_db)
    assert (body["total"], body["limit"], body["offset"], body["order"]) == (
        len(rows),
        100,
        0,
        "newest",
    )
    seqs = [item["seq"] for item in body["items"]]
    assert seqs == sorted((s for s, _ in rows), reverse=True)
    item = body["items"][0]
    assert set(item) == {
        "seq",
        "at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "detail",
        "prev_hash",
        "hash",
    }
    assert item["at"].endswith("+00:00")
    assert item["detail"]["before"] == {"n": 28} and item["detail"]["after"] == {"n": 29}
    assert item["hash"] == dict(rows)[item["seq"]]
    assert body["items"][1]["hash"] == item["prev_hash"]  # the chain, readable by an auditor
    parsed = datetime.fromisoformat(item["at"])
    assert (
        audit.entry_hash(
            seq=item["seq"],
            at=parsed,
            actor=item["actor"],
            action=item["action"],
            object_type=item["object_type"],
            object_id=item["object_id"],
            detail=item["detail"],
            prev_hash=item["prev_hash"],
        )
        == item["hash"]
    )


@pytest.mark.parametrize("role", ["integrator", "viewer", "vendor:V001"])
def test_other_roles_are_refused(client, role):
    r = get(client, role)
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden" and role in r.json()["detail"]


def test_without_a_key_it_is_401(client):
    r = client.get(PATH)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_filters_combine(client):
    r = get(
        client,
        actor="am_li",
        action="loan.amended",
        object_type="loan",
        object_id="X1",
        order="seq",
    )
    body = r.json()
    assert r.status_code == 200, r.text
    expected = [n for n in range(30) if n % 2 and n % 3 and n % 5 == 1]
    assert [i["detail"]["n"] for i in body["items"]] == expected
    assert body["total"] == len(expected) and body["order"] == "seq"
    assert all(i["actor"] == "am_li" and i["object_id"] == "X1" for i in body["items"])


def test_from_inclusive_and_to_exclusive_in_any_time_zone(db_url):
    client = make_client(db_url)
    with get_engine(db_url).begin() as connection:  # spread the entries in time
        connection.execute(text("DROP TRIGGER audit_event_no_update"))
        connection.execute(
            text(
                "UPDATE audit_event SET at = strftime('%Y-%m-%d %H:%M:%S.000000', "
                "'2026-03-01 00:00:00', '+' || seq || ' hours')"
            )
        )
    # 2026-03-01T10:00Z .. 2026-03-01T15:00Z, given as +08:00 and as Z
    r = get(
        client,
        **{"from": "2026-03-01T18:00:00+08:00", "to": "2026-03-01T15:00:00Z", "order": "seq"},
    )
    assert r.status_code == 200, r.text
    assert [i["seq"] for i in r.json()["items"]] == [10, 11, 12, 13, 14]
    assert r.json()["items"][0]["at"] == "2026-03-01T10:00:00.000000+00:00"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2026-03-01T10:00:00"}, "from"),  # no time zone
        ({"to": "yesterday"}, "to"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10**9 + 1}, "offset"),
        ({"offset": "9" * 400}, "offset"),
        ({"limit": "1e3"}, "limit"),
        ({"order": "oldest"}, "order"),
        ({"actor": "a" * 101}, "actor"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, params, field):
    r = get(client, **params)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_input" and field in r.json()["detail"]


def test_to_before_from_is_refused(client):
    now = datetime.now(UTC)
    r = get(client, **{"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()})
    assert r.status_code == 422 and r.json()["error"] == "invalid_input"
    assert "to" in r.json()["detail"]


def test_pages_cover_the_trail_once(client, reader_db):
    total = len(all_entries(reader_db))
    seen: list[int] = []
    for offset in range(0, total + 7, 7):
        body = get(client, limit=7, offset=offset, order="seq").json()
        assert body["total"] == total and body["limit"] == 7 and body["offset"] == offset
        seen += [i["seq"] for i in body["items"]]
    assert seen == list(range(1, total + 1))
    far = get(client, offset=10**9).json()
    assert far["items"] == [] and far["total"] == total
