"""Business data for the plan tests, sent through the API as integrators send it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any


def new_customer(
    api: Any, *, segment: str = "micro", rating: str = "BBB", branch: str | None = None
) -> str:
    suffix = uuid.uuid4().hex[:8]
    customer_id = f"CP-{suffix}"
    r = api.post(
        "/api/v1/customers",
        json={
            "id": customer_id,
            "name": f"Plan Test Co {suffix}",
            "segment": segment,
            "industry": "textiles",
            "branch": branch or "BR-SH-01",  # a known branch (config/branches.yaml)
            "account_manager": "am_li",
            "credit_rating": rating,
        },
    )
    assert r.status_code == 201, r.text
    return customer_id


def new_plan_loan(
    api: Any,
    customer_id: str,
    *,
    product: str = "MICRO-OPERATING",
    amount: str = "500000.00",
    disbursed_days_ago: int = 5,
    conditions: tuple[str, ...] = ("Funds paid directly to named suppliers",),
) -> dict:
    loan_id = f"LP-{uuid.uuid4().hex[:8]}"
    today = date.today()
    r = api.post(
        "/api/v1/loans",
        json={
            "id": loan_id,
            "customer_id": customer_id,
            "product": product,
            "amount": amount,
            "currency": "CNY",
            "disbursed_on": (today - timedelta(days=disbursed_days_ago)).isoformat(),
            "maturity_on": (today + timedelta(days=365)).isoformat(),
            "purpose": "purchase of raw materials",
            "approval_conditions": list(conditions),
        },
    )
    assert r.status_code == 201, r.text
    return r.json()
