"""End to end: the demo start leaves a working day's inbox for every role, and it stays put.

Runs the real ``python -m postloanctl up`` (as ``make run`` does, on free ports and its own data
directory), then looks at each demo person's Tasklist through the engine's REST API with their
own credentials: their own tasks and their groups' unassigned ones, as the "My tasks" and "My
groups' tasks" filters show them. Every role has its work (``postloanctl.demo.INBOX``), and no
account manager has more open inspections than the scheduler's limit
(``config/scheduling.yaml``). Then the scheduler runs again and ``up`` is restarted on the same
data: neither adds a task or an inspection. Several minutes on a loaded machine; marked
``e2e`` and ``engine``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import create_engine, text

from postloanctl import demo
from tests.ops.upstack import UpStack, up_stack

pytestmark = [pytest.mark.e2e, pytest.mark.engine]

ROOT = Path(__file__).resolve().parent.parent.parent
IDENTITIES = yaml.safe_load((ROOT / "config/identities.yaml").read_text(encoding="utf-8"))
PEOPLE = {u["id"]: u for u in IDENTITIES["demo_users"]}
ACCOUNT_MANAGERS = [u for u, p in PEOPLE.items() if "account-managers" in p["groups"]]
AUDITOR = demo.DEMO_API_KEYS["demo-auditor"][1]
VENDOR = demo.DEMO_API_KEYS["demo-vendor"][1]
ADMIN_KEY = demo.DEMO_API_KEYS["demo-admin"][1]


def max_open_per_person() -> int:
    rules = yaml.safe_load((ROOT / "config/scheduling.yaml").read_text(encoding="utf-8"))
    return int(rules["capacity"]["max_open_per_person"])


def engine_get(stack: UpStack, user: str, path: str, **params: Any) -> Any:
    r = requests.get(
        f"{stack.engine}{path}",
        params=params,
        auth=(user, PEOPLE[user]["password"]),
        timeout=60,
    )
    assert r.status_code == 200, (user, path, r.status_code, r.text)
    return r.json()


def inbox(stack: UpStack, user: str) -> Counter[str]:
    """Task keys in the person's Tasklist: assigned to them, or unassigned for their groups."""
    mine = engine_get(stack, user, "/task", assignee=user, maxResults=500)
    groups = ",".join(PEOPLE[user]["groups"])
    theirs = engine_get(
        stack, user, "/task", candidateGroups=groups, unassigned="true", maxResults=500
    )
    return Counter(t["taskDefinitionKey"] for t in {t["id"]: t for t in mine + theirs}.values())


def pending_outbox(stack: UpStack) -> int:
    """Process starts and messages written but not yet delivered (the relay's backlog)."""
    engine = create_engine(f"sqlite:///{stack.data / 'postloan.db'}")
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT count(*) FROM outbox_message WHERE status = 'pending'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def settle(stack: UpStack) -> None:
    """Until the workers and the outbox relay have nothing left to do (three quiet polls in a
    row): a task on its way (an inspection's automated checks still running, a signal task whose
    process start is still in the outbox) is part of the inbox it ends in."""
    quiet, deadline = 0, time.monotonic() + 300
    while quiet < 3:
        assert time.monotonic() < deadline, "the workers never became idle"
        r = requests.get(
            f"{stack.engine}/external-task/count",
            params={"active": "true", "withRetriesLeft": "true"},
            auth=("admin", "admin-dev-only"),
            timeout=60,
        )
        idle = r.json()["count"] == 0 and pending_outbox(stack) == 0
        quiet = quiet + 1 if idle else 0
        time.sleep(1)


