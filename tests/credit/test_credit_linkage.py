"""Credit approval linkage against the real engine, the real diagrams and the real workers.

The origination system is outside our system: a real local HTTP server (``http.server`` on a
free port, in a thread) stands in for it, verifies each signature and counts deliveries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from helpers import new_loan, wait_for
from sqlalchemy import select

from config.settings import get_settings
from postloan.credit import webhook
from postloan.credit.models import WebhookDelivery
from postloan.db import unit_of_work
from postloan.rectifications.models import Rectification, Restriction

pytestmark = pytest.mark.engine


class Origination:
    """What the fake origination system saw: every request, and which events fail once."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first: set[str] = set()
        self.lock = threading.Lock()

    def delivered(self, event_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["event_id"] == event_id and r["answer"] == 200]

    def attempts(self, event_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["event_id"] == event_id]


@pytest.fixture(scope="module")
def origination() -> Iterator[tuple[str, Origination]]:
    seen = Origination()
    secret = get_settings().origination_webhook_secret.get_secret_value()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            # the header carries the outbox message id (what a receiver dedupes on); the
            # tests find an event by its key: application id + final status
            header_id = self.headers.get(webhook.EVENT_HEADER, "")
            data = json.loads(raw)
            event_id = f"{data.get('application_id')}:{data.get('status')}"
            valid = webhook.verify(raw, secret, self.headers.get(webhook.SIGNATURE_HEADER, ""))
            with seen.lock:
                failing = event_id in seen.fail_first and not any(
                    r["event_id"] == event_id for r in seen.requests
                )
                answer = 500 if failing else (200 if valid else 401)
                seen.requests.append(
                    {
                        "event_id": event_id,
                        "valid": valid,
                        "answer": answer,
                        "body": data,
                        "header_id": header_id,
                    }
                )
            self.send_response(answer)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/credit", seen
    server.shutdown()


@pytest.fixture
def pushed_to(origination, monkeypatch) -> Origination:
    url, seen = origination
    monkeypatch.setattr(get_settings(), "origination_webhook_url", url)
    return seen


def _customer_of(api, loan_id: str) -> str:
    return api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]


def _first_checks_done(api, customer_id: str) -> None:
    """Wait until the first inspection's checks have raised their (minor) signals."""
    wait_for(
        lambda: api.get("/api/v1/signals", params={"customer_id": customer_id}).json()["total"],
        timeout=60,
        what="the first inspection's checks to raise their signals",
    )


