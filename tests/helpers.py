"""Small helpers for tests (importable as ``helpers``: pytest puts tests/ on the path)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 30.0,
    interval: float = 0.2,
    what: str = "condition",
) -> Any:
    """Poll until ``predicate`` returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# -- business data through the API, as integrators send it ----------------------------------


def new_loan(api: Any, *, account_manager: str, days_overdue: int = 0) -> str:
    """A customer and a loan through the API; ``days_overdue`` > 0 leaves one instalment unpaid."""
    suffix = uuid.uuid4().hex[:8]
    customer_id, loan_id = f"C-{suffix}", f"L-{suffix}"
    r = api.post(
        "/api/v1/customers",
        json={
            "id": customer_id,
            "name": f"Flow Test Co {suffix}",
            "segment": "micro",
            "industry": "textiles",
            "branch": "BR-SH-01",
            "account_manager": account_manager,
            "credit_rating": "BBB",
        },
    )
    assert r.status_code == 201, r.text
    today = date.today()
    r = api.post(
        "/api/v1/loans",
        json={
            "id": loan_id,
            "customer_id": customer_id,
            "product": "MICRO-OPERATING",
            "amount": "500000.00",
            "currency": "CNY",
            "disbursed_on": (today - timedelta(days=400)).isoformat(),
            "maturity_on": (today + timedelta(days=330)).isoformat(),
            "purpose": "purchase of raw materials",
            "approval_conditions": ["Funds paid directly to named suppliers"],
            "collaterals": [
                {"id": f"COL-{suffix}", "kind": "equipment", "value": "700000", "currency": "CNY"}
            ],
        },
    )
    assert r.status_code == 201, r.text
    paid_due = today - timedelta(days=days_overdue + 30)
    api.post(
        f"/api/v1/loans/{loan_id}/repayments",
        json={
            "due_on": paid_due.isoformat(),
            "due_amount": "25000",
            "paid_on": paid_due.isoformat(),
            "paid_amount": "25000",
        },
    )
    if days_overdue:
        r = api.post(
            f"/api/v1/loans/{loan_id}/repayments",
            json={
                "due_on": (today - timedelta(days=days_overdue)).isoformat(),
                "due_amount": "25000",
            },
        )
        assert r.status_code == 201, r.text
    return loan_id


def start_inspection(api: Any, loan_id: str) -> str:
    """A special inspection of the loan through the API. A loan posted with an overdue
    instalment already got one from the repayment trigger: that one is returned then."""
    r = api.post("/api/v1/inspections", json={"loan_id": loan_id, "reason": "flow test"})
    if r.status_code == 409:
        found = api.get("/api/v1/inspections", params={"loan_id": loan_id}).json()["items"]
        return next(
            i["id"]
            for i in found
            if i["kind"] == "special" and i["status"] in ("requested", "in_progress")
        )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def task_of(gateway: Any, inspection_id: str, key: str) -> dict:
    return wait_for(
        lambda: next(
            iter(gateway.tasks(processInstanceBusinessKey=inspection_id, taskDefinitionKey=key)),
            None,
        ),
        what=f"task {key} of {inspection_id}",
    )


PERFORM = {
    "funds_used_as_agreed": True,
    "business_operating_normally": True,
    "collateral_intact": True,
    "approval_conditions_met": False,
    "inspection_findings": "Visited the workshop; supplier invoices match the drawdown.",
    "inspection_conclusion": "concerns",
}


def onsite_loan(api: Any, account_manager: str, name: str | None = None) -> str:
    """A customer and a loan whose plan inspects on site (balance 1m-3m CNY), disbursed ten days
    ago: registering it requests its first inspection, which the account manager performs."""
    suffix = uuid.uuid4().hex[:8]
    customer_id, loan_id = f"C-{suffix}", f"L-{suffix}"
    r = api.post(
        "/api/v1/customers",
        json={
            "id": customer_id,
            "name": name or f"Titles Test Co {suffix}",
            "segment": "sme",
            "industry": "textiles",
            "branch": "BR-SH-01",
            "account_manager": account_manager,
            "credit_rating": "BBB",
        },
    )
    assert r.status_code == 201, r.text
    today = date.today()
    r = api.post(
        "/api/v1/loans",
        json={
            "id": loan_id,
            "customer_id": customer_id,
            "product": "SME-WORKING-CAPITAL",
            "amount": "1500000.00",
            "currency": "CNY",
            "disbursed_on": (today - timedelta(days=10)).isoformat(),
            "maturity_on": (today + timedelta(days=700)).isoformat(),
            "purpose": "purchase of raw materials",
            "approval_conditions": ["Funds paid directly to named suppliers"],
            "collaterals": [],
        },
    )
    assert r.status_code == 201, r.text
    return loan_id
