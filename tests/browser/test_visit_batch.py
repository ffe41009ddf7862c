"""A post-loan officer reviews a vendor's visit batch in Camunda Tasklist (real browser).

One task for the whole batch: the visits come pre-ticked (no authenticity flags); the officer
unticks one, gives the reason and completes. The decisions are checked over REST.
"""

# ruff: noqa: F811 - the vendor fixtures are imported, then requested by name
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import wait_for
from playwright.sync_api import expect

from tests.browser.test_tasklist import PASSWORDS, complete_button, open_task
from tests.vendors.conftest import (  # noqa: F401 - fixtures
    HOME,
    outsourced,
    supervision_rate,
    vendor_key,
    wait_process,
)

pytestmark = pytest.mark.browser


def _visit(inspection_id: str, notes: str) -> dict[str, Any]:
    import hashlib
    import uuid

    return {
        "inspection_id": inspection_id,
        "visited_at": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
        "latitude": HOME[0],
        "longitude": HOME[1] + 0.001,
        "photo_sha256": [hashlib.sha256(uuid.uuid4().bytes).hexdigest()],
        "notes": notes,
        "checklist_answers": {"business_operating_normally": True},
    }


def test_officer_reviews_visit_batch_in_tasklist(
    workers, api, api_keys, admin, tasklist, outsourced, supervision_rate
) -> None:
    supervision_rate(0.0)
    kept, rejected = outsourced(), outsourced()
    r = api.post(
        "/api/v1/vendors/V001/visit-batches",
        headers={"Authorization": f"Bearer {api_keys['vendor:V001']}"},
        json={
            "visits": [
                _visit(kept["inspection_id"], f"Shop open, owner met {kept['loan_id']}"),
                _visit(
                    rejected["inspection_id"], f"Blurred photos, nobody there {rejected['loan_id']}"
                ),
            ]
        },
    )
    assert r.status_code == 201, r.text
    batch_id = r.json()["id"]
    review = wait_for(
        lambda: next(
            iter(
                admin.tasks(
                    processInstanceBusinessKey=batch_id, taskDefinitionKey="review_visit_batch"
                )
            ),
            None,
        ),
        what=f"review_visit_batch of {batch_id}",
    )

    page = tasklist("po_chen", PASSWORDS["po_chen"])
    form = open_task(page, "My groups' tasks", review["id"])
    expect(form).to_contain_text(f"Review visit batch {batch_id}")
    page.locator("button.claim").click()
    expect(page.locator("li.assignee")).to_contain_text("Chen Jie")
    keep_box = form.get_by_label(re.compile(re.escape(kept["inspection_id"])))
    reject_box = form.get_by_label(re.compile(re.escape(rejected["inspection_id"])))
    expect(keep_box).to_be_checked()
    expect(reject_box).to_be_checked()
    reject_box.uncheck()
    expect(reject_box).not_to_be_checked()
    form.get_by_label("Why the unticked visits are rejected").fill("Nobody met, photos blurred")
    expect(complete_button(page)).to_be_enabled()
    complete_button(page).click()
    expect(page.locator(f'ol.tasks-list a[href="#/?task={review["id"]}"]')).to_have_count(0)

    def reviewed() -> Any:
        body = api.get(f"/api/v1/visit-batches/{batch_id}").json()
        return body if body["status"] == "reviewed" else None

    batch = wait_for(reviewed, what=f"decisions of {batch_id}")
    decisions = {v["inspection_id"]: v for v in batch["visits"]}
    assert decisions[kept["inspection_id"]]["decision"] == "accepted"
    assert decisions[rejected["inspection_id"]]["decision"] == "rejected"
    assert decisions[rejected["inspection_id"]]["decision_reason"] == "Nobody met, photos blurred"
    wait_for(
        lambda: admin.historic_process_instances(
            processInstanceId=kept["wait_pid"], finished="true"
        ),
        what="accepted inspection's wait to end",
    )
    assert admin.historic_tasks(taskId=review["id"])[0]["assignee"] == "po_chen"
