"""Human tasks × groups: who may take which task, as the contract says, cell by cell.

Static part: every user task of every diagram in ``bpmn/`` has the candidate groups (and, where
the contract names one, the designated assignee) of the contract table — a task added without an
entry here fails. Live part: real tasks of four processes, and a person of every group tries to
claim each; the engine's answer is compared with what the contract admits (a candidate, the
designated person, never the performer of the earlier step).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import PERFORM, new_loan, start_inspection, task_of, wait_for

from gateway import processes
from gateway.engine import EngineError, EngineGateway
from postloan.db import unit_of_work

pytestmark = pytest.mark.engine

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}

#: task key → (candidate groups, designated assignee expression or None): the contract's table.
CONTRACT: dict[str, tuple[frozenset[str], str | None]] = {
    "perform_inspection": (frozenset({"account-managers"}), "${account_manager}"),
    "review_inspection": (frozenset({"postloan-officers"}), None),
    "onsite_verification": (frozenset({"postloan-officers"}), None),
    "confirm_classification": (frozenset({"credit-managers"}), None),
    "resolve_inspection_data": (frozenset({"postloan-officers"}), None),
    "review_visit_batch": (frozenset({"postloan-officers"}), None),
    "supervision_revisit": (frozenset({"postloan-officers"}), None),
    "awaiting_evidence": (frozenset({"account-managers"}), "${owner}"),
    "handle_escalation": (frozenset({"credit-managers"}), None),
    "verify_rectification": (frozenset({"postloan-officers"}), None),
    "approve_restriction_lift": (frozenset({"credit-managers"}), None),
    "approve_credit": (frozenset({"credit-approvers"}), None),
    "follow_up_opportunity": (frozenset({"account-managers"}), "${owner}"),
    # the signals' owner: the owner role's group (assigned at creation to the customer's account
    # manager for account_manager signals); the escalation level's group once escalated
    "respond_to_signals": (frozenset({"${owner_group}"}), None),
    "confirm_signal_response": (frozenset({"postloan-officers"}), None),
    # a lapse's owner per config/reminders.yaml: the account manager (assigned as the task
    # appears, group account-managers), or postloan-officers / credit-managers
    "prevent_lapse": (frozenset({"${lapse_group}"}), None),
    # due-diligence reviews (issue 12): two different credit managers, neither the loan's
    # account manager; the account manager's appeal; its review by one who took no part
    "deliberate_exemption": (frozenset({"credit-managers"}), None),
    "determine_exemption": (frozenset({"credit-managers"}), None),
    "appeal_exemption": (frozenset({"account-managers"}), "${account_manager}"),
    "review_exemption_appeal": (frozenset({"credit-managers"}), None),
}

#: One person of each group (lead_hu holds two roles; sv_ma supervises, holds none).
PEOPLE = {
    "am_li": {"account-managers"},
    "am_zhang": {"account-managers"},
    "lead_hu": {"account-managers", "postloan-officers"},
    "po_chen": {"postloan-officers"},
    "cm_liu": {"credit-managers"},
    "ca_zhao": {"credit-approvers"},
    "au_sun": {"auditors"},
    "vd_fieldco": {"vendors"},
    "sv_ma": {"task-supervisors"},
}


def _user_tasks() -> dict[str, tuple[frozenset[str], str | None]]:
    found = {}
    for path in sorted(BPMN.glob("*.bpmn")):
        for task in ET.parse(path).getroot().iter(f"{{{NS['bpmn']}}}userTask"):
            groups = task.get(f"{{{NS['camunda']}}}candidateGroups") or ""
            found[task.get("id")] = (
                frozenset(g.strip() for g in groups.split(",") if g.strip()),
                task.get(f"{{{NS['camunda']}}}assignee"),
            )
    return found


def test_every_user_task_has_the_contracts_candidates():
    assert _user_tasks() == CONTRACT


def _claim_answer(person: EngineGateway, task_id: str) -> str:
    """'claimed' (then released again), or the control that refused."""
    try:
        person.claim(task_id, person.user)
    except EngineError as exc:
        if "Four-eyes rule" in exc.message:
            return "four-eyes"
        if "Task ownership" in exc.message:
            return "not-theirs"
        if exc.status in (403, 404) or "permission" in exc.message:
            return "no-access"
        raise
    person.set_assignee(task_id, None)
    return "claimed"


def _expected(key: str, user: str, designated: str | None, performers: set[str]) -> str:
    groups, expression = CONTRACT[key]
    if user in performers:
        return "four-eyes"
    if "task-supervisors" in PEOPLE[user]:
        return "no-access"  # may hand every task on (TASK_ASSIGN), claim none himself
    if expression is not None:
        if user == designated:
            return "claimed"
        # candidates of the group may see it, but only the designated person may take it
        return "not-theirs" if PEOPLE[user] & groups else "no-access"
    return "claimed" if PEOPLE[user] & groups else "no-access"


def test_who_may_claim_each_live_task(workers, api, as_user, admin, database, provisioned):
    api_engine = EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )
    live: list[tuple[str, str, str | None, set[str]]] = []  # key, task id, designated, performers

    # An inspection performed by lead_hu: its review must refuse him.
    inspection_id = start_inspection(api, new_loan(api, account_manager="lead_hu"))
    perform = task_of(admin, inspection_id, "perform_inspection")
    as_user("lead_hu").submit_form(perform["id"], PERFORM)
    live.append(
        (
            "review_inspection",
            task_of(admin, inspection_id, "review_inspection")["id"],
            None,
            {"lead_hu"},
        )
    )

    # A fresh inspection of am_zhang's loan, waiting to be performed.
    other = start_inspection(api, new_loan(api, account_manager="am_zhang"))
    live.append(
        ("perform_inspection", task_of(admin, other, "perform_inspection")["id"], "am_zhang", set())
    )

    # A rectification raised by po_chen, owned by am_li.
    loan_id = new_loan(api, account_manager="am_li")
    customer_id = api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]
    with unit_of_work(database) as session:
        item = processes.open_rectification(
            session,
            api_engine,
            customer_id=customer_id,
            loan_id=loan_id,
            source="inspection",
            source_ref="INS-MATRIX",
            title="matrix finding",
            description="Insurance lapsed",
            severity="minor",
            owner="am_li",
            raised_by="po_chen",
        )
    evidence = wait_for(
        lambda: next(
            iter(
                admin.tasks(
                    processInstanceBusinessKey=item.id, taskDefinitionKey="awaiting_evidence"
                )
            ),
            None,
        ),
        what="awaiting_evidence",
    )
    live.append(("awaiting_evidence", evidence["id"], "am_li", set()))

    # A credit application of a clear customer, waiting for the approver.
    r = api.post(
        "/api/v1/credit-applications",
        json={"customer_id": customer_id, "product": "MICRO-OPERATING", "amount": "300000.00"},
    )
    assert r.status_code == 201, r.text
    approve = wait_for(
        lambda: next(
            iter(
                admin.tasks(
                    processInstanceBusinessKey=r.json()["id"], taskDefinitionKey="approve_credit"
                )
            ),
            None,
        ),
        timeout=60,
        what="approve_credit",
    )
    live.append(("approve_credit", approve["id"], None, set()))

    cells: list[tuple[str, str, str, str]] = []
    for key, task_id, designated, performers in live:
        if designated is not None:
            # the designated person holds it at creation: release it so everyone may try
            as_user(designated).set_assignee(task_id, None)
        for user in PEOPLE:
            got = _claim_answer(as_user(user), task_id)
            cells.append((key, user, _expected(key, user, designated, performers), got))
    wrong = [c for c in cells if c[2] != c[3]]
    print(f"tasks x people matrix: {len(cells)} cells, {len(wrong)} wrong")
    assert wrong == [], "\n".join(f"{k} / {u}: expected {e}, got {g}" for k, u, e, g in wrong)


def test_a_supervisor_reassigns_within_the_candidates_only(workers, api, as_user, admin):
    inspection_id = start_inspection(api, new_loan(api, account_manager="am_li"))
    perform = task_of(admin, inspection_id, "perform_inspection")
    sv_ma = as_user("sv_ma")
    for outsider in ("po_chen", "cm_liu", "vd_fieldco"):
        with pytest.raises(EngineError) as err:
            sv_ma.set_assignee(perform["id"], outsider)
        assert "Task ownership" in err.value.message
    sv_ma.set_assignee(perform["id"], "am_zhang")
    assert admin.call("GET", f"/task/{perform['id']}")["assignee"] == "am_zhang"
    # a supervisor cannot do the work himself (the engine gives him no right to work tasks)
    with pytest.raises(EngineError) as err:
        sv_ma.submit_form(perform["id"], PERFORM)
    assert err.value.status == 403 and "TASK_WORK" in err.value.message
