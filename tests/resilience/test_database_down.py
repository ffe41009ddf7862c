"""The project database (PostgreSQL) stopped for a while mid-campaign: handlers fail and retry,
then raise incidents with a readable message; once the database is back, resolving the incidents
(retries set again) completes every inspection, each side effect once."""

from __future__ import annotations

import time

import pytest
from stack import Stack, compare, open_incidents, reference_run, run_to_end, wait_for

pytestmark = [pytest.mark.engine, pytest.mark.e2e, pytest.mark.postgres]

INSPECTIONS = 6


def test_project_database_down_gives_incidents_that_complete_when_resolved(tmp_path):
    t0 = time.monotonic()
    with Stack(tmp_path, project_db="postgres", lock_ms=5000, retries=2, backoff_ms=300) as stack:
        node = stack.add_node()
        stack.provision(node)
        api = stack.start_api(node)
        worker = stack.worker("worker-1")
        expected = reference_run(stack, [api, worker])
        campaign = stack.start_inspections(stack.seed_loans(INSPECTIONS, "dbdown"))
        assert stack.cluster is not None
        stack.cluster.stop("immediate")  # as if the server crashed
        down_at = time.monotonic()
        pids = {
            r["id"]
            for r in stack.admin().call(
                "GET",
                "/process-instance",
                # the campaign's inspections only: the reference run's customer may have a risk
                # signal task open (risk_signal_handling), which waits for a person, not here
                params={
                    "processDefinitionKey": "post_loan_inspection",
                    "businessKeyIn": ",".join(campaign),
                },
            )
        }

        def incidents() -> list[dict]:
            return [i for i in open_incidents(stack) if i["processInstanceId"] in pids]

        # Every instance not yet waiting for a person ends in an incident (retries used up).
        def all_stuck() -> list[dict]:
            waiting = {
                t["processInstanceId"]
                for t in stack.admin().call(
                    "GET", "/task", params={"processDefinitionKey": "post_loan_inspection"}
                )
            }
            found = incidents()
            return (
                found if found and {i["processInstanceId"] for i in found} | waiting >= pids else []
            )

        stuck = wait_for("incidents", all_stuck, 90, alive=lambda: stack.check_alive(worker))
        failures = worker.log.read_text(errors="replace").count("retr")
        messages = {i["incidentMessage"] for i in stuck}
        stack.cluster.start()
        down = time.monotonic() - down_at
        from postloan.db import get_engine

        get_engine(stack.database_url).dispose()
        admin = stack.admin()
        resolved: set[str] = set()

        def resolve_open_incidents() -> list[dict]:
            """What an operator does in Cockpit ("increment retries") for every incident of the
            outage: the inspections' and those of processes they started meanwhile (a customer's
            risk_signal_handling, opened by a signal raised before the database went down)."""
            found = open_incidents(stack)
            for incident in found:
                messages.add(incident["incidentMessage"])
                if incident["id"] not in resolved:
                    resolved.add(incident["id"])
                    kind = "job" if incident["incidentType"] == "failedJob" else "external-task"
                    admin.call(
                        "PUT", f"/{kind}/{incident['configuration']}/retries", json={"retries": 1}
                    )
            return found

        resolve_open_incidents()
        run_to_end(stack, campaign, 180, [api, worker])
        wait_for("no incident left", lambda: not resolve_open_incidents(), 60)
        result = compare(stack.inspection_profiles(campaign), expected, stack.instances(campaign))
        left = open_incidents(stack)
        print(
            f"\n[project DB down] inspections {len(campaign)}; database down {down:.1f}s; "
            f"failed attempts retried {failures}; incidents {len(stuck)} of the inspections, "
            f"{len(resolved)} resolved in all, with "
            f"{sorted(messages)[:1]}; after resolving: lost {result['lost']}, duplicated "
            f"{result['duplicated']}, incidents left {len(left)}; "
            f"test {time.monotonic() - t0:.0f}s"
        )
        assert all("OperationalError" in m and "connect" in m.lower() for m in messages), messages
        assert result["lost"] == result["duplicated"] == 0, result
        assert left == []
