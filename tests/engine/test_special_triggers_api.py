"""Special inspections start by themselves when integrators report what warrants one."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import new_loan, wait_for

pytestmark = pytest.mark.engine


def open_specials(api, loan_id: str) -> list[dict]:
    items = api.get("/api/v1/inspections", params={"loan_id": loan_id}).json()["items"]
    return [i for i in items if i["kind"] == "special" and i["status"] != "cancelled"]


def test_a_litigation_event_starts_a_special_inspection_within_seconds(workers, api, admin):
    loan_id = new_loan(api, account_manager="am_zhang")
    customer_id = api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]
    event = {
        "customer_id": customer_id,
        "kind": "litigation",
        "occurred_on": date.today().isoformat(),
        "source": "court registry",
        "source_ref": f"case-{loan_id}",
        "details": "Supplier sues for unpaid invoices",
    }
    r = api.post("/api/v1/external-events", json=event)
    assert r.status_code == 201, r.text
    started = r.json()["special_inspections"]
    assert len(started) == 1
    inspection = api.get(f"/api/v1/inspections/{started[0]}").json()
    assert inspection["loan_id"] == loan_id and inspection["kind"] == "special"
    # Its process runs: the automated checks reach the account manager's task in seconds.
    wait_for(
        lambda: admin.tasks(
            processInstanceBusinessKey=started[0], taskDefinitionKey="perform_inspection"
        ),
        timeout=20,
        what="the special inspection to reach perform_inspection",
    )

    # The same event again is a duplicate and starts nothing more.
    again = api.post("/api/v1/external-events", json=event)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["special_inspections"] == []
    assert len(open_specials(api, loan_id)) == 1


def test_negative_news_alone_starts_no_inspection(workers, api):
    loan_id = new_loan(api, account_manager="am_zhang")
    customer_id = api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]
    r = api.post(
        "/api/v1/external-events",
        json={
            "customer_id": customer_id,
            "kind": "negative_news",
            "source": "press",
            "occurred_on": date.today().isoformat(),
            "details": "rumours",
        },
    )
    assert r.status_code == 201 and r.json()["special_inspections"] == []
    assert open_specials(api, loan_id) == []


def test_a_new_overdue_starts_a_special_inspection_and_reclassifies(workers, api):
    loan_id = new_loan(api, account_manager="am_li")
    assert open_specials(api, loan_id) == []
    r = api.post(
        f"/api/v1/loans/{loan_id}/repayments",
        json={"due_on": (date.today() - timedelta(days=5)).isoformat(), "due_amount": "25000"},
    )
    assert r.status_code == 201, r.text
    specials = open_specials(api, loan_id)
    assert len(specials) == 1 and "overdue" in specials[0]["reason"].lower()
    loan = api.get(f"/api/v1/loans/{loan_id}").json()
    assert loan["classification"]["risk_class"] == "special_mention"
    history = api.get(f"/api/v1/loans/{loan_id}/bucket-history").json()
    assert history["delinquency_bucket"] == "1-30"


def test_a_serious_signal_from_the_nightly_scan_starts_one_special_inspection(
    workers, api, provisioned
):
    from gateway.engine import EngineGateway
    from postloanctl.__main__ import start_specials_for_signals

    loan_id = new_loan(api, account_manager="am_li")
    engine = EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )
    assert start_specials_for_signals(provisioned, engine, [(loan_id, 4242)]) == 1
    assert start_specials_for_signals(provisioned, engine, [(loan_id, 4243)]) == 0
    specials = open_specials(api, loan_id)
    assert len(specials) == 1 and "signal 4242" in specials[0]["reason"]