def _apply(api, customer_id: str) -> str:
    r = api.post(
        "/api/v1/credit-applications",
        json={"customer_id": customer_id, "product": "MICRO-OPERATING", "amount": "300000.00"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("CA-") and body["currency"] == "CNY"
    assert body["process_instance_id"]
    return body["id"]


def _status(api, application_id: str, wanted: str) -> dict:
    return wait_for(
        lambda: (lambda b: b if b["status"] == wanted else None)(
            api.get(f"/api/v1/credit-applications/{application_id}").json()
        ),
        timeout=60,
        what=f"{application_id} {wanted}",
    )


def _approve_task(gateway, application_id: str) -> dict:
    return wait_for(
        lambda: next(
            iter(
                gateway.tasks(
                    processInstanceBusinessKey=application_id, taskDefinitionKey="approve_credit"
                )
            ),
            None,
        ),
        timeout=60,
        what=f"approve_credit of {application_id}",
    )


def _ended_at(admin, application_id: str) -> str:
    def ended() -> str | None:
        (instance,) = admin.historic_process_instances(processInstanceBusinessKey=application_id)
        if instance["state"] != "COMPLETED":
            return None
        found = admin.historic_activities(
            processInstanceId=instance["id"], activityType="noneEndEvent"
        )
        return found[0]["activityId"] if found else None

    return wait_for(ended, timeout=60, what=f"end of {application_id}")


def test_unknown_customer_is_refused_naming_the_field(api) -> None:
    r = api.post(
        "/api/v1/credit-applications",
        json={"customer_id": "C-nobody", "product": "MICRO-OPERATING", "amount": "1000.00"},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "customer_id"
    assert api.get("/api/v1/credit-applications/CA-000000000000").status_code == 404


def test_restricted_customer_is_blocked_with_reasons_and_pushed_once(
    workers, api, admin, database, pushed_to
) -> None:
    customer_id = _customer_of(api, new_loan(api, account_manager="am_li"))
    with unit_of_work(database) as session:
        session.add(
            Restriction(
                customer_id=customer_id,
                kind="new_business_restriction",
                reason="Serious rectification R-test overdue",
                status="active",
                started_by="po_chen",
            )
        )
    application_id = _apply(api, customer_id)

    blocked = _status(api, application_id, "blocked")
    assert blocked["gate_decision"] == "block"
    assert blocked["gate_reasons"][0].startswith("Customer under restriction")
    assert any("Serious rectification R-test overdue" in r for r in blocked["gate_reasons"])
    assert blocked["dossier"]["restrictions"][0]["kind"] == "new_business_restriction"
    assert _ended_at(admin, application_id) == "application_blocked"

    event = f"{application_id}:blocked"
    wait_for(lambda: pushed_to.delivered(event), timeout=30, what="webhook delivery")
    (delivery,) = pushed_to.delivered(event)
    assert delivery["valid"]
    assert delivery["body"]["status"] == "blocked"
    assert delivery["body"]["gate_decision"] == "block"
    assert delivery["body"]["gate_reasons"] == blocked["gate_reasons"]
    assert not admin.tasks(processInstanceBusinessKey=application_id)


def test_clear_application_reaches_the_approver_who_approves_pushed_once_after_a_500(
    workers, api, admin, as_user, database, pushed_to
) -> None:
    # disbursed two months ago: the use of funds is not yet due for verification, so the first
    # inspection's checks raise nothing orange or red (a 400-day-old loan's would, and whether the
    # gate saw that signal depended on how fast the checks ran)
    customer_id = _customer_of(api, new_loan(api, account_manager="am_li", disbursed_days_ago=60))
    _first_checks_done(api, customer_id)
    application_id = _apply(api, customer_id)
    event = f"{application_id}:approved"
    pushed_to.fail_first.add(event)

    ca_zhao = as_user("ca_zhao")
    task = _approve_task(ca_zhao, application_id)
    variables = ca_zhao.task_variables(task["id"])
    assert variables["gate_decision"] == "clear"
    assert variables["active_restrictions"] == 0
    assert variables["worst_class"] == "normal"
    assert customer_id in variables["dossier_summary"]
    assert variables["account_manager"] == "am_li"

    waiting = api.get(f"/api/v1/credit-applications/{application_id}").json()
    assert waiting["status"] == "awaiting_approval"
    assert waiting["gate_reasons"] == ["No post-loan concern"]
    dossier = waiting["dossier"]
    assert dossier["customer"]["id"] == customer_id
    assert [loan["risk_class"] for loan in dossier["loans"]] == ["normal"]
    assert "inspections_on_time" in dossier["account_manager_indicators"]
    assert "meaning" in dossier["account_manager_indicators"]["inspections_on_time"]

    ca_zhao.claim(task["id"], "ca_zhao")
    ca_zhao.submit_form(
        task["id"],
        {
            "credit_decision": "approve",
            "credit_comment": "Post-loan record is clean.",
            "post_loan_quality": "good",
        },
    )

    approved = _status(api, application_id, "approved")
    assert approved["decided_by"] == "ca_zhao"
    assert approved["quality_rating"] == "good"
    assert approved["decision_comment"] == "Post-loan record is clean."
    assert _ended_at(admin, application_id) == "application_decided"

    # the push is owed through the outbox: the process has ended, the relay retries after
    # its backoff
    wait_for(lambda: pushed_to.delivered(event), timeout=30, what="webhook retry")
    assert len(pushed_to.attempts(event)) == 2  # the first answered 500, the retry succeeded
    # one event id for both attempts: the outbox message's id
    assert len({a["header_id"] for a in pushed_to.attempts(event)}) == 1
    assert pushed_to.attempts(event)[0]["header_id"].isdigit()
    time.sleep(3)  # nothing else arrives later
    (delivery,) = pushed_to.delivered(event)
    assert len(pushed_to.attempts(event)) == 2
    assert delivery["valid"]
    assert delivery["body"] == {
        **delivery["body"],
        "application_id": application_id,
        "status": "approved",
        "decision": "approved",
        "quality_rating": "good",
        "gate_decision": "clear",
    }
    with unit_of_work(database) as session:
        row = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event_key == event)
        ).one()
        assert row.attempts == 2 and row.delivered_at is not None and row.last_error is None


def test_poor_rating_opens_a_rectification_of_the_post_loan_work(
    workers, api, admin, as_user, database, pushed_to
) -> None:
    customer_id = _customer_of(api, new_loan(api, account_manager="am_zhang"))
    application_id = _apply(api, customer_id)
    ca_zhao = as_user("ca_zhao")
    task = _approve_task(ca_zhao, application_id)
    ca_zhao.claim(task["id"], "ca_zhao")
    ca_zhao.submit_form(
        task["id"],
        {
            "credit_decision": "reject",
            "credit_comment": "Dossier too thin to judge.",
            "post_loan_quality": "poor",
            "post_loan_quality_comment": "No inspection report in a year; signals unanswered.",
        },
    )

    rejected = _status(api, application_id, "rejected")
    assert rejected["quality_rating"] == "poor"
    assert _ended_at(admin, application_id) == "application_decided"
    with unit_of_work(database) as session:
        (item,) = session.scalars(
            select(Rectification).where(
                Rectification.source == "approval_rating",
                Rectification.source_ref == application_id,
            )
        ).all()
        assert item.customer_id == customer_id and item.loan_id is None
        assert item.owner == "am_zhang" and item.raised_by == "ca_zhao"
        assert item.severity == "major"
        assert item.description == "No inspection report in a year; signals unanswered."
        assert item.process_instance_id
    wait_for(
        lambda: pushed_to.delivered(f"{application_id}:rejected"),
        timeout=30,
        what="webhook delivery",
    )


def test_without_a_url_the_push_is_recorded_as_skipped(
    workers, api, admin, database, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "origination_webhook_url", "")
    customer_id = _customer_of(api, new_loan(api, account_manager="am_li"))
    with unit_of_work(database) as session:
        session.add(
            Restriction(
                customer_id=customer_id,
                kind="disbursement_freeze",
                reason="test freeze",
                status="lift_requested",
                started_by="po_chen",
            )
        )
    application_id = _apply(api, customer_id)
    _status(api, application_id, "blocked")
    assert _ended_at(admin, application_id) == "application_blocked"
    with unit_of_work(database) as session:
        row = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.application_id == application_id)
        ).one()
        assert row.last_error == webhook.SKIPPED and row.delivered_at is None


