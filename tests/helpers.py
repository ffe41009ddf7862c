"""Small helpers for tests (importable as ``helpers``: pytest puts tests/ on the path)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gateway.engine import EngineError
from gateway.variables import to_engine

#: The demo people's passwords (config/identities.yaml, provisioned by the test session).
DEMO_PASSWORDS = {
    "am_li": "demo-am-li",
    "am_zhang": "demo-am-zhang",
    "lead_hu": "demo-lead-hu",
    "po_chen": "demo-po-chen",
    "po_wang": "demo-po-wang",
    "cm_liu": "demo-cm-liu",
    "cm_gao": "demo-cm-gao",
    "cm_he": "demo-cm-he",
    "cm_xu": "demo-cm-xu",
    "ca_zhao": "demo-ca-zhao",
    "au_sun": "demo-au-sun",
    "sv_ma": "demo-sv-ma",
    "vd_fieldco": "demo-vd-fieldco",
}


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


def engine_vars(**values: Any) -> dict[str, Any]:
    """Process variables as /engine-rest takes them (``{"value": ..., "type": ...}`` each)."""
    return {name: to_engine(value) for name, value in values.items()}


def refused(action: Callable[[], Any], *, says: tuple[str, ...]) -> str:
    """``action`` (a call to /engine-rest) is refused with 403 and a message with one of
    ``says`` in it (an engine plugin's rule); the message."""
    with pytest.raises(EngineError) as err:
        action()
    assert err.value.status == 403, err.value
    assert any(w in err.value.message for w in says), err.value.message
    return err.value.message


# -- business data through the API, as integrators send it ----------------------------------


def post_customer_and_loan(
    api: Any,
    customer_id: str,
    loan_id: str,
    *,
    name: str,
    segment: str,
    branch: str,
    account_manager: str,
    amount: str,
    disbursed_on: date,
    maturity_on: date,
    purpose: str,
    **loan: Any,
) -> None:
    """A customer (textiles, rated BBB) and a micro-enterprise operating loan of theirs in CNY
    through the API, as integrators send them (``loan``: more fields of the loan); both created."""
    r = api.post(
        "/api/v1/customers",
        json={
            "id": customer_id,
            "name": name,
            "segment": segment,
            "industry": "textiles",
            "branch": branch,
            "account_manager": account_manager,
            "credit_rating": "BBB",
        },
    )
    assert r.status_code == 201, r.text
    r = api.post(
        "/api/v1/loans",
        json={
            "id": loan_id,
            "customer_id": customer_id,
            "product": "MICRO-OPERATING",
            "amount": amount,
            "currency": "CNY",
            "disbursed_on": disbursed_on.isoformat(),
            "maturity_on": maturity_on.isoformat(),
            "purpose": purpose,
            **loan,
        },
    )
    assert r.status_code == 201, r.text


def new_loan(
    api: Any, *, account_manager: str, days_overdue: int = 0, disbursed_days_ago: int = 400
) -> str:
    """A customer and a loan through the API; ``days_overdue`` > 0 leaves one instalment unpaid.

    Disbursed 400 days ago by default: its first inspection's checks then find the use of funds
    unverified after its deadline (an orange signal). ``disbursed_days_ago`` of 60 gives a loan
    whose checks raise nothing at orange or above."""
    suffix = uuid.uuid4().hex[:8]
    loan_id = f"L-{suffix}"
    today = date.today()
    post_customer_and_loan(
        api,
        f"C-{suffix}",
        loan_id,
        name=f"Flow Test Co {suffix}",
        segment="micro",
        branch="BR-SH-01",
        account_manager=account_manager,
        amount="500000.00",
        disbursed_on=today - timedelta(days=disbursed_days_ago),
        maturity_on=today + timedelta(days=330),
        purpose="purchase of raw materials",
        approval_conditions=["Funds paid directly to named suppliers"],
        collaterals=[
            {"id": f"COL-{suffix}", "kind": "equipment", "value": "700000", "currency": "CNY"}
        ],
    )
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


# -- rows written directly, no API, no engine -----------------------------------------------


def rolled_back_session(database: str) -> Iterator[Any]:
    """A session on ``database`` (for a fixture to ``yield from``), rolled back and closed at
    the end: nothing the test writes, outbox rows owing processes included, stays behind."""
    from postloan.db import get_session_factory

    session = get_session_factory(database)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def customer_row(
    customer_id: str,
    *,
    branch: str,
    account_manager: str,
    name: str | None = None,
    segment: str = "sme",
    credit_rating: str = "A",
) -> Any:
    """A ``Customer`` (not added to a session) in the textiles industry."""
    from postloan.customers.models import Customer

    return Customer(
        id=customer_id,
        name=name or f"Customer {customer_id}",
        segment=segment,
        industry="textiles",
        branch=branch,
        account_manager=account_manager,
        credit_rating=credit_rating,
    )


def add_performing_loan(
    session: Any,
    customer: Any,
    *,
    loan_id: str,
    product: str,
    amount: Decimal,
    disbursed_on: date,
) -> None:
    """``customer`` and a performing (class normal) loan of theirs maturing in 300 days, each
    flushed."""
    from postloan.loans.models import Loan

    session.add(customer)
    session.flush()
    session.add(
        Loan(
            id=loan_id,
            customer_id=customer.id,
            product=product,
            amount=amount,
            currency="CNY",
            disbursed_on=disbursed_on,
            maturity_on=date.today() + timedelta(days=300),
            purpose="stock",
            risk_class="normal",
            risk_class_reason="performing",
        )
    )
    session.flush()


def sign_in_to_tasklist(page: Any, url: str, user: str, password: str, timeout_ms: int) -> None:
    """Open Tasklist at ``url`` and sign in through its login form.

    The form's fields get their values as an input event, not as typed keys: the webapp moves
    the focus to the username field ``[autofocus]`` up to 300 ms after it has started, and a
    password typed in that moment lands in the username field (``cm_liudemo-cm-liu``). Both
    values are checked before the form is sent."""
    from playwright.sync_api import expect

    page.goto(url)
    fields = {
        page.get_by_placeholder("Username"): user,
        page.get_by_placeholder("Password"): password,
    }
    for field, value in fields.items():
        field.wait_for(state="visible", timeout=timeout_ms)
        field.evaluate(
            "(el, value) => { el.value = value;"
            " el.dispatchEvent(new Event('input', {bubbles: true}));"
            " el.dispatchEvent(new Event('change', {bubbles: true})); }",
            value,
        )
    for field, value in fields.items():
        expect(field).to_have_value(value, timeout=timeout_ms)
    page.locator("button[type=submit]").click()
    # Signed in: the filters of config/identities.yaml are listed. (Tasklist lists them after
    # its first REST round trips: the page's timeout, not Playwright's 5 s.)
    expect(page.get_by_role("link", name=re.compile("My tasks"))).to_be_visible(timeout=timeout_ms)
