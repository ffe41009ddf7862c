"""A small demo portfolio for the embedded default: customers, loans, repayments, API keys.

Deterministic (seeded), so the README can point at the same loans every time.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan.access import service as access
from postloan.customers import service as customers
from postloan.customers.models import Customer
from postloan.loans import service as loans

DEMO_API_KEYS = {
    # name: (role, key) -- documented in the README; created only outside production.
    "demo-integrator": ("integrator", "demo-integrator-key"),
    "demo-viewer": ("viewer", "demo-viewer-key"),
    "demo-auditor": ("auditor", "demo-auditor-key"),
    "demo-admin": ("admin", "demo-admin-key"),
}

SEGMENTS = ["micro", "sme", "sme", "corporate", "retail"]
INDUSTRIES = ["textiles", "food processing", "logistics", "retail trade", "construction",
              "electronics", "agriculture", "catering"]
PRODUCTS = {"micro": "MICRO-OPERATING", "sme": "SME-WORKING-CAPITAL",
            "corporate": "CORP-TERM", "retail": "RETAIL-BUSINESS"}
MANAGERS = ["am_li", "am_zhang", "lead_hu"]
BRANCHES = ["BR-SH-01", "BR-BJ-02", "BR-SZ-03"]


def install_api_keys(session: Session) -> list[str]:
    created = []
    for name, (role, key) in DEMO_API_KEYS.items():
        if access.authenticate(session, key) is None:
            access.issue(session, name=name, role=role, actor="demo", key=key)
            created.append(name)
    return created


def load_portfolio(session: Session, customers_count: int = 24, today: date | None = None) -> int:
    """Create the demo portfolio unless customers exist already; returns loans created."""
    if session.scalar(select(func.count()).select_from(Customer)):
        return 0
    rng = random.Random(20261128)
    today = today or date.today()
    created = 0
    for n in range(1, customers_count + 1):
        segment = SEGMENTS[n % len(SEGMENTS)]
        customer_id = f"C{n:05d}"
        customers.register(session, customers.CustomerData(
            id=customer_id, name=f"Demo {INDUSTRIES[n % len(INDUSTRIES)].title()} Co. {n}",
            segment=segment, industry=INDUSTRIES[n % len(INDUSTRIES)],
            branch=BRANCHES[n % len(BRANCHES)], account_manager=MANAGERS[n % len(MANAGERS)],
            credit_rating=rng.choice(["AA", "A", "BBB", "BB", "B"]),
        ), actor="demo")
        for k in range(1 + n % 2):
            loan_id = f"L{n:05d}-{k + 1}"
            disbursed = today - timedelta(days=rng.randint(120, 540))
            amount = Decimal(rng.choice([300_000, 800_000, 1_500_000, 2_500_000, 5_000_000]))
            loans.register(session, loans.LoanData(
                id=loan_id, customer_id=customer_id, product=PRODUCTS[segment], amount=amount,
                currency="CNY", disbursed_on=disbursed, maturity_on=disbursed + timedelta(days=720),
                purpose=rng.choice(["purchase of raw materials", "equipment upgrade",
                                    "working capital", "inventory for peak season"]),
                approval_conditions=["Quarterly financial statements delivered",
                                     "Funds paid directly to named suppliers"],
                collaterals=[loans.CollateralData(
                    id=f"COL-{loan_id}", kind=rng.choice(["property", "equipment", "guarantee"]),
                    value=amount * Decimal("1.4"), currency="CNY")],
            ), actor="demo")
            _schedule(session, loan_id, disbursed, amount, today, late=(n % 7 == 0), rng=rng)
            created += 1
    return created


def _schedule(
    session: Session, loan_id: str, disbursed: date, amount: Decimal, today: date, *,
    late: bool, rng: random.Random,
) -> None:
    """Monthly instalments; a late loan stopped paying about a hundred days ago."""
    instalment = (amount / 24).quantize(Decimal("0.01"))
    stop_paying = today - timedelta(days=rng.randint(95, 130)) if late else None
    due = disbursed + timedelta(days=30)
    while due < today:
        paid = stop_paying is None or due < stop_paying
        loans.record_repayment(session, loan_id, loans.RepaymentData(
            due_on=due, due_amount=instalment, paid_on=due if paid else None,
            paid_amount=instalment if paid else Decimal("0"),
        ), actor="demo")
        due += timedelta(days=30)
