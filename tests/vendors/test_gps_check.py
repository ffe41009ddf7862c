"""The customer's registered address (REST: on create and with PUT .../registered-address;
latitude and longitude validated: ranges, both or neither) and the vendor GPS check that uses it,
through the real visit-batch flow: a visit far from the registered address is flagged, a near one
is not, with the threshold of config/vendors.yaml."""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import wait_for
from sqlalchemy import select

from postloan.audit import AuditEvent
from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.vendors import config
from postloan.vendors.authenticity import haversine_km

pytestmark = pytest.mark.engine

V001 = "/api/v1/vendors/V001"
#: Hangzhou, West Lake: a registered address other than the fixtures' default (Shanghai).
HANGZHOU = (30.2741, 120.1551)
KM_PER_DEGREE_LATITUDE = math.pi * 6371.0088 / 180


def threshold_km() -> float:
    return float(config.section("authenticity")["max_distance_km"])


def north_of(point: tuple[float, float], km: float) -> tuple[float, float]:
    return point[0] + km / KM_PER_DEGREE_LATITUDE, point[1]


def customer_body(customer_id: str, **over: Any) -> dict[str, Any]:
    return {
        "id": customer_id,
        "name": "Lakeside Tea Co",
        "segment": "micro",
        "industry": "food",
        "branch": "BR-SH-01",
        "account_manager": "am_li",
        "credit_rating": "BBB",
        **over,
    }


def refused(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text[:500]
    assert r.json()["error"] == "invalid_input", r.json()
    assert r.json()["field"] == field, r.json()


def address_path(customer_id: str) -> str:
    return f"/api/v1/customers/{customer_id}/registered-address"


class TestRegisteredAddress:
    def test_given_on_create_and_replaced_later_audited(self, api, database):
        customer_id = f"C-{uuid.uuid4().hex[:8]}"
        r = api.post(
            "/api/v1/customers",
            json=customer_body(
                customer_id,
                registered_address="1 Beishan Road, Xihu District, Hangzhou",
                latitude=HANGZHOU[0],
                longitude=HANGZHOU[1],
            ),
        )
        assert r.status_code == 201, r.text
        got = api.get(f"/api/v1/customers/{customer_id}").json()
        assert (got["registered_address"], got["latitude"], got["longitude"]) == (
            "1 Beishan Road, Xihu District, Hangzhou",
            *HANGZHOU,
        )
        r = api.put(
            address_path(customer_id),
            json={
                "registered_address": "People's Square, Shanghai",
                "latitude": 31.2304,
                "longitude": 121.4737,
            },
        )
        assert r.status_code == 200, r.text
        assert (r.json()["latitude"], r.json()["longitude"]) == (31.2304, 121.4737)
        with unit_of_work(database) as session:
            event = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.object_id == customer_id,
                    AuditEvent.action == "customer.address_registered",
                )
            ).one()
            assert event.detail["before"]["latitude"] == HANGZHOU[0]
            assert event.detail["latitude"] == 31.2304

    def test_a_customer_without_one_has_none(self, api):
        customer_id = f"C-{uuid.uuid4().hex[:8]}"
        assert api.post("/api/v1/customers", json=customer_body(customer_id)).status_code == 201
        got = api.get(f"/api/v1/customers/{customer_id}").json()
        assert (got["registered_address"], got["latitude"], got["longitude"]) == (None,) * 3

    @pytest.mark.parametrize(
        ("coordinates", "field"),
        [
            ({"latitude": 90.5, "longitude": 120.0}, "latitude"),
            ({"latitude": -91, "longitude": 120.0}, "latitude"),
            ({"latitude": 30.0, "longitude": 180.01}, "longitude"),
            ({"latitude": 30.0, "longitude": -200}, "longitude"),
            ({"latitude": 30.0}, "longitude"),
            ({"longitude": 120.0}, "latitude"),
            ({"latitude": "north", "longitude": 120.0}, "latitude"),
            ({"latitude": 30.0, "longitude": None}, "longitude"),
        ],
    )
    def test_bad_coordinates_are_refused_naming_the_field(self, api, database, coordinates, field):
        customer_id = f"C-{uuid.uuid4().hex[:8]}"
        refused(
            api.post("/api/v1/customers", json=customer_body(customer_id, **coordinates)), field
        )
        assert api.get(f"/api/v1/customers/{customer_id}").status_code == 404

        assert api.post("/api/v1/customers", json=customer_body(customer_id)).status_code == 201
        refused(api.put(address_path(customer_id), json=coordinates), field)
        with unit_of_work(database) as session:
            customer = session.get(Customer, customer_id)
            assert (customer.latitude, customer.longitude) == (None, None)

    def test_unknown_customer_is_404(self, api):
        r = api.put(address_path("C-nobody-here"), json={"latitude": 1.0, "longitude": 2.0})
        assert r.status_code == 404, r.text


def _visit(inspection_id: str, point: tuple[float, float]) -> dict[str, Any]:
    return {
        "inspection_id": inspection_id,
        "visited_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        "latitude": point[0],
        "longitude": point[1],
        "photo_sha256": [hashlib.sha256(uuid.uuid4().bytes).hexdigest()],
        "notes": f"Shop open, tea stock counted, owner met ({uuid.uuid4().hex}).",
        "checklist_answers": {"business_operating_normally": True},
    }


def test_visit_far_from_the_registered_address_is_flagged_a_near_one_is_not(
    api, api_keys, admin, outsourced
) -> None:
    """The address comes over REST (replacing the fixtures' Shanghai one): visits are judged
    against Hangzhou, with the configured threshold on either side."""
    far_case, near_case = outsourced(), outsourced()
    for case in (far_case, near_case):
        customer_id = api.get(f"/api/v1/loans/{case['loan_id']}").json()["customer_id"]
        r = api.put(
            address_path(customer_id),
            json={
                "registered_address": "1 Beishan Road, Xihu District, Hangzhou",
                "latitude": HANGZHOU[0],
                "longitude": HANGZHOU[1],
            },
        )
        assert r.status_code == 200, r.text
    limit = threshold_km()
    far, near = north_of(HANGZHOU, limit * 1.5), north_of(HANGZHOU, limit * 0.5)
    assert haversine_km(*far, *HANGZHOU) > limit > haversine_km(*near, *HANGZHOU)

    vendor = {"Authorization": f"Bearer {api_keys['vendor:V001']}"}
    r = api.post(
        f"{V001}/visit-batches",
        headers=vendor,
        json={
            "visits": [
                _visit(far_case["inspection_id"], far),
                _visit(near_case["inspection_id"], near),
            ]
        },
    )
    assert r.status_code == 201, r.text
    batch_id = r.json()["id"]
    # The batch's check step (a worker of outsourced_visit_batch) flags visits before the review.
    wait_for(
        lambda: admin.tasks(
            processInstanceBusinessKey=batch_id, taskDefinitionKey="review_visit_batch"
        ),
        what=f"review_visit_batch of {batch_id}",
    )
    batch = api.get(f"/api/v1/visit-batches/{batch_id}", headers=vendor).json()
    visits = {v["inspection_id"]: v for v in batch["visits"]}
    flags = {f["code"]: f["reason"] for f in visits[far_case["inspection_id"]]["flags"]}
    assert (
        f"{limit * 1.5:.1f} km from the customer's registered address"
        in (flags["gps_far_from_address"])
    )
    assert f"more than {limit:g} km" in flags["gps_far_from_address"]
    assert visits[near_case["inspection_id"]]["flags"] == []
