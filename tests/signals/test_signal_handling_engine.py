"""Risk signals become work (process ``risk_signal_handling``) against the real engine, workers,
API and diagrams: one task per customer for the signals' owner, joins, responses, four eyes on
the confirmation, escalation by deadline, signals the facts clear."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import engine_vars, refused, wait_for
from sqlalchemy import func, select

from gateway.variables import to_engine
from postloan.customers import service as customers
from postloan.db import unit_of_work, utcnow
from postloan.inspections import service as inspections
from postloan.loans import service as loans
from postloan.loans.models import Repayment
from postloan.outbox.models import OutboxMessage
from postloan.rectifications.models import Rectification
from postloan.signals import handling, service
from postloan.signals.catalogue import EarlyWarningCatalogue
from postloan.signals.models import RiskSignal, SignalHandling

pytestmark = pytest.mark.engine

CATALOGUE = EarlyWarningCatalogue.from_file()
PROBE = Path(__file__).resolve().parents[1] / "checks" / "fixtures" / "checks_probe.bpmn"
RESPOND, CONFIRM = "respond_to_signals", "confirm_signal_response"


# -- set-up -----------------------------------------------------------------------------------


def customer_with_loan(database: str, *, account_manager: str = "am_li", overdue_days: int = 0):
    """A customer and a loan as a bulk import loads them (no inspection starts by itself)."""
    suffix = uuid.uuid4().hex[:8]
    today = date.today()
    with unit_of_work(database) as session:
        customers.register(
            session,
            customers.CustomerData(
                id=f"C-{suffix}",
                name=f"Signals Co {suffix}",
                segment="micro",
                industry="textiles",
                branch="BR-SH-01",
                account_manager=account_manager,
                credit_rating="BBB",
            ),
            actor="import",
        )
        loans.register(
            session,
            loans.LoanData(
                id=f"L-{suffix}",
                customer_id=f"C-{suffix}",
                product="MICRO-OPERATING",
                amount=Decimal("500000"),
                currency="CNY",
                disbursed_on=today - timedelta(days=400),
                maturity_on=today + timedelta(days=330),
                purpose="purchase of raw materials",
            ),
            actor="import",
        )
        if overdue_days:
            loans.record_repayment(
                session,
                f"L-{suffix}",
                loans.RepaymentData(
                    due_on=today - timedelta(days=overdue_days),
                    due_amount=Decimal("25000"),
                    paid_on=None,
                    paid_amount=Decimal("0"),
                ),
                actor="import",
            )
    return f"C-{suffix}", f"L-{suffix}"


def raise_signal(database: str, customer_id: str, loan_id: str | None, code: str) -> int:
    with unit_of_work(database) as session:
        signal, new = service.raise_signal(
            session,
            code=code,
            customer_id=customer_id,
            loan_id=loan_id,
            summary=f"{code} seen in a test",
            evidence={"test": True},
            source="test",
            catalogue=CATALOGUE,
            now=utcnow(),
        )
        assert new
        return signal.id


def respond_tasks(engine: Any, customer_id: str, key: str = RESPOND) -> list[dict]:
    return engine.tasks(processInstanceBusinessKey=customer_id, taskDefinitionKey=key)


def the_task(engine: Any, customer_id: str, key: str = RESPOND, *, other_than: str | None = None):
    """The one open task of ``key`` for the customer (a new one when ``other_than`` is given)."""

    def found() -> dict | None:
        tasks = respond_tasks(engine, customer_id, key)
        assert len(tasks) <= 1, tasks
        return tasks[0] if tasks and tasks[0]["id"] != other_than else None

    return wait_for(found, timeout=45, what=f"task {key} of {customer_id}")


def candidates(admin: Any, task_id: str) -> set[str]:
    links = admin.call("GET", f"/task/{task_id}/identity-links")
    return {link["groupId"] for link in links if link["type"] == "candidate" and link["groupId"]}


def signal_row(database: str, signal_id: int) -> RiskSignal:
    with unit_of_work(database) as session:
        row = session.get(RiskSignal, signal_id)
        session.expunge(row)
        return row


def instances(admin: Any, customer_id: str) -> list[dict]:
    return admin.call(
        "GET",
        "/process-instance",
        params={"processDefinitionKey": "risk_signal_handling", "businessKey": customer_id},
    )


def answers(**given: Any) -> dict[str, Any]:
    return {**handling.empty_answers(), **given}


def actions_in_history(api: Any, signal_id: int) -> list[tuple[str, str]]:
    r = api.get(f"/api/v1/signals/{signal_id}/history")
    assert r.status_code == 200, r.text
    return [(e["action"], e["actor"]) for e in r.json()["events"]]


# -- tests ------------------------------------------------------------------------------------


def test_a_red_signal_is_one_task_for_its_owner_and_a_second_signal_joins_it(
    workers, api, admin, database
):
    customer_id, loan_id = customer_with_loan(database)
    first = raise_signal(database, customer_id, None, "LITIGATION")  # red, post-loan officer
    task = the_task(admin, customer_id)
    row = signal_row(database, first)
    assert candidates(admin, task["id"]) == {"postloan-officers"}
    assert task["assignee"] is None
    assert task["priority"] == handling.rules().priorities["red"]
    due = datetime.fromisoformat(task["due"].replace("+0000", "+00:00"))
    assert due.astimezone(UTC).date() == row.respond_by
    assert "1 signal" in task["name"] and f"Signals Co {customer_id[2:]}" in task["name"]
    assert row.handling_state == "awaiting_response" and row.handling_id is not None

    # A second signal of the same customer joins the open handling: still one task, showing both.
    second = raise_signal(database, customer_id, loan_id, "REVENUE_DROP_30")  # orange
    joined = the_task(admin, customer_id, other_than=task["id"])
    assert "2 signals" in joined["name"]
    assert len(respond_tasks(admin, customer_id)) == 1
    assert len(instances(admin, customer_id)) == 1
    assert signal_row(database, second).handling_id == row.handling_id
    options = admin.task_variables(joined["id"])["signal_options"]
    assert {o["value"] for o in options} == {str(first), str(second)}
    # The most severe signal decides owner, due date and priority.
    assert candidates(admin, joined["id"]) == {"postloan-officers"}
    assert joined["priority"] == handling.rules().priorities["red"]
    with unit_of_work(database) as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(SignalHandling)
                .where(SignalHandling.customer_id == customer_id)
            )
            == 1
        )

    listed = api.get("/api/v1/signals", params={"customer_id": customer_id}).json()["items"]
    assert {(s["id"], s["handling_state"], s["handling_id"]) for s in listed} == {
        (first, "awaiting_response", row.handling_id),
        (second, "awaiting_response", row.handling_id),
    }
    assert [a for a, _ in actions_in_history(api, second)] == ["signal.raised", "signal.joined"]
    assert api.get("/api/v1/signals/999999999/history").status_code == 404


def test_a_signal_below_the_threshold_opens_no_task(workers, admin, database):
    customer_id, _loan_id = customer_with_loan(database)
    blue = raise_signal(database, customer_id, None, "NEGATIVE_NEWS")  # blue < orange
    assert signal_row(database, blue).handling_id is None
    with unit_of_work(database) as session:
        owed = session.scalars(
            select(OutboxMessage).where(OutboxMessage.business_key == customer_id)
        ).all()
    assert [m.payload.get("process_key") for m in owed] == []
    assert instances(admin, customer_id) == []


def test_a_false_positive_needs_a_reason_and_is_counted_per_check(
    workers, api, admin, as_user, database
):
    customer_id, loan_id = customer_with_loan(database, account_manager="am_li")
    signal_id = raise_signal(database, customer_id, loan_id, "REVENUE_DROP_30")  # orange, AM
    before = {
        (c["source"], c["code"]): c["count"]
        for c in api.get("/api/v1/signals/false-positives").json()["items"]
    }
    am_li, po_chen = as_user("am_li"), as_user("po_chen")
    task = the_task(am_li, customer_id)
    assert task["assignee"] == "am_li"
    assert candidates(admin, task["id"]) == {"account-managers"}

    # No reason: not recorded, the task comes back with what is wrong and the answers kept.
    am_li.submit_form(task["id"], answers(false_positives=[str(signal_id)]))
    again = the_task(am_li, customer_id, other_than=task["id"])
    variables = am_li.task_variables(again["id"])
    assert "a false positive needs a reason" in variables["response_error"]
    assert variables["false_positives"] == [str(signal_id)]
    row = signal_row(database, signal_id)
    assert row.status == "open" and row.response_kind is None

    # Unanswered signals are refused the same way.
    am_li.submit_form(again["id"], answers())
    third = the_task(am_li, customer_id, other_than=again["id"])
    assert "not answered" in am_li.task_variables(third["id"])["response_error"]

    am_li.submit_form(
        third["id"],
        answers(
            false_positives=[str(signal_id)],
            false_positive_reason="Seasonal: the revenue of the last quarter is always low",
        ),
    )
    confirm = the_task(po_chen, customer_id, CONFIRM)
    assert signal_row(database, signal_id).handling_state == "awaiting_confirmation"
    po_chen.submit_form(
        confirm["id"], {"confirmation_decision": "approve", "confirmation_comment": "Agreed"}
    )
    wait_for(lambda: instances(admin, customer_id) == [], what="the handling to end")
    row = signal_row(database, signal_id)
    assert (row.status, row.handling_state, row.response_kind) == (
        "resolved",
        "done",
        "false_positive",
    )
    assert (row.responded_by, row.confirmed_by) == ("am_li", "po_chen")
    after = {
        (c["source"], c["code"]): c["count"]
        for c in api.get("/api/v1/signals/false-positives").json()["items"]
    }
    assert after[("test", "REVENUE_DROP_30")] == before.get(("test", "REVENUE_DROP_30"), 0) + 1
    assert actions_in_history(api, signal_id) == [
        ("signal.raised", "worker"),
        ("signal.joined", "worker"),
        ("signal.responded", "am_li"),
        ("signal.confirmed", "po_chen"),
        ("signal.resolved", "po_chen"),
    ]
    with unit_of_work(database) as session:
        closed = session.get(SignalHandling, row.handling_id)
        assert closed.status == "closed"


def test_the_responder_cannot_confirm_their_own_red_response(
    workers, api, admin, as_user, database
):
    """lead_hu is an account manager and a post-loan officer: only the engine plugin stops him
    from confirming his own response to a red signal, through every path of /engine-rest."""
    customer_id, _loan_id = customer_with_loan(database)
    signal_id = raise_signal(database, customer_id, None, "LITIGATION")  # red, officers
    lead_hu, po_chen = as_user("lead_hu"), as_user("po_chen")
    task = the_task(lead_hu, customer_id)
    lead_hu.claim(task["id"], "lead_hu")
    lead_hu.submit_form(
        task["id"], answers(actions_taken=[str(signal_id)], action_text="Called the lawyer")
    )
    confirm = the_task(lead_hu, customer_id, CONFIRM)
    cid, pid = confirm["id"], confirm["processInstanceId"]
    assert admin.task_variables(cid)["responder"] == "lead_hu"
    approve = {"confirmation_decision": "approve", "confirmation_comment": "self-confirmed"}
    four_eyes = ("Four-eyes rule",)
    protected = ("Protected variable",)

    refused(lambda: lead_hu.claim(cid, "lead_hu"), says=four_eyes)
    refused(lambda: admin.set_assignee(cid, "lead_hu"), says=four_eyes)
    refused(lambda: lead_hu.complete_task(cid, approve), says=four_eyes)
    refused(lambda: lead_hu.submit_form(cid, approve), says=four_eyes)
    attempts = [
        lambda: lead_hu.call(
            "POST",
            f"/task/{cid}/complete",
            json={"variables": engine_vars(responder="am_zhang", **approve)},
        ),
        lambda: lead_hu.call(
            "POST",
            f"/task/{cid}/submit-form",
            json={"variables": engine_vars(responder="am_zhang", **approve)},
        ),
        lambda: lead_hu.call(
            "POST",
            f"/task/{cid}/variables",
            json={"modifications": engine_vars(responder="am_zhang")},
        ),
        lambda: lead_hu.call("PUT", f"/task/{cid}/variables/responder", json=to_engine("am_zhang")),
        lambda: lead_hu.call("DELETE", f"/task/{cid}/variables/responder"),
        lambda: lead_hu.call(
            "PUT", f"/task/{cid}/localVariables/responder", json=to_engine("am_zhang")
        ),
        lambda: lead_hu.call(
            "POST",
            f"/task/{cid}/localVariables",
            json={"modifications": engine_vars(responder="am_zhang")},
        ),
        lambda: admin.call(
            "PUT", f"/process-instance/{pid}/variables/responder", json=to_engine("am_zhang")
        ),
        lambda: lead_hu.call(
            "POST",
            f"/task/{cid}/complete",
            json={"variables": engine_vars(confirmer="po_chen", **approve)},
        ),
    ]
    for attempt in attempts:
        refused(attempt, says=protected + four_eyes)
    assert admin.task_variables(cid)["responder"] == "lead_hu"
    still = respond_tasks(admin, customer_id, CONFIRM)
    assert [t["id"] for t in still] == [cid] and still[0]["assignee"] is None

    # Another officer sends it back; the owner answers again; the other officer approves.
    po_chen.claim(cid, "po_chen")
    po_chen.submit_form(
        cid, {"confirmation_decision": "send_back", "confirmation_comment": "Which lawyer? When?"}
    )
    back = the_task(lead_hu, customer_id)
    assert "Which lawyer? When?" in admin.task_variables(back["id"])["signals_summary"]
    assert signal_row(database, signal_id).handling_state == "sent_back"
    lead_hu.submit_form(
        back["id"],
        answers(actions_taken=[str(signal_id)], action_text="Lawyer Wang, hearing on 3 March"),
    )
    confirm = the_task(po_chen, customer_id, CONFIRM, other_than=cid)
    po_chen.submit_form(
        confirm["id"], {"confirmation_decision": "approve", "confirmation_comment": "Good"}
    )
    wait_for(lambda: instances(admin, customer_id) == [], what="the handling to end")
    row = signal_row(database, signal_id)
    assert (row.status, row.responded_by, row.confirmed_by) == ("resolved", "lead_hu", "po_chen")
    assert row.resolution == "action taken: Lawyer Wang, hearing on 3 March"
    assert [a for a, _ in actions_in_history(api, signal_id)] == [
        "signal.raised",
        "signal.joined",
        "signal.responded",
        "signal.sent_back",
        "signal.responded",
        "signal.confirmed",
        "signal.resolved",
    ]


def test_a_rectification_response_opens_a_rectification(workers, admin, as_user, database):
    customer_id, loan_id = customer_with_loan(database, account_manager="am_li")
    signal_id = raise_signal(database, customer_id, loan_id, "ARREARS_RISING")  # orange, AM
    am_li, po_chen = as_user("am_li"), as_user("po_chen")
    task = the_task(am_li, customer_id)
    am_li.submit_form(
        task["id"],
        answers(rectifications_raised=[str(signal_id)], rectification_text="Repayment plan due"),
    )
    confirm = the_task(po_chen, customer_id, CONFIRM)
    po_chen.submit_form(
        confirm["id"], {"confirmation_decision": "approve", "confirmation_comment": "Yes"}
    )
    row = wait_for(
        lambda: (r := signal_row(database, signal_id)).rectification_id and r,
        what="the rectification",
    )
    with unit_of_work(database) as session:
        item = session.get(Rectification, row.rectification_id)
        assert (item.customer_id, item.loan_id, item.raised_by) == (customer_id, loan_id, "am_li")
        assert item.severity == handling.rules().rectification_severity["orange"]
        assert item.description == "Repayment plan due"
    wait_for(
        lambda: admin.call(
            "GET",
            "/process-instance",
            params={"processDefinitionKey": "rectification", "businessKey": row.rectification_id},
        ),
        what="the rectification process",
    )


def _timer_of(admin: Any, pid: str) -> dict:
    return wait_for(
        lambda: next(
            iter(admin.call("GET", "/job", params={"processInstanceId": pid, "timers": "true"})),
            None,
        ),
        what="the response deadline timer",
    )


def test_a_passed_deadline_escalates_one_level_at_a_time(workers, api, admin, database):
    customer_id, loan_id = customer_with_loan(database, account_manager="am_li")
    signal_id = raise_signal(database, customer_id, loan_id, "REVENUE_DROP_30")  # orange, AM
    task = the_task(admin, customer_id)
    assert task["assignee"] == "am_li" and not task["name"].startswith("Escalated")
    levels = handling.rules().escalation_levels

    admin.call("POST", f"/job/{_timer_of(admin, task['processInstanceId'])['id']}/execute")
    escalated = the_task(admin, customer_id, other_than=task["id"])
    assert escalated["name"].startswith("Escalated (level 1)")
    assert escalated["assignee"] is None
    assert candidates(admin, escalated["id"]) == {levels[0].group}
    due = datetime.fromisoformat(escalated["due"].replace("+0000", "+00:00"))
    assert abs(due - (datetime.now(UTC) + timedelta(days=levels[0].days))) < timedelta(minutes=5)
    row = signal_row(database, signal_id)
    assert row.status == "escalated" and row.escalated_at is not None

    admin.call("POST", f"/job/{_timer_of(admin, escalated['processInstanceId'])['id']}/execute")
    higher = the_task(admin, customer_id, other_than=escalated["id"])
    assert higher["name"].startswith("Escalated (level 2)")
    assert candidates(admin, higher["id"]) == {levels[1].group}
    history = api.get(f"/api/v1/signals/{signal_id}/history").json()["events"]
    assert [e["detail"]["to_group"] for e in history if e["action"] == "signal.escalated"] == [
        levels[0].group,
        levels[1].group,
    ]


@pytest.fixture(scope="module")
def probe(admin) -> str:
    admin.call(
        "POST",
        "/deployment/create",
        data={"deployment-name": "checks-probe"},
        files=[("checks_probe.bpmn", ("checks_probe.bpmn", PROBE.read_bytes(), "text/xml"))],
    )
    return "checks_probe"


def _run_probe(admin: Any, inspection_id: str) -> dict:
    pid = admin.start_process("checks_probe", inspection_id, {"inspection_id": inspection_id})

    def finished() -> bool:
        found = admin.historic_process_instances(processInstanceId=pid)
        return bool(found) and found[0]["state"] == "COMPLETED"

    wait_for(finished, timeout=60, what="the checks probe to complete")
    rows = admin.call("GET", "/history/variable-instance", params={"processInstanceId": pid})
    return {r["name"]: r["value"] for r in rows}


def test_a_paid_overdue_closes_its_signal_and_its_task_item(workers, admin, probe, database):
    """The arrears paid, the next repayment check closes the overdue signal with the evidence;
    the customer's task is prepared again without it."""
    customer_id, loan_id = customer_with_loan(database, overdue_days=95)
    with unit_of_work(database) as session:
        inspection_id = inspections.request(
            session, loan_id=loan_id, kind="special", reason="signals test", actor="test"
        ).id
    assert _run_probe(admin, inspection_id)["days_past_due"] == 95
    with unit_of_work(database) as session:
        overdue = session.scalars(
            select(RiskSignal).where(
                RiskSignal.loan_id == loan_id, RiskSignal.code == "OVERDUE_90_PLUS"
            )
        ).one()
        overdue_id = overdue.id
        in_task = session.scalars(
            select(RiskSignal.id).where(
                RiskSignal.customer_id == customer_id, RiskSignal.handling_id.is_not(None)
            )
        ).all()
    assert overdue_id in in_task and len(in_task) >= 2
    task = wait_for(
        lambda: next(
            (
                t
                for t in respond_tasks(admin, customer_id)
                if {o["value"] for o in admin.task_variables(t["id"])["signal_options"]}
                == {str(i) for i in in_task}
            ),
            None,
        ),
        timeout=45,
        what="the task with every signal",
    )
    with unit_of_work(database) as session:
        stored = session.scalars(select(Repayment).where(Repayment.loan_id == loan_id)).one()
        loans.amend_repayment(
            session,
            loan_id,
            stored.id,
            loans.RepaymentData(
                due_on=stored.due_on,
                due_amount=stored.due_amount,
                paid_on=date.today(),
                paid_amount=stored.due_amount,
            ),
            reason="arrears paid in full",
            actor="test",
        )
        next_inspection = inspections.request(
            session, loan_id=loan_id, kind="routine", reason="next inspection", actor="test"
        ).id
    assert _run_probe(admin, next_inspection)["days_past_due"] == 0
    row = signal_row(database, overdue_id)
    assert (row.status, row.handling_state) == ("resolved", "closed_by_facts")
    assert row.evidence["cleared_by"]["inspection_id"] == next_inspection
    refreshed = the_task(admin, customer_id, other_than=task["id"])
    left = {o["value"] for o in admin.task_variables(refreshed["id"])["signal_options"]}
    assert left == {str(i) for i in in_task} - {str(overdue_id)}


def test_the_last_signal_cleared_by_the_facts_takes_the_task_away(workers, api, admin, database):
    customer_id, loan_id = customer_with_loan(database, overdue_days=40)
    signal_id = raise_signal(database, customer_id, loan_id, "OVERDUE_31_90")  # orange
    the_task(admin, customer_id)
    with unit_of_work(database) as session:
        closed = service.close_cleared(
            session,
            codes={"OVERDUE_31_90"},
            customer_id=customer_id,
            loan_id=loan_id,
            evidence={"days_past_due": 0},
            now=utcnow(),
        )
        assert [s.id for s in closed] == [signal_id]
    wait_for(lambda: instances(admin, customer_id) == [], what="the handling instance to end")
    assert respond_tasks(admin, customer_id) == []
    row = signal_row(database, signal_id)
    assert (row.status, row.handling_state) == ("resolved", "closed_by_facts")
    with unit_of_work(database) as session:
        assert session.get(SignalHandling, row.handling_id).status == "closed"
    assert [a for a, _ in actions_in_history(api, signal_id)] == [
        "signal.raised",
        "signal.joined",
        "signal.closed",
    ]