def signal_tasks(stack: UpStack) -> list[dict[str, Any]]:
    """Every open respond_to_signals task with its process instance's business key."""
    admin = ("admin", "admin-dev-only")
    tasks = requests.get(
        f"{stack.engine}/task",
        params={"taskDefinitionKey": "respond_to_signals", "maxResults": 5000},
        auth=admin,
        timeout=60,
    ).json()
    instances = requests.get(
        f"{stack.engine}/process-instance",
        params={"processDefinitionKey": "risk_signal_handling", "maxResults": 5000},
        auth=admin,
        timeout=60,
    ).json()
    keys = {i["id"]: i["businessKey"] for i in instances}
    return [{**t, "customer": keys.get(t["processInstanceId"])} for t in tasks]


def everything(stack: UpStack) -> dict[str, Any]:
    """Every person's inbox, the vendor's assignments and the number of inspections, once the
    workers are idle."""
    settle(stack)
    assignments = stack.get(f"/vendors/{demo.DEMO_VENDOR}/assignments", VENDOR)["items"]
    inspections = stack.get("/inspections", ADMIN_KEY, params={"limit": 1})["total"]
    return {
        "inboxes": {user: dict(inbox(stack, user)) for user in PEOPLE},
        "assignments": sorted(a["inspection_id"] for a in assignments),
        "inspections": inspections,
    }


def run_scheduler(stack: UpStack) -> None:
    """The scheduler's timer fired now (instead of in ten minutes); wait for its run to end."""
    admin = ("admin", "admin-dev-only")
    key = {"processDefinitionKey": "inspection_scheduler"}

    def finished() -> int:
        r = requests.get(
            f"{stack.engine}/history/process-instance/count",
            params={**key, "finished": "true"},
            auth=admin,
            timeout=60,
        )
        return int(r.json()["count"])

    before = finished()
    jobs = requests.get(f"{stack.engine}/job", params=key, auth=admin, timeout=60).json()
    assert jobs, "no timer job of inspection_scheduler"
    r = requests.post(f"{stack.engine}/job/{jobs[0]['id']}/execute", auth=admin, timeout=120)
    assert r.status_code == 204, r.text
    deadline = time.monotonic() + 300
    while finished() <= before:
        assert time.monotonic() < deadline, "the scheduler run did not finish"
        time.sleep(1)


def test_each_role_has_its_work_and_it_does_not_grow(tmp_path: Path) -> None:
    with up_stack(tmp_path) as stack:
        stack.start()
        first = everything(stack)
        inboxes = first["inboxes"]

        for user, expected in demo.INBOX.items():
            for key, count in expected.items():
                assert inboxes[user].get(key, 0) >= count, (user, key, inboxes[user])
        limit = max_open_per_person()
        for user in ACCOUNT_MANAGERS:
            performs = inboxes[user].get("perform_inspection", 0)
            assert 1 <= performs <= limit, (user, inboxes[user])
        # Not a flood anywhere: a working day, not sixty tasks. The portfolio's risk signals are
        # the exception, on purpose: every customer with a signal at or above the threshold of
        # config/signal_handling.yaml has one task (not one per signal) for its owner.
        for user, keys in inboxes.items():
            work = sum(n for key, n in keys.items() if key != "respond_to_signals")
            assert work <= limit + 4, (user, keys)
        signal_work = signal_tasks(stack)
        customers = [t["customer"] for t in signal_work]
        assert signal_work and None not in customers, signal_work[:3]
        assert len(customers) == len(set(customers)), "two signal tasks of one customer"
        for task in signal_work:
            assert task["due"] and task["priority"] > 0, task
        assert first["assignments"], "the vendor has no visit waiting"
        assert first["inspections"] < 40, first["inspections"]

        # The auditor's reading: the audit trail and a completed inspection's report.
        events = stack.get("/audit-events", AUDITOR, params={"limit": 5})
        assert events["items"], events
        completed = stack.get("/inspections", AUDITOR, params={"status": "completed"})["items"]
        assert any(i["report"] for i in completed), completed

        run_scheduler(stack)
        assert everything(stack) == first

        stack.stop()
        stack.start()
        assert everything(stack) == first
