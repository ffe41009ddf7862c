"""The engine killed (SIGKILL) and started again mid-campaign, on its H2 file and on PostgreSQL:
the worker processes reconnect by themselves and no inspection is lost or done twice."""

from __future__ import annotations

import time

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

pytestmark = [pytest.mark.engine, pytest.mark.e2e]

INSPECTIONS = 10


@pytest.mark.parametrize("engine_db", ["h2", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_engine_killed_and_restarted_mid_campaign(tmp_path, engine_db):
    t0 = time.monotonic()
    with Stack(tmp_path, engine_db=engine_db, lock_ms=5000) as stack:
        node = stack.add_node()
        stack.provision(node)
        api = stack.start_api(node)
        worker = stack.worker("worker-1")
        expected = reference_run(stack, [api, worker])

        campaign = stack.start_inspections(stack.seed_loans(INSPECTIONS, f"eng{engine_db}"))
        done_before = len(external_task_log(stack, successLog="true"))
        wait_for(
            "the campaign under way",
            lambda: len(external_task_log(stack, successLog="true")) > done_before + 15,
            120,
            interval=0.05,
        )
        in_flight = len(stack.admin().call("GET", "/external-task", params={"locked": "true"}))
        down_at = time.monotonic()
        stack.restart_node(node)
        restarted = time.monotonic() - down_at
        run_to_end(stack, campaign, 240, [api, worker])
        result = compare(stack.inspection_profiles(campaign), expected, stack.instances(campaign))
        incidents = open_incidents(stack)
        reconnects = stack.procs[-1].log.read_text(errors="replace").count("fetch failed")
        print(
            f"\n[engine SIGKILL, {engine_db}] inspections {len(campaign)}; tasks locked at the "
            f"kill {in_flight}; engine back in {restarted:.1f}s; worker fetch failures while "
            f"down {reconnects}; lost {result['lost']}, duplicated {result['duplicated']}; "
            f"incidents {len(incidents)}; test {time.monotonic() - t0:.0f}s"
        )
        assert worker.alive()  # the same worker process, reconnected
        assert result["lost"] == result["duplicated"] == 0, result
        assert incidents == []
