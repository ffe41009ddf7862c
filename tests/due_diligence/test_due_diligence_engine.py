"""Due-diligence reviews against the real engine, workers, API and diagrams: a loan that turns
substandard starts a review with its evidence and the rules' proposal; deliberation and
determination by two different credit managers, neither the loan's account manager, enforced by
the engine on every path of /engine-rest; the appeal window; the appeal reviewed by a credit
manager who took no part."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from helpers import engine_vars, new_loan, refused, task_of, wait_for

from config.settings import get_settings
from gateway.variables import to_engine
from postloan.customers.models import Customer
from postloan.db import unit_of_work
from postloan.due_diligence import config as dd_config
from postloan.loans.models import Loan

pytestmark = pytest.mark.engine

DELIBERATE, DETERMINE = "deliberate_exemption", "determine_exemption"
APPEAL, REVIEW_APPEAL = "appeal_exemption", "review_exemption_appeal"
FOUR_EYES, PROTECTED = ("Four-eyes rule",), ("Protected variable",)


def npl_loan(api, database: str, *, account_manager: str = "am_li", as_manager: str | None = None):
    """A loan registered over REST, then 100 days overdue (substandard at once): its review."""
    loan_id = new_loan(api, account_manager=account_manager)
    if as_manager is not None:  # the person under review holds the credit-managers role too
        with unit_of_work(database) as session:
            loan = session.get(Loan, loan_id)
            assert loan is not None
            customer = session.get(Customer, loan.customer_id)
            assert customer is not None
            customer.account_manager = as_manager
    r = api.post(
        f"/api/v1/loans/{loan_id}/repayments",
        json={"due_on": (date.today() - timedelta(days=100)).isoformat(), "due_amount": "25000"},
    )
    assert r.status_code == 201, r.text
    found = wait_for(
        lambda: api.get("/api/v1/due-diligence-reviews", params={"loan_id": loan_id}).json()[
            "items"
        ],
        what=f"the review of {loan_id}",
    )
    return loan_id, found[0]["id"]


def review_of(api, review_id: int) -> dict:
    r = api.get(f"/api/v1/due-diligence-reviews/{review_id}")
    assert r.status_code == 200, r.text
    return r.json()


DELIBERATION = {
    "deliberation_outcome": "reduced",
    "deliberation_note": "Late second inspection; otherwise complete.",
    "fraud_found": False,
    "collusion_found": False,
    "serious_breach_found": False,
}
DETERMINATION = {"determined_outcome": "reduced", "determination_note": "As deliberated."}


def deliberate_and_determine(as_user, admin, review_id: int, deliberator: str, determiner: str):
    task = task_of(admin, str(review_id), DELIBERATE)
    as_user(deliberator).claim(task["id"], deliberator)
    as_user(deliberator).submit_form(task["id"], DELIBERATION)
    task = task_of(admin, str(review_id), DETERMINE)
    as_user(determiner).claim(task["id"], determiner)
    as_user(determiner).submit_form(task["id"], DETERMINATION)


def test_a_loan_turning_substandard_starts_a_review_with_its_evidence(workers, api, admin):
    loan_id, review_id = npl_loan(api, get_settings().database_url)
    task = task_of(admin, str(review_id), DELIBERATE)
    review = review_of(api, review_id)
    assert (review["trigger"], review["from_class"], review["to_class"]) == (
        "classification",
        "normal",
        "substandard",
    )
    assert review["status"] == "deliberating"
    evidence = review["evidence"]
    assert evidence["loan"]["id"] == loan_id
    # registering the loan requested its first (catch-up) inspection, the overdue a special one
    assert evidence["inspections"], evidence
    for inspection in evidence["inspections"]:
        assert inspection["due_on"] is not None
        date.fromisoformat(inspection["due_on"])
        assert inspection["timeliness"] in ("on_time", "late", "missing", "not_due", "cancelled")
    assert review["proposal"]["outcome"] in ("exempt", "reduced", "full_accountability")
    assert review["proposal"]["reasons"]
    variables = admin.task_variables(task["id"])
    assert variables["account_manager"] == "am_li"
    assert "Inspections:" in variables["evidence_text"]
    assert variables["proposal_text"].startswith("Proposed:")
    # one open review per loan: a request now is a conflict; an unknown loan is 404
    r = api.post("/api/v1/due-diligence-reviews", json={"loan_id": loan_id, "reason": "audit"})
    assert (r.status_code, r.json()["error"]) == (409, "conflict")
    r = api.post("/api/v1/due-diligence-reviews", json={"loan_id": "L-NOBODY", "reason": "x"})
    assert r.status_code == 404
    r = api.post("/api/v1/due-diligence-reviews", json={"loan_id": loan_id})
    assert r.status_code == 422 and "reason" in r.text


def test_four_eyes_on_deliberation_and_determination_over_engine_rest(
    workers, api, admin, as_user, database
):
    """cm_he is the loan's account manager and also a credit manager: only the engine plugin
    stops him; cm_liu deliberates and then cannot determine, whichever way she tries."""
    _loan_id, review_id = npl_loan(api, database, account_manager="am_zhang", as_manager="cm_he")
    key = str(review_id)
    cm_he, cm_liu, cm_gao = as_user("cm_he"), as_user("cm_liu"), as_user("cm_gao")
    task = task_of(admin, key, DELIBERATE)
    tid, pid = task["id"], task["processInstanceId"]
    assert admin.task_variables(tid)["account_manager"] == "cm_he"

    # the account manager cannot take the deliberation, nor be handed it, nor complete it
    refused(lambda: cm_he.claim(tid, "cm_he"), says=FOUR_EYES)
    refused(lambda: admin.set_assignee(tid, "cm_he"), says=FOUR_EYES)
    refused(lambda: cm_he.complete_task(tid, DELIBERATION), says=FOUR_EYES)
    refused(lambda: cm_he.submit_form(tid, DELIBERATION), says=FOUR_EYES)
    # ... nor rewrite who the account manager is
    for attempt in (
        lambda: cm_he.call(
            "PUT", f"/task/{tid}/variables/account_manager", json=to_engine("am_zhang")
        ),
        lambda: cm_he.call(
            "PUT", f"/task/{tid}/localVariables/account_manager", json=to_engine("am_zhang")
        ),
        lambda: admin.call(
            "PUT", f"/process-instance/{pid}/variables/account_manager", json=to_engine("x")
        ),
        lambda: cm_he.call(
            "POST",
            f"/task/{tid}/submit-form",
            json={"variables": engine_vars(account_manager="am_zhang", **DELIBERATION)},
        ),
    ):
        refused(attempt, says=PROTECTED + FOUR_EYES)

    cm_liu.claim(tid, "cm_liu")
    cm_liu.submit_form(tid, DELIBERATION)
    task = task_of(admin, key, DETERMINE)
    did = task["id"]
    assert admin.task_variables(did)["deliberator"] == "cm_liu"
    determine = dict(DETERMINATION)

    # the deliberator cannot determine: claim, assignment, completion, form, delegation
    refused(lambda: cm_liu.claim(did, "cm_liu"), says=FOUR_EYES)
    refused(lambda: admin.set_assignee(did, "cm_liu"), says=FOUR_EYES)
    refused(lambda: cm_liu.complete_task(did, determine), says=FOUR_EYES)
    refused(lambda: cm_liu.submit_form(did, determine), says=FOUR_EYES)
    refused(lambda: cm_he.claim(did, "cm_he"), says=FOUR_EYES)
    # ... nor clear or rewrite the recorded deliberator, on any path
    for attempt in (
        lambda: cm_liu.call(
            "POST",
            f"/task/{did}/complete",
            json={"variables": engine_vars(deliberator="cm_gao", **determine)},
        ),
        lambda: cm_liu.call(
            "POST",
            f"/task/{did}/variables",
            json={"modifications": engine_vars(deliberator="cm_gao")},
        ),
        lambda: cm_liu.call("PUT", f"/task/{did}/variables/deliberator", json=to_engine("cm_gao")),
        lambda: cm_liu.call("DELETE", f"/task/{did}/variables/deliberator"),
        lambda: cm_liu.call(
            "PUT", f"/task/{did}/localVariables/deliberator", json=to_engine("cm_gao")
        ),
        lambda: cm_liu.call(
            "POST",
            f"/task/{did}/localVariables",
            json={"modifications": engine_vars(deliberator="cm_gao")},
        ),
        lambda: admin.call(
            "PUT", f"/process-instance/{pid}/variables/deliberator", json=to_engine("cm_gao")
        ),
        lambda: cm_liu.call(
            "POST", f"/task/{did}/identity-links", json={"userId": "cm_liu", "type": "candidate"}
        ),
    ):
        refused(attempt, says=PROTECTED + FOUR_EYES + ("may not",))
    # a second credit manager who holds the task cannot hand it to the deliberator
    cm_gao.claim(did, "cm_gao")
    refused(
        lambda: cm_gao.call("POST", f"/task/{did}/delegate", json={"userId": "cm_liu"}),
        says=FOUR_EYES + ("may not",),
    )
    assert admin.task_variables(did)["deliberator"] == "cm_liu"
    cm_gao.submit_form(did, determine)

    review = wait_for(
        lambda: (r := review_of(api, review_id))["status"] == "appeal_window" and r,
        what="the determination",
    )
    assert review["deliberation"]["by"] == "cm_liu"
    assert review["determination"]["by"] == "cm_gao"
    assert review["determination"]["outcome"] == "reduced"
    # the appeal task is the account manager's alone; the appeal review refuses all three
    appeal = task_of(admin, key, APPEAL)
    assert appeal["assignee"] == "cm_he"
    assert appeal["due"][:16] == review["determination"]["appeal_deadline"][:16]  # window's end
    cm_he.submit_form(
        appeal["id"], {"appeal_choice": "appeal", "appeal_grounds": "Every visit was on time."}
    )
    rid = task_of(admin, key, REVIEW_APPEAL)["id"]
    for took_part in ("cm_he", "cm_liu", "cm_gao"):
        refused(lambda u=took_part: as_user(u).claim(rid, u), says=FOUR_EYES)
    as_user("cm_xu").claim(rid, "cm_xu")
    as_user("cm_xu").submit_form(
        rid,
        {"appeal_decision": "upheld", "appeal_outcome": None, "appeal_review_note": "Late visit."},
    )
    final = wait_for(
        lambda: (r := review_of(api, review_id))["status"] == "final" and r, what="the outcome"
    )
    assert final["final_outcome"] == "reduced"
    assert final["appeal"]["by"] == "cm_he" and final["appeal"]["reviewed_by"] == "cm_xu"
    # The worker records the outcome, then completes its external task: the instance ends a
    # moment after the review reads final.
    wait_for(
        lambda: (
            admin.historic_process_instances(processInstanceBusinessKey=key)[0]["state"]
            == "COMPLETED"
        ),
        what="the review's process instance to end",
    )


def test_exempt_is_refused_for_fraud_and_the_task_comes_back(workers, api, admin, as_user):
    _loan_id, review_id = npl_loan(api, get_settings().database_url)
    key = str(review_id)
    task = task_of(admin, key, DELIBERATE)
    as_user("cm_liu").claim(task["id"], "cm_liu")
    as_user("cm_liu").submit_form(
        task["id"], {**DELIBERATION, "fraud_found": True, "deliberation_note": "Fake invoices."}
    )
    first = task_of(admin, key, DETERMINE)
    assert "Fraud: may not be exempted" in admin.task_variables(first["id"])["proposal_text"]
    as_user("cm_gao").claim(first["id"], "cm_gao")
    as_user("cm_gao").submit_form(
        first["id"], {"determined_outcome": "exempt", "determination_note": "Trust him."}
    )
    again = wait_for(
        lambda: next(
            (
                t
                for t in admin.tasks(processInstanceBusinessKey=key, taskDefinitionKey=DETERMINE)
                if t["id"] != first["id"]
            ),
            None,
        ),
        what="the determination to come back",
    )
    assert "never exempt" in admin.task_variables(again["id"])["determination_problem"]
    assert review_of(api, review_id)["status"] == "determining"
    as_user("cm_gao").claim(again["id"], "cm_gao")
    as_user("cm_gao").submit_form(
        again["id"], {"determined_outcome": "full_accountability", "determination_note": "Fraud."}
    )
    wait_for(lambda: review_of(api, review_id)["status"] == "appeal_window", what="determined")
    # leave nothing waiting: the account manager accepts
    appeal = task_of(admin, key, APPEAL)
    as_user("am_li").submit_form(
        appeal["id"], {"appeal_choice": "accept", "appeal_grounds": "Accepted."}
    )
    final = wait_for(lambda: (r := review_of(api, review_id))["status"] == "final" and r)
    assert final["final_outcome"] == "full_accountability" and final["appeal"] is None


def test_an_appeal_after_the_window_is_refused(workers, api, admin, as_user, monkeypatch):
    short = dataclasses.replace(dd_config.load(), appeal_window="PT3S")
    monkeypatch.setattr(dd_config, "load", lambda path=None: short)
    _loan_id, review_id = npl_loan(api, get_settings().database_url)
    key = str(review_id)
    deliberate_and_determine(as_user, admin, review_id, "cm_liu", "cm_gao")
    task_of(admin, key, APPEAL)  # the window opens ...
    final = wait_for(  # ... and its timer closes it: the determination is final
        lambda: (r := review_of(api, review_id))["status"] == "final" and r,
        timeout=60,
        what="the appeal window to close",
    )
    assert final["final_outcome"] == "reduced" and final["appeal"] is None
    assert admin.tasks(processInstanceBusinessKey=key) == []
    r = api.post(
        f"/api/v1/due-diligence-reviews/{review_id}/appeal",
        json={"grounds": "Too late?", "appealed_by": "am_li"},
    )
    assert (r.status_code, r.json()["error"]) == (409, "appeal_window_closed"), r.text
    assert admin.tasks(processInstanceBusinessKey=key) == []
    assert review_of(api, review_id)["status"] == "final"


def test_an_appeal_over_rest_within_the_window_goes_to_a_credit_manager_who_took_no_part(
    workers, api, admin, as_user
):
    _loan_id, review_id = npl_loan(api, get_settings().database_url)
    key = str(review_id)
    deliberate_and_determine(as_user, admin, review_id, "cm_gao", "cm_liu")
    task_of(admin, key, APPEAL)
    url = f"/api/v1/due-diligence-reviews/{review_id}/appeal"
    r = api.post(url, json={"grounds": "Not mine", "appealed_by": "am_zhang"})
    assert r.status_code == 422 and r.json()["field"] == "appealed_by", r.text
    r = api.post(
        url,
        json={"grounds": "The visit was rescheduled by the customer."} | {"appealed_by": "am_li"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["appeal"]["grounds"].startswith("The visit was rescheduled")
    rid = task_of(admin, key, REVIEW_APPEAL)["id"]
    assert admin.tasks(processInstanceBusinessKey=key, taskDefinitionKey=APPEAL) == []
    assert "rescheduled" in admin.task_variables(rid)["appeal_grounds_text"]
    refused(lambda: as_user("cm_gao").claim(rid, "cm_gao"), says=FOUR_EYES)
    refused(lambda: as_user("cm_liu").claim(rid, "cm_liu"), says=FOUR_EYES)
    as_user("cm_he").claim(rid, "cm_he")
    as_user("cm_he").submit_form(
        rid,
        {
            "appeal_decision": "changed",
            "appeal_outcome": "exempt",
            "appeal_review_note": "The customer moved the visit; the bank agreed in writing.",
        },
    )
    final = wait_for(lambda: (r := review_of(api, review_id))["status"] == "final" and r)
    assert (final["final_outcome"], final["appeal"]["decision"]) == ("exempt", "changed")
    r = api.post(url, json={"grounds": "again", "appealed_by": "am_li"})
    assert r.status_code == 409


def test_the_engine_and_the_python_evaluation_of_exemption_rules_agree(admin):
    """The unit tests evaluate the table in Python; the process evaluates it in the engine (a
    business rule task, hit policy COLLECT): both give the same rules for every kind of case."""
    from tests.due_diligence.test_exemption_rules import CLEAN, TABLE

    cases = [
        {},
        {"fraud": True},
        {"collusion": True, "serious_breach": True},
        {"first_inspection_skipped": True, "all_actions_on_time": False, "lapses": 1},
        {"all_actions_on_time": False, "lapses": 2, "npl_band": "general"},
        {"all_actions_on_time": False, "lapses": 1, "npl_band": "strict"},
        {"loan_type": "farmer", "amount": 6_000_000.0},
        {"loan_type": "other"},
        {"amount": 10_000_000.0},
    ]
    for change in cases:
        variables = {**CLEAN, **change}
        engine = admin.call(
            "POST",
            "/decision-definition/key/exemption_rules/evaluate",
            json={"variables": engine_vars(**variables)},
        )
        in_engine = [(r["outcome"]["value"], r["reason"]["value"]) for r in engine]
        in_python = [(r["outcome"], r["reason"]) for r in TABLE.evaluate(variables)]
        assert in_engine == in_python, change
