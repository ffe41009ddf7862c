"""Outsourced visit batches against the real engine: vendor isolation, authenticity flags, one
batch review task, per-visit decisions reaching the inspections, sampled supervision."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers import wait_for

from postloan.vendors.authenticity import haversine_km, notes_flag, window_flag
from tests.vendors.conftest import HOME

V001 = "/api/v1/vendors/V001"


def _sha() -> str:
    return hashlib.sha256(uuid.uuid4().bytes).hexdigest()


def _visit(
    inspection_id: str,
    *,
    lat: float = HOME[0] + 0.001,
    lon: float = HOME[1],
    photos: list[str] | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    return {
        "inspection_id": inspection_id,
        "visited_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        "latitude": lat,
        "longitude": lon,
        "photo_sha256": photos or [_sha()],
        "notes": notes or f"Workshop open, stock seen, owner met ({uuid.uuid4().hex}).",
        "checklist_answers": {"business_operating_normally": True},
    }


def _as(api: Any, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _one_review_task(admin: Any, batch_id: str) -> dict:
    wait_for(
        lambda: admin.tasks(
            processInstanceBusinessKey=batch_id, taskDefinitionKey="review_visit_batch"
        ),
        what=f"review_visit_batch of {batch_id}",
    )
    tasks = admin.tasks(processInstanceBusinessKey=batch_id)
    assert [t["taskDefinitionKey"] for t in tasks] == ["review_visit_batch"]
    return tasks[0]


# -- pure rules ------------------------------------------------------------------------------


def test_haversine_and_window_and_notes_rules() -> None:
    assert 1110 < haversine_km(0, 0, 10, 0) < 1113
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert window_flag(start + timedelta(days=1), start, start + timedelta(days=2)) is None
    assert (
        window_flag(start + timedelta(days=3), start, start + timedelta(days=2))["code"]
        == "outside_window"
    )
    same = notes_flag(
        "Owner met, stock seen, all fine.", [("visit 1", "owner met, stock seen, all fine")], 0.9
    )
    assert same and same["code"] == "notes_near_duplicate" and "visit 1" in same["reason"]
    assert notes_flag("Completely different text here", [("visit 1", "xyz abc")], 0.9) is None


# -- API isolation ---------------------------------------------------------------------------


def test_vendor_keys_see_and_submit_only_their_own_assignments(
    api, api_keys, vendor_key, outsourced
) -> None:
    case = outsourced()
    assert case["vendor_id"] == "V001"
    own = _as(api, api_keys["vendor:V001"])
    other = _as(api, vendor_key("vendor:V002"))

    r = api.get(f"{V001}/assignments", headers=own)
    assert r.status_code == 200, r.text
    assert case["inspection_id"] in [a["inspection_id"] for a in r.json()["items"]]

    for headers in (other, _as(api, api_keys["integrator"])):
        assert api.get(f"{V001}/assignments", headers=headers).status_code == 403
        r = api.post(
            f"{V001}/visit-batches",
            headers=headers,
            json={"visits": [_visit(case["inspection_id"])]},
        )
        assert r.status_code == 403, r.text
    r = api.post(
        "/api/v1/vendors/V002/visit-batches",
        headers=other,
        json={"visits": [_visit(case["inspection_id"])]},
    )
    assert r.status_code == 404, r.text  # V002 is not a registered vendor

    r = api.post(
        f"{V001}/visit-batches",
        headers=own,
        json={"visits": [_visit(case["inspection_id"]), _visit("I-not-assigned")]},
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "visits[1].inspection_id"
    # nothing half-written: the assignment is still open
    statuses = {
        a["inspection_id"]: a["status"]
        for a in api.get(f"{V001}/assignments", headers=own).json()["items"]
    }
    assert statuses[case["inspection_id"]] == "assigned"


def test_admin_registers_a_vendor(api, api_keys) -> None:
    vendor_id = f"V9{uuid.uuid4().hex[:5]}"
    body = {"id": vendor_id, "name": "Inactive Visits Ltd", "active": False}
    assert api.post("/api/v1/vendors", json=body).status_code == 403
    r = api.post("/api/v1/vendors", json=body, headers=_as(api, api_keys["admin"]))
    assert r.status_code == 201, r.text
    assert vendor_id in [v["id"] for v in api.get("/api/v1/vendors").json()]
    r = api.post("/api/v1/vendors", json=body, headers=_as(api, api_keys["admin"]))
    assert r.status_code == 409


# -- the whole batch -------------------------------------------------------------------------


def test_batch_flags_review_decisions_message_and_supervision(
    api, api_keys, admin, as_user, database, outsourced, supervision_rate
) -> None:
    from postloan.db import unit_of_work
    from postloan.vendors.authenticity import register_pre_loan_photo

    supervision_rate(1.0)
    suspicious, clean = outsourced(), outsourced()
    reused = _sha()
    with unit_of_work(database) as session:
        register_pre_loan_photo(session, reused, f"pre_loan:{suspicious['loan_id']}")
    own = _as(api, api_keys["vendor:V001"])
    r = api.post(
        f"{V001}/visit-batches",
        headers=own,
        json={
            "visits": [
                _visit(suspicious["inspection_id"], lat=HOME[0] + 0.5, photos=[reused]),
                _visit(clean["inspection_id"]),
            ]
        },
    )
    assert r.status_code == 201, r.text
    batch_id = r.json()["id"]
    assert batch_id.startswith("VB-")
    # The response reads the batch back once its review process is started: the workers may
    # have begun its authenticity checks by then.
    assert r.json()["status"] in ("submitted", "under_review")

    review = _one_review_task(admin, batch_id)
    batch = api.get(f"/api/v1/visit-batches/{batch_id}", headers=own).json()
    visits = {v["inspection_id"]: v for v in batch["visits"]}
    flags = {f["code"]: f["reason"] for f in visits[suspicious["inspection_id"]]["flags"]}
    assert "pre-loan material" in flags["photo_reused"]
    assert "km from the customer's registered address" in flags["gps_far_from_address"]
    assert visits[clean["inspection_id"]]["flags"] == []
    assert batch["status"] == "under_review"
    # another vendor cannot read it
    other = _as(api, api_keys["integrator"])
    assert api.get(f"/api/v1/visit-batches/{batch_id}", headers=other).status_code == 200

    form = admin.task_variables(review["id"])
    assert {o["value"] for o in form["visit_options"]} == {str(v["id"]) for v in visits.values()}
    assert "flags: photo" in next(
        o["label"]
        for o in form["visit_options"]
        if o["value"] == str(visits[suspicious["inspection_id"]]["id"])
    )

    chen = as_user("po_chen")
    chen.claim(review["id"], "po_chen")
    chen.complete_task(
        review["id"],
        {
            "visits_accepted": [str(visits[clean["inspection_id"]]["id"])],
            "rejection_reasons": "Photo reused from pre-loan material; GPS fix far away.",
        },
    )

    def reviewed() -> Any:
        b = api.get(f"/api/v1/visit-batches/{batch_id}").json()
        return b if b["status"] == "reviewed" else None

    batch = wait_for(reviewed, what=f"decisions of {batch_id}")
    decided = {v["inspection_id"]: v for v in batch["visits"]}
    assert decided[clean["inspection_id"]]["decision"] == "accepted"
    assert decided[suspicious["inspection_id"]]["decision"] == "rejected"
    assert "Photo reused" in decided[suspicious["inspection_id"]]["decision_reason"]

    # the accepted visit's inspection got vendor_visit_accepted; the rejected one still waits
    wait_for(
        lambda: admin.historic_process_instances(
            processInstanceId=clean["wait_pid"], finished="true"
        ),
        what="accepted inspection's wait to end",
    )
    assert admin.active_activities(suspicious["wait_pid"]) == ["vendor_visit_received"]
    statuses = {
        a["inspection_id"]: a["status"]
        for a in api.get(f"{V001}/assignments", headers=own).json()["items"]
    }
    assert statuses[suspicious["inspection_id"]] == "assigned"
    assert statuses[clean["inspection_id"]] == "accepted"

    before = api.get(V001).json()
    assert before["quality"]["rejected_visits"] >= 1

    revisit = wait_for(
        lambda: next(
            iter(
                admin.tasks(
                    processInstanceBusinessKey=batch_id, taskDefinitionKey="supervision_revisit"
                )
            ),
            None,
        ),
        what="supervision_revisit",
    )
    variables = admin.task_variables(revisit["id"])
    assert variables["supervision_item"]["inspection_id"] == clean["inspection_id"]
    wang = as_user("po_wang")
    wang.claim(revisit["id"], "po_wang")
    wang.complete_task(
        revisit["id"],
        {"revisit_result": "mismatch", "revisit_notes": "Workshop closed for months."},
    )
    wait_for(
        lambda: admin.historic_process_instances(
            processInstanceBusinessKey=batch_id, finished="true"
        ),
        what=f"end of {batch_id}",
    )
    after = api.get(V001).json()
    assert (
        after["quality"]["supervision_mismatches"]
        == before["quality"]["supervision_mismatches"] + 1
    )
    assert after["quality_score"] < before["quality_score"]
    assert not admin.incidents(processInstanceId=batch["process_instance_id"])


def test_no_supervision_when_rate_is_zero(
    api, api_keys, admin, as_user, outsourced, supervision_rate
) -> None:
    supervision_rate(0.0)
    case = outsourced()
    own = _as(api, api_keys["vendor:V001"])
    r = api.post(
        f"{V001}/visit-batches", headers=own, json={"visits": [_visit(case["inspection_id"])]}
    )
    assert r.status_code == 201, r.text
    batch_id = r.json()["id"]
    review = _one_review_task(admin, batch_id)
    # the unflagged visit comes pre-ticked
    assert admin.task_variables(review["id"])["visits_accepted"] == [
        str(r.json()["visits"][0]["id"])
    ]
    chen = as_user("po_chen")
    chen.claim(review["id"], "po_chen")
    chen.complete_task(review["id"], {"visits_accepted": [str(r.json()["visits"][0]["id"])]})
    wait_for(
        lambda: admin.historic_process_instances(
            processInstanceBusinessKey=batch_id, finished="true"
        ),
        what=f"end of {batch_id}",
    )
    assert not admin.historic_tasks(
        processInstanceBusinessKey=batch_id, taskDefinitionKey="supervision_revisit"
    )
    wait_for(
        lambda: admin.historic_process_instances(
            processInstanceId=case["wait_pid"], finished="true"
        ),
        what="inspection's wait to end",
    )
