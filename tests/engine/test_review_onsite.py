"""The four-eyes review and the unannounced on-site verification of ``post_loan_inspection``.

Real engine, real diagrams, real workers; the people act over REST with their own credentials as
they would in Tasklist. The on-site sample rate of the test environment is 0 (config/onsite.yaml);
a test forces it through ``POSTLOAN_ONSITE_SAMPLE_RATE``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from helpers import PERFORM, new_loan, start_inspection, task_of, wait_for

from gateway.engine import EngineError
from postloan.db import unit_of_work
from postloan.inspections import onsite
from postloan.loans import service as loans

pytestmark = pytest.mark.engine


def answered(items: list[dict], notes: str = "photos 1-4 in the file") -> dict:
    codes = [i["code"] for i in items]
    return {"items_in_order": codes[:-1], "items_not_applicable": codes[-1:], "item_notes": notes}


def inspection(api, inspection_id: str) -> dict:
    return api.get(f"/api/v1/inspections/{inspection_id}").json()


def completed(api, inspection_id: str) -> dict:
    return wait_for(
        lambda: (b := inspection(api, inspection_id))["status"] == "completed" and b,
        what=f"{inspection_id} to complete",
    )


def review(officer, inspection_id: str, user: str, decision: dict) -> None:
    task = task_of(officer, inspection_id, "review_inspection")
    officer.claim(task["id"], user)
    officer.submit_form(task["id"], {"review_comment": "checked", **decision})


def test_sampling_is_deterministic_per_inspection_and_follows_the_rate() -> None:
    ids = [f"INS-{n:06d}" for n in range(2000)]
    assert [onsite.sampled(i, 0.1) for i in ids] == [onsite.sampled(i, 0.1) for i in ids]
    share = sum(onsite.sampled(i, 0.1) for i in ids) / len(ids)
    assert 0.07 < share < 0.13, share
    assert not any(onsite.sampled(i, 0.0) for i in ids)
    assert all(onsite.sampled(i, 1.0) for i in ids)


def test_config_rate_per_environment_and_override(monkeypatch) -> None:
    monkeypatch.delenv(onsite.RATE_ENV, raising=False)
    assert onsite.load_config(env="production").sample_rate == 0.1
    assert onsite.load_config(env="test").sample_rate == 0.0
    monkeypatch.setenv(onsite.RATE_ENV, "1.0")
    assert onsite.load_config(env="production").sample_rate == 1.0
    monkeypatch.setenv(onsite.RATE_ENV, "1.5")
    with pytest.raises(ValueError):
        onsite.load_config()


def test_review_rework_counted_onsite_ordered_hidden_then_discrepancies_rework(
    workers, api, as_user, admin
) -> None:
    inspection_id = start_inspection(api, new_loan(api, account_manager="am_li"))
    am_li, po_chen, po_wang = as_user("am_li"), as_user("po_chen"), as_user("po_wang")

    perform = task_of(am_li, inspection_id, "perform_inspection")
    items = am_li.task_variables(perform["id"])["inspection_items"]
    am_li.submit_form(perform["id"], {**PERFORM, "items_in_order": [items[0]["code"]]})

    # The review shows, computed by the worker, that prescribed actions are missing.
    task = task_of(po_chen, inspection_id, "review_inspection")
    variables = po_chen.task_variables(task["id"])
    assert variables["prescribed_actions_complete"] is False
    assert "Not in order: " + items[1]["label"] in variables["prescribed_actions_summary"]
    assert variables["rework_count"] == 0
    review(
        po_chen,
        inspection_id,
        "po_chen",
        {"review_decision": "rework", "rework_reason": "Evidence missing for points 2+"},
    )

    perform = task_of(am_li, inspection_id, "perform_inspection")
    again = am_li.task_variables(perform["id"])
    assert again["rework_count"] == 1 and again["rework_reason"].startswith("Evidence missing")
    am_li.submit_form(perform["id"], {**PERFORM, **answered(items)})

    task = task_of(po_chen, inspection_id, "review_inspection")
    variables = po_chen.task_variables(task["id"])
    assert variables["prescribed_actions_complete"] is True, variables["prescribed_actions_summary"]
    assert inspection(api, inspection_id)["rework_count"] == 1
    assert inspection(api, inspection_id)["stage"] == "under_review"  # same as the visit's
    review(
        po_chen,
        inspection_id,
        "po_chen",
        {"review_decision": "onsite", "onsite_instructions": "Count the stock in the shed"},
    )

    # The unannounced visit: officers only, nobody assigned, invisible to the account manager.
    visit = task_of(po_wang, inspection_id, "onsite_verification")
    assert visit["assignee"] is None
    assert am_li.tasks(processInstanceBusinessKey=inspection_id) == []
    assert am_li.tasks(taskId=visit["id"]) == []
    with pytest.raises(EngineError) as err:
        am_li.complete_task(visit["id"], {"onsite_result": "confirmed"})
    assert err.value.status in (403, 404)
    body = inspection(api, inspection_id)
    assert body["stage"] == "under_review" and "onsite" not in body["stage"]
    assert po_wang.task_variables(visit["id"])["onsite_instructions"].startswith("Count")
    try:  # nor over the engine's history or the instance's variables
        seen = am_li.historic_tasks(processInstanceBusinessKey=inspection_id)
    except EngineError as exc:
        assert exc.status in (403, 404)
    else:
        assert all(t["taskDefinitionKey"] != "onsite_verification" for t in seen), seen
    with pytest.raises(EngineError) as err:
        am_li.process_variables(visit["processInstanceId"])
    assert err.value.status in (403, 404)

    po_wang.claim(visit["id"], "po_wang")
    po_wang.submit_form(
        visit["id"],
        {"onsite_result": "discrepancies", "onsite_findings": "Half the stock is missing"},
    )
    perform = task_of(am_li, inspection_id, "perform_inspection")
    again = am_li.task_variables(perform["id"])
    assert again["rework_count"] == 2
    assert "Half the stock is missing" in again["rework_reason"]
    assert all(
        f["source"] != "onsite_verification" for f in inspection(api, inspection_id)["findings"]
    ), "the on-site result must not show before the inspection is done"
    am_li.submit_form(perform["id"], {**PERFORM, **answered(items)})
    review(po_chen, inspection_id, "po_chen", {"review_decision": "approve"})

    body = completed(api, inspection_id)
    assert body["rework_count"] == 2
    report = body["report"]
    assert report["rework_count"] == 2
    assert report["onsite_verification"]["result"] == "discrepancies"
    assert report["onsite_verification"]["verifier"] == "po_wang"
    assert report["onsite_verification"]["findings"] == "Half the stock is missing"
    assert any(f["source"] == "onsite_verification" for f in body["findings"])
    page = api.get(f"/api/v1/inspections/{inspection_id}/report.html")
    assert page.status_code == 200


def test_high_risk_loan_always_gets_an_onsite_verification(workers, api, as_user, database):
    loan_id = new_loan(api, account_manager="am_li")
    with unit_of_work(database) as session:  # 95 days unpaid: a red signal, substandard
        loans.record_repayment(
            session,
            loan_id,
            loans.RepaymentData(
                due_on=date.today() - timedelta(days=95),
                due_amount=Decimal("25000"),
                paid_on=None,
                paid_amount=Decimal("0"),
            ),
            actor="import",
        )
    inspection_id = start_inspection(api, loan_id)
    am_li, po_chen, po_wang, cm_liu = (
        as_user(u) for u in ("am_li", "po_chen", "po_wang", "cm_liu")
    )
    perform = task_of(am_li, inspection_id, "perform_inspection")
    items = am_li.task_variables(perform["id"])["inspection_items"]
    am_li.submit_form(perform["id"], {**PERFORM, **answered(items)})
    review(po_chen, inspection_id, "po_chen", {"review_decision": "approve"})

    visit = task_of(po_wang, inspection_id, "onsite_verification")
    assert po_wang.task_variables(visit["id"])["onsite_reason"].startswith("high-risk loan")
    assert am_li.tasks(processInstanceBusinessKey=inspection_id) == []
    assert inspection(api, inspection_id)["stage"] == "under_review"
    po_wang.claim(visit["id"], "po_wang")
    po_wang.submit_form(
        visit["id"],
        {"onsite_result": "confirmed", "onsite_findings": "Workshop running, stock as recorded"},
    )

    confirm = task_of(cm_liu, inspection_id, "confirm_classification")
    cm_liu.claim(confirm["id"], "cm_liu")
    cm_liu.submit_form(
        confirm["id"], {"classification_decision": "confirm", "classification_note": "confirmed"}
    )
    report = completed(api, inspection_id)["report"]
    assert report["onsite_verification"]["result"] == "confirmed"
    assert report["onsite_verification"]["ordered_because"].startswith("high-risk loan")
    assert report["rework_count"] == 0


def test_sampled_inspection_gets_an_onsite_verification(workers, api, as_user, monkeypatch):
    monkeypatch.setenv(onsite.RATE_ENV, "1.0")  # the workers run in this process
    inspection_id = start_inspection(api, new_loan(api, account_manager="am_li"))
    am_li, po_chen, po_wang = as_user("am_li"), as_user("po_chen"), as_user("po_wang")
    perform = task_of(am_li, inspection_id, "perform_inspection")
    am_li.submit_form(perform["id"], PERFORM)
    review(po_chen, inspection_id, "po_chen", {"review_decision": "approve"})
    visit = task_of(po_wang, inspection_id, "onsite_verification")
    assert po_wang.task_variables(visit["id"])["onsite_reason"] == "sampled at rate 1.0"
    po_wang.claim(visit["id"], "po_wang")
    po_wang.submit_form(
        visit["id"], {"onsite_result": "confirmed", "onsite_findings": "as recorded"}
    )
    report = completed(api, inspection_id)["report"]
    assert report["onsite_verification"]["ordered_because"] == "sampled at rate 1.0"


def refused(action) -> None:
    with pytest.raises(EngineError) as err:
        action()
    assert err.value.status == 403, err.value
    assert "Four-eyes rule" in err.value.message and "lead_hu" in err.value.message


def test_inspector_can_never_do_the_onsite_verification(workers, api, as_user, admin) -> None:
    """lead_hu is account manager and post-loan officer: performs, so may not verify on site."""
    inspection_id = start_inspection(api, new_loan(api, account_manager="lead_hu"))
    lead_hu, po_chen, po_wang = as_user("lead_hu"), as_user("po_chen"), as_user("po_wang")
    perform = task_of(lead_hu, inspection_id, "perform_inspection")
    lead_hu.submit_form(perform["id"], PERFORM)
    review(
        po_chen,
        inspection_id,
        "po_chen",
        {"review_decision": "onsite", "onsite_instructions": "check the machines"},
    )

    visit = task_of(lead_hu, inspection_id, "onsite_verification")  # a candidate, as officer
    result = {"onsite_result": "confirmed", "onsite_findings": "self-verified"}
    refused(lambda: lead_hu.claim(visit["id"], "lead_hu"))
    refused(lambda: admin.set_assignee(visit["id"], "lead_hu"))
    refused(lambda: lead_hu.complete_task(visit["id"], result))
    refused(lambda: lead_hu.submit_form(visit["id"], result))
    still_open = admin.tasks(taskId=visit["id"])
    assert still_open and still_open[0]["assignee"] is None

    po_wang.claim(visit["id"], "po_wang")
    po_wang.submit_form(visit["id"], {"onsite_result": "confirmed", "onsite_findings": "fine"})
    report = completed(api, inspection_id)["report"]
    assert report["onsite_verification"]["verifier"] == "po_wang"
    assert report["inspector"]["user"] == "lead_hu"


def refused_to(user: str, action) -> None:
    with pytest.raises(EngineError) as err:
        action()
    assert err.value.status == 403, err.value
    assert "Four-eyes rule" in err.value.message and user in err.value.message, err.value.message


def test_rectification_verification_and_lift_refuse_who_did_the_work(
    workers, api, as_user, admin, provisioned, database
) -> None:
    """bpmn/rectification.bpmn: the raiser never verifies; neither the raiser nor the verifier
    approves the lift — whichever way they try (claim, assignment by an admin, completion)."""
    from gateway import processes
    from gateway.engine import EngineGateway

    api_engine = EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )
    loan_id = new_loan(api, account_manager="am_li")
    customer_id = api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"]
    with unit_of_work(database) as session:
        item = processes.open_rectification(
            session,
            api_engine,
            customer_id=customer_id,
            loan_id=loan_id,
            source="inspection",
            source_ref="INS-FOUR-EYES",
            title="serious finding",
            description="Insurance lapsed",
            severity="serious",
            owner="am_li",
            raised_by="lead_hu",
        )
        rec_id, pid = item.id, item.process_instance_id
    wait_for(lambda: "awaiting_evidence" in admin.active_activities(pid), what="evidence wait")
    r = api.post(
        f"/api/v1/rectifications/{rec_id}/evidence",
        json={"description": "Insurance renewed", "documents": ["policy.pdf"]},
    )
    assert r.status_code == 201, r.text

    lead_hu, po_wang, cm_liu = as_user("lead_hu"), as_user("po_wang"), as_user("cm_liu")
    verify = task_of(admin, rec_id, "verify_rectification")
    accept = {"verification_decision": "accept", "verification_comment": "self-check"}
    refused_to("lead_hu", lambda: lead_hu.claim(verify["id"], "lead_hu"))
    refused_to("lead_hu", lambda: admin.set_assignee(verify["id"], "lead_hu"))
    refused_to("lead_hu", lambda: lead_hu.complete_task(verify["id"], accept))
    refused_to("lead_hu", lambda: lead_hu.submit_form(verify["id"], accept))
    po_wang.claim(verify["id"], "po_wang")
    po_wang.submit_form(
        verify["id"], {"verification_decision": "accept", "verification_comment": "policy seen"}
    )

    lift = task_of(admin, rec_id, "approve_restriction_lift")
    refused_to("po_wang", lambda: admin.set_assignee(lift["id"], "po_wang"))
    refused_to("lead_hu", lambda: admin.set_assignee(lift["id"], "lead_hu"))
    assert admin.tasks(taskId=lift["id"])[0]["assignee"] is None
    cm_liu.claim(lift["id"], "cm_liu")
    cm_liu.submit_form(lift["id"], {"lift_decision": "approve", "lift_comment": "ok"})
    body = wait_for(
        lambda: (
            (b := api.get(f"/api/v1/rectifications/{rec_id}").json())["status"] == "closed" and b
        ),
        what="rectification closed",
    )
    assert (body["raised_by"], body["verified_by"]) == ("lead_hu", "po_wang")
