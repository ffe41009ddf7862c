"""The API process (uvicorn) killed with SIGKILL while loans with many collaterals and
conditions are being posted: every loan is in the project database with all its rows, or not at
all. Then a new API process serves the same database (and a loan cut off can be posted again)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, timedelta

import pytest
import requests
from stack import Stack, wait_for

pytestmark = [pytest.mark.engine, pytest.mark.e2e]

THREADS, COLLATERALS, CONDITIONS = 4, 25, 10


def loan_body(loan_id: str, customer_id: str) -> dict:
    today = date.today()
    return {
        "id": loan_id,
        "customer_id": customer_id,
        "product": "MICRO-OPERATING",
        "amount": "500000.00",
        "currency": "CNY",
        "disbursed_on": (today - timedelta(days=10)).isoformat(),
        "maturity_on": (today + timedelta(days=700)).isoformat(),
        "purpose": "equipment",
        "approval_conditions": [f"Condition {k} of {loan_id}" for k in range(CONDITIONS)],
        "collaterals": [
            {
                "id": f"COL-{loan_id}-{k:02d}",
                "kind": "equipment",
                "value": "1000",
                "currency": "CNY",
            }
            for k in range(COLLATERALS)
        ],
    }


def test_api_killed_mid_request_leaves_no_half_written_loan(tmp_path):
    t0 = time.monotonic()
    with Stack(tmp_path) as stack:
        node = stack.add_node()
        stack.provision(node)
        api = stack.start_api(node)
        run = uuid.uuid4().hex[:6]
        customers = [f"C-api{run}-{n}" for n in range(THREADS)]
        for cid in customers:
            r = stack.api(
                "POST",
                "/customers",
                json={
                    "id": cid,
                    "name": f"Kill test {cid}",
                    "segment": "micro",
                    "industry": "retail",
                    "branch": "BR-SH-01",
                    "account_manager": "am_li",
                    "credit_rating": "BBB",
                },
            )
            assert r.status_code == 201, r.text

        attempted: list[str] = []
        answered: dict[str, int | str] = {}
        stop = threading.Event()

        def post_loans(customer_id: str) -> None:
            n = 0
            while not stop.is_set():
                loan_id = f"L-{customer_id.removeprefix('C-')}-{n:03d}"
                n += 1
                attempted.append(loan_id)
                try:
                    r = stack.api(
                        "POST", "/loans", json=loan_body(loan_id, customer_id), timeout=30
                    )
                    answered[loan_id] = r.status_code
                except requests.RequestException as exc:
                    answered[loan_id] = type(exc).__name__
                    return  # the API is gone

        threads = [threading.Thread(target=post_loans, args=(c,)) for c in customers]
        for t in threads:
            t.start()
        try:
            wait_for(
                "loans stored before the kill",
                lambda: sum(v == 201 for v in answered.values()) >= 8,
                120,
                interval=0.02,
            )
            api.kill()  # SIGKILL, requests in flight
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        in_flight = [i for i in attempted if not isinstance(answered.get(i), int)]

        rows = {
            lid: (n_col, n_cond)
            for lid, n_col, n_cond in stack.sql(
                "SELECT l.id, (SELECT count(*) FROM collateral c WHERE c.loan_id = l.id), "
                "(SELECT count(*) FROM approval_condition a WHERE a.loan_id = l.id) "
                "FROM loan l WHERE l.id IN :ids",
                ids=attempted,
            )
        }
        orphans = stack.sql(
            "SELECT count(*) FROM collateral WHERE id LIKE :p AND loan_id NOT IN "
            "(SELECT id FROM loan)",
            p=f"COL-L-api{run}-%",
        )[0][0]
        whole = [i for i, counts in rows.items() if counts == (COLLATERALS, CONDITIONS)]
        half = [i for i, counts in rows.items() if counts != (COLLATERALS, CONDITIONS)]
        lost_answered = [i for i, code in answered.items() if code == 201 and i not in rows]
        cut_stored = [i for i in in_flight if i in rows]

        # A new API process on the same database: a loan cut off mid-request can be sent again.
        stack.start_api(node)
        again = [i for i in in_flight if i not in rows]
        for loan_id in again:
            customer_id = "C-" + loan_id.removeprefix("L-").rsplit("-", 1)[0]
            r = stack.api("POST", "/loans", json=loan_body(loan_id, customer_id))
            assert r.status_code == 201, r.text
        print(
            f"\n[API SIGKILL] loans posted {len(attempted)}, answered 201 "
            f"{sum(v == 201 for v in answered.values())}, in flight at the kill "
            f"{len(in_flight)} (stored whole {len(cut_stored)}, absent {len(again)}, posted "
            f"again 201); half-written {len(half)}, orphan collaterals {orphans}, answered "
            f"but missing {len(lost_answered)}; test {time.monotonic() - t0:.0f}s"
        )
        assert in_flight, "the kill hit no request"
        assert half == [] and orphans == 0 and lost_answered == [], (half, orphans)
        assert set(whole) == set(rows)
