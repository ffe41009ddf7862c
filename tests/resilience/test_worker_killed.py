"""A worker process killed with SIGKILL mid-campaign: its locked tasks run again after their
lock expires, on a new worker, and every side effect exists exactly once.

Its own engine (H2 file), project database (SQLite), API (uvicorn) and workers
(``python -m workers``), all separate processes on loopback; locks shortened to 5 s.
"""

from __future__ import annotations

import time

import pytest
from stack import (
    Origination,
    Stack,
    awaiting_evidence,
    compare,
    external_task_log,
    open_incidents,
    run_to_end,
    wait_for,
)

pytestmark = [pytest.mark.engine, pytest.mark.e2e]

INSPECTIONS, RECTIFICATIONS, CREDITS = 12, 4, 4


def test_worker_killed_mid_campaign_runs_every_task_again_and_nothing_twice(tmp_path):
    t0 = time.monotonic()
    with Origination() as origination, Stack(tmp_path, lock_ms=5000, outbox_lease_s=15) as stack:
        stack.webhook_url = origination.url
        node = stack.add_node()
        stack.provision(node)
        api = stack.start_api(node)
        first = stack.worker("worker-1")

        # One run without trouble: what one inspection and one rectification leave behind.
        ref_loans = stack.seed_loans(3, "ref")
        ref = stack.start_inspections(ref_loans[:1])
        ref_rect = stack.raise_rectifications(ref_loans[1:2])
        ref_credit = stack.apply_for_credit(ref_loans[2:])
        run_to_end(stack, ref, 120, [api, first])
        wait_for("the reference rectification", lambda: awaiting_evidence(stack, ref_rect), 60)
        decided(stack, origination, ref_credit, [api, first])
        expected = next(iter(stack.inspection_profiles(ref).values()))
        expected_rect = next(iter(stack.rectification_profiles(ref_rect).values()))
        expected_credit = next(iter(stack.credit_profiles(ref_credit, origination).values()))
        assert expected.get("report") == 1 and expected.get("inspection routine completed") == 1
        assert expected_credit.get("application approved") == 1, expected_credit
        assert expected_credit.get("pushed (distinct event ids accepted)") == 1, expected_credit

        loans = stack.seed_loans(INSPECTIONS + RECTIFICATIONS + CREDITS, "kill")
        campaign = stack.start_inspections(loans[:INSPECTIONS])
        rects = stack.raise_rectifications(loans[INSPECTIONS : INSPECTIONS + RECTIFICATIONS])
        credits = stack.apply_for_credit(loans[INSPECTIONS + RECTIFICATIONS :])

        def locked_by_first() -> list[dict]:
            return stack.admin().call(
                "GET", "/external-task", params={"workerId": "worker-1", "locked": "true"}
            )

        # Mid-campaign: some of its tasks done, some locked by the worker right now; the
        # approver decides the applications as they arrive, so pushes are owed or in flight.
        wait_for(
            "worker-1 mid-campaign",
            lambda: (
                stack.approve_credits(credits) >= 0
                and len(external_task_log(stack, workerId="worker-1", successLog="true")) > 25
                and locked_by_first()
            ),
            120,
            interval=0.05,
        )
        first.kill()
        killed_at = time.monotonic()
        # A completion the worker sent just before it died may still be in the engine's hands:
        # the tasks in flight are those still locked by the dead worker once that has settled
        # (the same set twice, 0.5 s apart; the locks last 5 s, so none has expired yet).
        in_flight = [t["id"] for t in locked_by_first()]
        while True:
            time.sleep(0.5)
            now = [t["id"] for t in locked_by_first()]
            if now == in_flight:
                break
            in_flight = now

        second = stack.worker("worker-2")
        run_to_end(stack, campaign, 240, [api, second])
        wait_for(
            "the rectifications",
            lambda: awaiting_evidence(stack, rects) == len(rects),
            120,
            alive=lambda: stack.check_alive(second),
        )
        decided(stack, origination, credits, [api, second])

        # Every task in flight at the kill runs again on worker-2, once its lock has expired. The
        # drives above can end first: a push the origination system accepted just before the kill
        # is decided already, and its task, still locked by the dead worker, is fetched again
        # only after the lock expires (5 s) and worker-2's next fetch (long poll 10 s). Wait for
        # that, bounded, rather than asserting in the gap.
        def all_rerun() -> dict[str, dict] | None:
            found = {
                e["externalTaskId"]: e
                for e in external_task_log(stack, workerId="worker-2", successLog="true")
                if e["externalTaskId"] in in_flight
            }
            return found if set(found) == set(in_flight) else None

        again = wait_for(
            "every task in flight at the kill ran again on worker-2",
            all_rerun,
            60,
            interval=0.5,
            alive=lambda: stack.check_alive(second),
        )
        # Likewise a message the dead worker's relay had claimed (a push the origination system
        # may already have accepted) is delivered again once its lease expires (15 s, above the
        # webhook's 10 s timeout): wait for the outbox to settle, bounded.
        keys = [*campaign, *rects, *credits]
        wait_for(
            "the outbox of the campaign delivered",
            lambda: not stack.outbox_pending(keys),
            60,
            interval=0.5,
            alive=lambda: stack.check_alive(second),
        )
        reran = sorted(again)
        waited = [e["timestamp"] for e in again.values()]
        inspections = compare(
            stack.inspection_profiles(campaign), expected, stack.instances(campaign)
        )
        rectifications = compare(
            stack.rectification_profiles(rects), expected_rect, stack.instances(rects)
        )
        pushes = compare(
            stack.credit_profiles(credits, origination), expected_credit, stack.instances(credits)
        )
        incidents = open_incidents(stack)
        print(
            f"\n[worker SIGKILL] inspections {len(campaign)}, rectifications {len(rects)}, "
            f"credit decisions pushed {len(credits)}; "
            f"tasks in flight at the kill {len(in_flight)}, ran again {len(reran)}; "
            f"lost {inspections['lost'] + rectifications['lost'] + pushes['lost']}, duplicated "
            f"{inspections['duplicated'] + rectifications['duplicated'] + pushes['duplicated']}; "
            f"webhook redeliveries of one event id {origination.redeliveries()}; incidents "
            f"{len(incidents)}; campaign done {time.monotonic() - killed_at:.1f}s after the "
            f"kill; test {time.monotonic() - t0:.0f}s"
        )
        print(f"[worker SIGKILL] expected per inspection: {expected}")
        assert in_flight and waited
        assert sorted(in_flight) == reran, (in_flight, reran)
        assert inspections["lost"] == inspections["duplicated"] == 0, inspections
        assert rectifications["lost"] == rectifications["duplicated"] == 0, rectifications
        assert pushes["lost"] == pushes["duplicated"] == 0, pushes
        assert origination.invalid() == 0
        assert incidents == []


def decided(stack: Stack, origination: Origination, applications: dict[str, str], procs) -> None:
    """Drive the approver until every application is decided and its decision was accepted by
    the origination system."""

    def done() -> bool:
        stack.approve_credits(applications)
        return all(origination.accepted_ids(a) for a in applications)

    wait_for(
        f"{len(applications)} credit decisions pushed",
        done,
        120,
        interval=0.5,
        alive=lambda: stack.check_alive(*procs),
    )
