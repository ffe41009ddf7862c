"""A vendor's visit report carries the business needs the customer mentioned: each becomes an
opportunity of the customer's account manager (not of the vendor) with its follow-up process;
a bad need is refused naming the field, and nothing of the batch is written then."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers import wait_for

from tests.vendors.conftest import HOME

V001 = "/api/v1/vendors/V001"


def _visit(inspection_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "inspection_id": inspection_id,
        "visited_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        "latitude": HOME[0] + 0.001,
        "longitude": HOME[1],
        "photo_sha256": [hashlib.sha256(uuid.uuid4().bytes).hexdigest()],
        "notes": f"Workshop open, stock seen, owner met ({uuid.uuid4().hex}).",
        "checklist_answers": {"business_operating_normally": True},
        **extra,
    }


def test_business_needs_of_a_visit_become_opportunities_of_the_account_manager(
    api, api_keys, admin, outsourced
) -> None:
    case = outsourced()
    customer_id = api.get(f"/api/v1/loans/{case['loan_id']}").json()["customer_id"]
    own = {"Authorization": f"Bearer {api_keys['vendor:V001']}"}

    refused = api.post(
        f"{V001}/visit-batches",
        headers=own,
        json={
            "visits": [
                _visit(case["inspection_id"], business_needs=[{"kind": "lottery", "note": ""}])
            ]
        },
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "visits[0].business_needs[0].kind"
    assignments = api.get(f"{V001}/assignments", headers=own).json()["items"]
    status = {a["inspection_id"]: a["status"] for a in assignments}
    assert status[case["inspection_id"]] == "assigned"  # nothing half-written
    assert (
        api.get("/api/v1/opportunities", params={"customer_id": customer_id}).json()["total"] == 0
    )

    r = api.post(
        f"{V001}/visit-batches",
        headers=own,
        json={
            "visits": [
                _visit(
                    case["inspection_id"],
                    business_needs=[
                        {"kind": "trade_finance_fx", "note": "Imports fabric, pays in USD"},
                        {"kind": "deposits_settlement"},
                    ],
                )
            ]
        },
    )
    assert r.status_code == 201, r.text
    found = api.get("/api/v1/opportunities", params={"customer_id": customer_id}).json()
    assert found["total"] == 2
    by_kind = {o["kind"]: o for o in found["items"]}
    assert sorted(by_kind) == ["deposits_settlement", "trade_finance_fx"]
    for o in found["items"]:
        assert o["owner"] == "am_li" and o["source"] == "vendor_visit"
        assert o["source_ref"] == case["inspection_id"] and "vendor:V001" in o["captured_by"]
    assert by_kind["trade_finance_fx"]["note"] == "Imports fabric, pays in USD"
    # the vendor may not read them
    assert api.get("/api/v1/opportunities", headers=own).status_code == 403
    for o in found["items"]:
        wait_for(
            lambda o=o: admin.call(
                "GET",
                "/process-instance",
                params={
                    "processDefinitionKey": "opportunity_follow_up",
                    "businessKey": str(o["id"]),
                },
            ),
            what=f"the follow-up of opportunity {o['id']}",
        )
