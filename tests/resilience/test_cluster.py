"""Scale-out on Camunda 7's own clustering: two engine nodes sharing one PostgreSQL database (job
executor on both), two worker processes (one per node), the project database on PostgreSQL too.

A campaign of routine inspections started through the API, the automated steps run by both
workers, the human steps completed over REST alternately on each node, completes with every
side effect once and one process instance per inspection. Prints the figures.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from stack import (
    Stack,
    compare,
    external_task_log,
    open_incidents,
    reference_run,
    run_to_end,
    wait_for,
)

from gateway.variables import format_date

pytestmark = [pytest.mark.engine, pytest.mark.e2e, pytest.mark.postgres]

INSPECTIONS = 40


def test_two_engine_nodes_on_one_database_run_a_campaign_once(tmp_path):
    t0 = time.monotonic()
    with Stack(tmp_path, engine_db="postgres", project_db="postgres", lock_ms=10000) as stack:
        one = stack.add_node("node-1")
        stack.provision(one)
        deployments = stack.admin(one).count("/deployment")
        two = stack.add_node("node-2")  # joins the same database: schema and admin exist
        stack.provision(two)  # provisioning again through the other node changes nothing
        assert stack.admin(two).count("/deployment") == deployments
        assert stack.admin(two).count("/process-definition", key="post_loan_inspection") == 1
        started = time.monotonic() - t0
        api = stack.start_api(one)
        workers = [stack.worker("worker-1", one), stack.worker("worker-2", two)]
        expected = reference_run(stack, [api, *workers])

        loans = stack.seed_loans(INSPECTIONS, "cluster")
        t1 = time.monotonic()
        campaign = stack.start_inspections(loans)
        nodes = [one, two]
        run_to_end(stack, campaign, 420, [api, *workers], node_for=lambda n: nodes[n % 2])
        campaign_s = time.monotonic() - t1

        # The job executors of both nodes take jobs from the shared database: pull the signal
        # escalation's timer forward a few times and see which node fires it.
        admin = stack.admin(two)
        fired = []
        for _ in range(6):
            job = wait_for(
                "the escalation timer",
                lambda: admin.call(
                    "GET",
                    "/job",
                    params={"processDefinitionKey": "signal_escalation", "timers": "true"},
                ),
                30,
            )[0]
            admin.call(
                "PUT", f"/job/{job['id']}/duedate", json={"duedate": format_date(datetime.now(UTC))}
            )
            log = wait_for(
                "the timer to fire",
                lambda job=job: admin.call(
                    "GET", "/history/job-log", params={"jobId": job["id"], "successLog": "true"}
                ),
                60,
            )
            fired.append(log[0]["hostname"])

        result = compare(stack.inspection_profiles(campaign), expected, stack.instances(campaign))
        pids = _pids(stack, set(campaign))
        per_worker = Counter(
            e["workerId"]
            for e in external_task_log(stack, successLog="true")
            if e["processInstanceId"] in pids
        )
        humans: Counter[str] = Counter()
        for row in admin.call(
            "GET",
            "/history/task",
            params={
                "processDefinitionKey": "post_loan_inspection",
                "finished": "true",
                "maxResults": 100000,
            },
        ):
            if row["processInstanceId"] in pids:
                humans[row["taskDefinitionKey"]] += 1
        jobs = Counter(fired)
        incidents = open_incidents(stack)
        print(
            f"\n[cluster] 2 nodes on one PostgreSQL database, 2 workers; nodes up in "
            f"{started:.0f}s; {len(campaign)} inspections in {campaign_s:.1f}s "
            f"({len(campaign) / campaign_s:.2f}/s end to end incl. human steps); "
            f"external tasks per worker (= per node) {dict(per_worker)}; human tasks "
            f"{dict(humans)} (alternating nodes); timer jobs fired per node {dict(jobs)}; "
            f"lost {result['lost']}, duplicated {result['duplicated']}; incidents "
            f"{len(incidents)}; test {time.monotonic() - t0:.0f}s"
        )
        assert result["lost"] == result["duplicated"] == 0, result
        assert incidents == []
        assert set(per_worker) == {"worker-1", "worker-2"}, per_worker
        assert set(jobs) <= {"node-1", "node-2"}, jobs


def _pids(stack: Stack, keys: set[str]) -> set[str]:
    rows = stack.admin().call(
        "POST",
        "/history/process-instance",
        params={"maxResults": 100000},
        json={"processDefinitionKey": "post_loan_inspection"},
    )
    return {r["id"] for r in rows if r["businessKey"] in keys}
