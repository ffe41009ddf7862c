"""The ``rectification`` process against the real engine, workers, API and diagrams."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import wait_for
from sqlalchemy import select

from gateway import processes
from gateway.engine import EngineError
from postloan.audit import AuditEvent
from postloan.db import unit_of_work
from postloan.rectifications.models import Rectification

pytestmark = pytest.mark.engine


def open_item(database, api_engine, customer_id, loan_id, severity="serious", **timers):
    with unit_of_work(database) as session:
        item = processes.open_rectification(
            session,
            api_engine,
            customer_id=customer_id,
            loan_id=loan_id,
            source="inspection",
            source_ref="INS-TEST",
            title=f"{severity} finding",
            description="Collateral insurance lapsed",
            severity=severity,
            owner="am_li",
            raised_by="po_chen",
            **timers,
        )
        rec_id = item.id

    def started() -> str | None:  # filled once the outbox delivered the start
        with unit_of_work(database) as session:
            return session.get(Rectification, rec_id).process_instance_id

    return rec_id, wait_for(started, what=f"the process of {rec_id}")


def at(engine, pid, activity):
    try:
        return wait_for(
            lambda: activity in engine.active_activities(pid), what=f"{activity} reached"
        )
    except pytest.fail.Exception:
        # Say what the instance does instead: its activity tree, its jobs and external tasks.
        print("activity tree:", engine.call("GET", f"/process-instance/{pid}/activity-instances"))
        print("jobs:", engine.call("GET", "/job", params={"processInstanceId": pid}))
        print(
            "external tasks:",
            engine.call("GET", "/external-task", params={"processInstanceId": pid}),
        )
        print(
            "history:",
            engine.call(
                "GET",
                "/history/activity-instance",
                params={"processInstanceId": pid, "sortBy": "startTime", "sortOrder": "asc"},
            ),
        )
        raise


def task(engine, business_key, key):
    return wait_for(
        lambda: next(
            iter(engine.tasks(processInstanceBusinessKey=business_key, taskDefinitionKey=key)), None
        ),
        what=f"task {key}",
    )


def status_of(api, customer_id):
    r = api.get(f"/api/v1/customers/{customer_id}/credit-status")
    assert r.status_code == 200, r.text
    return r.json()


def submit_evidence(api, admin, rec_id, pid, text="Insurance renewed"):
    at(admin, pid, "awaiting_evidence")
    r = api.post(
        f"/api/v1/rectifications/{rec_id}/evidence",
        json={"description": text, "documents": ["policy-2026.pdf"]},
    )
    assert r.status_code == 201, r.text
    return r.json()


def audit_actions(database, rec_id):
    with unit_of_work(database) as session:
        return [
            e.action
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.object_id == rec_id).order_by(AuditEvent.id)
            )
        ]


def test_serious_item_blocks_until_verified_by_another_officer_and_lift_approved(
    workers, api, admin, as_user, api_engine, database, customer_loan
):
    customer_id, loan_id = customer_loan
    rec_id, pid = open_item(database, api_engine, customer_id, loan_id)
    assert rec_id.startswith("REC-") and pid

    blocked = wait_for(
        lambda: (s := status_of(api, customer_id))["restrictions"] and s,
        what="restrictions applied",
    )
    assert blocked["disbursement_allowed"] is False
    assert blocked["new_business_allowed"] is False
    assert {r["kind"] for r in blocked["restrictions"]} == {
        "disbursement_freeze",
        "new_business_restriction",
    }
    assert all(r["rectification_id"] == rec_id for r in blocked["restrictions"])
    assert [o["id"] for o in blocked["open_rectifications"]] == [rec_id]
    assert blocked["open_rectifications"][0]["severity"] == "serious"
    assert "rectification.customer_notified" in audit_actions(database, rec_id)

    submit_evidence(api, admin, rec_id, pid)
    verify = task(admin, rec_id, "verify_rectification")
    assert admin.task_variables(verify["id"])["evidence_summary"].count("Insurance renewed") == 1

    po_chen, po_wang, cm_liu = as_user("po_chen"), as_user("po_wang"), as_user("cm_liu")
    with pytest.raises(EngineError) as err:  # the raiser may not verify (four eyes)
        po_chen.submit_form(
            verify["id"], {"verification_decision": "accept", "verification_comment": "self-check"}
        )
    assert err.value.status == 403 and "Four-eyes rule" in err.value.message
    po_wang.claim(verify["id"], "po_wang")
    po_wang.submit_form(
        verify["id"], {"verification_decision": "accept", "verification_comment": "policy seen"}
    )

    lift = task(admin, rec_id, "approve_restriction_lift")
    still = status_of(api, customer_id)  # verified, but not lifted yet: still blocked
    assert (still["disbursement_allowed"], still["new_business_allowed"]) == (False, False)
    assert still["open_rectifications"] == []
    cm_liu.submit_form(lift["id"], {"lift_decision": "approve", "lift_comment": "ok"})

    cleared = wait_for(
        lambda: (s := status_of(api, customer_id))["disbursement_allowed"] and s,
        what="restrictions lifted",
    )
    assert cleared["new_business_allowed"] is True and cleared["restrictions"] == []
    history = api.get(f"/api/v1/customers/{customer_id}/restrictions").json()["items"]
    assert len(history) == 2
    assert {(h["status"], h["lift_approved_by"], h["lift_requested_by"]) for h in history} == {
        ("lifted", "cm_liu", "po_wang")
    }
    body = api.get(f"/api/v1/rectifications/{rec_id}").json()
    assert (body["status"], body["verified_by"], body["raised_by"]) == (
        "closed",
        "po_wang",
        "po_chen",
    )
    assert body["closed_at"] and len(body["evidence"]) == 1 and len(body["restrictions"]) == 2
    wait_for(
        lambda: not admin.historic_process_instances(processInstanceId=pid, active="true"),
        what="process ended",
    )
    r = api.post(f"/api/v1/rectifications/{rec_id}/evidence", json={"description": "late"})
    assert r.status_code == 409, r.text


def test_rejected_evidence_reopens_and_resubmitted_evidence_closes(
    workers, api, admin, as_user, api_engine, database, customer_loan
):
    customer_id, loan_id = customer_loan
    rec_id, pid = open_item(database, api_engine, customer_id, loan_id, severity="minor")
    po_wang = as_user("po_wang")
    submit_evidence(api, admin, rec_id, pid, "first attempt")
    verify = task(admin, rec_id, "verify_rectification")
    po_wang.submit_form(
        verify["id"],
        {"verification_decision": "reject", "verification_comment": "photo unreadable"},
    )
    at(admin, pid, "awaiting_evidence")
    body = api.get(f"/api/v1/rectifications/{rec_id}").json()
    assert (body["status"], body["reopen_count"]) == ("reopened", 1)
    assert status_of(api, customer_id)["disbursement_allowed"] is True  # minor: no restriction

    submit_evidence(api, admin, rec_id, pid, "second attempt")
    verify = task(admin, rec_id, "verify_rectification")
    summary = admin.task_variables(verify["id"])["evidence_summary"]
    assert "first attempt" in summary and "second attempt" in summary
    po_wang.submit_form(
        verify["id"], {"verification_decision": "accept", "verification_comment": "fine now"}
    )
    wait_for(
        lambda: api.get(f"/api/v1/rectifications/{rec_id}").json()["status"] == "closed",
        what="closed",
    )
    wait_for(
        lambda: not admin.historic_process_instances(processInstanceId=pid, active="true"),
        what="process ended",
    )
    assert admin.tasks(processInstanceBusinessKey=rec_id) == []
    actions = audit_actions(database, rec_id)
    assert actions.count("rectification.evidence_submitted") == 2
    assert "rectification.reopened" in actions and actions[-1] == "rectification.closed"


def test_reminder_and_deadline_fire_while_waiting_for_evidence(
    workers, api, admin, as_user, api_engine, database, customer_loan
):
    customer_id, loan_id = customer_loan
    now = datetime.now(UTC)
    rec_id, pid = open_item(
        database,
        api_engine,
        customer_id,
        loan_id,
        severity="major",
        reminder_at=now + timedelta(seconds=2),
        deadline_at=now + timedelta(seconds=4),
    )
    wait_for(
        lambda: api.get(f"/api/v1/rectifications/{rec_id}").json()["status"] == "escalated",
        timeout=60,
        what="escalation",
    )
    wait_for(lambda: "rectification.reminded" in audit_actions(database, rec_id), what="reminder")
    assert "rectification.escalated" in audit_actions(database, rec_id)
    # The escalation reaches the credit managers; the wait for evidence goes on.
    escalation = task(admin, rec_id, "handle_escalation")
    # The reminder's branch, done, waits at the join for the others (nothing is compacted under
    # a person's task), once its asynchronous continuation has run.
    wait_for(
        lambda: (
            sorted(admin.active_activities(pid))
            == ["awaiting_evidence", "handle_escalation", "rectification_done"]
        ),
        what="the reminder's branch at the join",
    )
    assert as_user("cm_liu").tasks(
        processInstanceBusinessKey=rec_id, taskDefinitionKey="handle_escalation"
    )
    assert (
        as_user("am_li").tasks(
            processInstanceBusinessKey=rec_id, taskDefinitionKey="handle_escalation"
        )
        == []
    )
    as_user("cm_liu").submit_form(
        escalation["id"],
        {"escalation_action": "chase_owner", "escalation_comment": "call the owner today"},
    )
    body = api.get(f"/api/v1/rectifications/{rec_id}").json()
    assert body["escalated_at"]
    # evidence still arrives after the escalation and moves the item on
    submit_evidence(api, admin, rec_id, pid)
    task(admin, rec_id, "verify_rectification")


def test_auditor_finding_is_raised_over_rest_and_its_closure_visible_to_the_auditor(
    workers, api, auditor_api, admin, as_user, customer_loan
):
    customer_id, loan_id = customer_loan
    r = api.post(
        "/api/v1/rectifications",
        json={
            "customer_id": customer_id,
            "title": "Use of funds not verified",
            "description": "Audit 2026-Q3 found no evidence of use of funds",
            "severity": "major",
            "owner": "am_li",
        },
    )
    assert r.status_code == 403, r.text  # integrators do not raise audit findings
    r = auditor_api.post(
        "/api/v1/rectifications",
        json={
            "customer_id": customer_id,
            "loan_id": loan_id,
            "title": "Use of funds not verified",
            "description": "Audit 2026-Q3 found no evidence of use of funds",
            "severity": "nasty",
            "owner": "am_li",
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "severity", r.text
    r = auditor_api.post(
        "/api/v1/rectifications",
        json={
            "customer_id": customer_id,
            "loan_id": loan_id,
            "title": "Use of funds not verified",
            "description": "Audit 2026-Q3 found no evidence of use of funds",
            "severity": "major",
            "owner": "am_li",
        },
    )
    assert r.status_code == 201, r.text
    item = r.json()
    rec_id, pid = item["id"], item["process_instance_id"]
    assert item["source"] == "audit" and item["raised_by"].startswith("api:")

    major = wait_for(
        lambda: (s := status_of(api, customer_id))["restrictions"] and s, what="restriction"
    )
    assert (major["disbursement_allowed"], major["new_business_allowed"]) == (True, False)
    listed = auditor_api.get(
        "/api/v1/rectifications", params={"customer_id": customer_id, "status": "open"}
    ).json()
    assert [i["id"] for i in listed["items"]] == [rec_id]

    submit_evidence(api, admin, rec_id, pid)
    verify = task(admin, rec_id, "verify_rectification")
    as_user("po_wang").submit_form(
        verify["id"], {"verification_decision": "accept", "verification_comment": "receipts seen"}
    )
    lift = task(admin, rec_id, "approve_restriction_lift")
    as_user("cm_liu").submit_form(lift["id"], {"lift_decision": "approve"})
    closed = wait_for(
        lambda: (
            (b := auditor_api.get(f"/api/v1/rectifications/{rec_id}").json())["restrictions"][0][
                "status"
            ]
            == "lifted"
            and b
        ),
        what="lifted",
    )
    assert (closed["status"], closed["verified_by"]) == ("closed", "po_wang")
    assert status_of(auditor_api, customer_id)["new_business_allowed"] is True


def test_credit_status_of_an_unknown_customer_is_404(api):
    r = api.get("/api/v1/customers/C-NOBODY-XYZ/credit-status")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_past_dates_escalate_at_once_and_a_kept_restriction_stays(
    workers, api, admin, as_user, api_engine, database, customer_loan
):
    customer_id, loan_id = customer_loan
    past = datetime.now(UTC) - timedelta(days=1)
    rec_id, pid = open_item(
        database,
        api_engine,
        customer_id,
        loan_id,
        severity="critical",
        reminder_at=past,
        deadline_at=past,
    )
    wait_for(
        lambda: api.get(f"/api/v1/rectifications/{rec_id}").json()["status"] == "escalated",
        timeout=60,
        what="escalation",
    )
    wait_for(lambda: "rectification.reminded" in audit_actions(database, rec_id), what="reminder")
    assert admin.incidents(processInstanceId=pid) == []
    submit_evidence(api, admin, rec_id, pid)
    verify = task(admin, rec_id, "verify_rectification")
    as_user("po_wang").submit_form(
        verify["id"], {"verification_decision": "accept", "verification_comment": "done"}
    )
    lift = task(admin, rec_id, "approve_restriction_lift")
    with pytest.raises(EngineError) as err:  # the verifier may not approve the lift
        as_user("po_wang").submit_form(lift["id"], {"lift_decision": "approve"})
    assert err.value.status in (403, 404), err.value
    as_user("cm_liu").submit_form(
        lift["id"], {"lift_decision": "keep", "lift_comment": "wait for next audit"}
    )
    escalation = task(admin, rec_id, "handle_escalation")
    as_user("cm_liu").submit_form(
        escalation["id"], {"escalation_action": "enforce", "escalation_comment": "branch head told"}
    )
    wait_for(
        lambda: not admin.historic_process_instances(processInstanceId=pid, active="true"),
        what="process ended",
    )
    kept = status_of(api, customer_id)
    assert (kept["disbursement_allowed"], kept["new_business_allowed"]) == (False, False)
    assert {r["status"] for r in kept["restrictions"]} == {"active"}
    assert "restriction.lift_refused" in [a for a in _customer_actions(database, customer_id)]


def _customer_actions(database, customer_id):
    with unit_of_work(database) as session:
        return [
            e.action
            for e in session.scalars(
                select(AuditEvent).where(
                    AuditEvent.object_type == "customer", AuditEvent.object_id == customer_id
                )
            )
        ]


def test_the_owner_submits_evidence_in_tasklist(
    workers, api, admin, as_user, api_engine, database, customer_loan
):
    """The same evidence path as POST /evidence, through the owner's task and its form."""
    customer_id, loan_id = customer_loan
    rec_id, pid = open_item(database, api_engine, customer_id, loan_id, severity="minor")
    am_li = as_user("am_li")
    evidence_task = task(am_li, rec_id, "awaiting_evidence")
    assert evidence_task["assignee"] == "am_li"
    am_li.submit_form(
        evidence_task["id"],
        {
            "evidence_description": "Insurance renewed with the same insurer for 2027",
            "evidence_documents": "policy-2027.pdf, receipt-88.pdf",
        },
    )
    verify = task(admin, rec_id, "verify_rectification")
    assert "Insurance renewed" in admin.task_variables(verify["id"])["evidence_summary"]
    body = api.get(f"/api/v1/rectifications/{rec_id}").json()
    assert body["status"] == "evidence_submitted"
    assert body["evidence"][0]["submitted_by"] == "am_li"
    assert body["evidence"][0]["documents"] == ["policy-2027.pdf", "receipt-88.pdf"]
    as_user("po_wang").submit_form(
        verify["id"], {"verification_decision": "accept", "verification_comment": "seen"}
    )
    wait_for(
        lambda: api.get(f"/api/v1/rectifications/{rec_id}").json()["status"] == "closed",
        what="closed",
    )