def test_orange_signal_makes_it_conditional_and_the_approver_sees_why(
    workers, api, as_user, database, pushed_to
) -> None:
    from datetime import UTC, date, datetime, timedelta

    from postloan.signals.models import RiskSignal

    # a loan whose own checks raise nothing orange (see the clear application): the test's
    # signal is then the one orange signal, whenever the first inspection's checks finish
    customer_id = _customer_of(api, new_loan(api, account_manager="am_li", disbursed_days_ago=60))
    _first_checks_done(api, customer_id)
    with unit_of_work(database) as session:
        session.add(
            RiskSignal(
                code="TAX_ARREARS",
                customer_id=customer_id,
                severity="orange",
                owner_role="account_manager",
                status="open",
                summary="Tax arrears reported",
                source="external",
                dedupe_key=f"TAX_ARREARS:{customer_id}:test",
                respond_by=date.today() + timedelta(days=10),
                last_seen_at=datetime.now(UTC),
            )
        )
    application_id = _apply(api, customer_id)
    ca_zhao = as_user("ca_zhao")
    task = _approve_task(ca_zhao, application_id)
    variables = ca_zhao.task_variables(task["id"])
    assert variables["gate_decision"] == "conditional"
    assert variables["gate_reason"] == "Open orange early-warning signal"
    assert "Open orange signal TAX_ARREARS: Tax arrears reported" in variables["gate_reasons_text"]
    waiting = api.get(f"/api/v1/credit-applications/{application_id}").json()
    assert waiting["status"] == "awaiting_approval"
    assert waiting["gate_decision"] == "conditional"
    assert waiting["dossier"]["signals"][0]["code"] == "TAX_ARREARS"
