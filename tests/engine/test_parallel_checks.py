"""The five automated checks of an inspection run in parallel (checks_fork / checks_join), against
the real engine with bpmn/ deployed and the real workers: each runs once, all of them are open at
the same time, and raise_signals starts only after the last one (it reads their findings)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import new_loan, start_inspection, task_of

from gateway.variables import parse_date

pytestmark = pytest.mark.engine

CHECKS = (
    "check_repayment",
    "check_financials",
    "check_collateral",
    "check_external",
    "check_use_of_funds",
)
DIAGRAM = Path(__file__).resolve().parents[2] / "bpmn" / "post_loan_inspection.bpmn"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"


def test_the_diagram_forks_the_checks_and_joins_them_asynchronously() -> None:
    process = ET.parse(DIAGRAM).getroot().find(f"{BPMN}process")
    assert process is not None
    flows = [(f.get("sourceRef"), f.get("targetRef")) for f in process.iter(f"{BPMN}sequenceFlow")]
    gateways = {g.get("id"): g for g in process.iter(f"{BPMN}parallelGateway")}
    assert {"checks_fork", "checks_join"} <= set(gateways)
    assert ("load_context", "checks_fork") in flows
    assert ("checks_join", "raise_signals") in flows
    for check in CHECKS:
        assert ("checks_fork", check) in flows
        assert (check, "checks_join") in flows
        assert [t for s, t in flows if s == check] == ["checks_join"]
    join = gateways["checks_join"]
    # Branches finishing together must not collide at the join (OptimisticLockingException).
    assert join.get(f"{CAMUNDA}asyncBefore") == "true"
    assert join.get(f"{CAMUNDA}exclusive", "true") == "true"


def test_the_checks_run_together_and_raise_signals_after_all(workers, api, admin) -> None:
    loan_id = new_loan(api, account_manager="am_li", days_overdue=40)
    inspection_id = start_inspection(api, loan_id)
    task_of(admin, inspection_id, "perform_inspection")
    pid = admin.historic_process_instances(processInstanceBusinessKey=inspection_id)[0]["id"]
    rows = admin.historic_activities(processInstanceId=pid)
    by_activity: dict[str, list[dict]] = {}
    for row in rows:
        by_activity.setdefault(row["activityId"], []).append(row)
    for check in CHECKS:
        assert len(by_activity.get(check, [])) == 1, (check, by_activity.get(check))
    starts = {c: parse_date(by_activity[c][0]["startTime"]) for c in CHECKS}
    ends = {c: parse_date(by_activity[c][0]["endTime"]) for c in CHECKS}
    # All five open at once: created together at the fork, each before any of them ended.
    assert max(starts.values()) <= min(ends.values()), (starts, ends)
    (load,) = by_activity["load_context"]
    assert parse_date(load["endTime"]) <= min(starts.values())
    (signals,) = by_activity["raise_signals"]
    assert parse_date(signals["startTime"]) >= max(ends.values())
    # The join passed once per arriving branch and let one token on.
    assert len(by_activity["checks_join"]) == len(CHECKS)
    # The repayment check's finding (40 days overdue) became a signal after the join.
    inspection = api.get(f"/api/v1/inspections/{inspection_id}").json()
    assert any(s["code"].startswith("OVERDUE") for s in inspection["signals"]), inspection
    assert not admin.call("GET", "/incident", params={"processInstanceId": pid})
