"""The demo portfolio for the embedded default (generated, about 2,000 loans) and demo API keys.

Deterministic (seeded), so the README can point at the same loans every time.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.import_rows import ROW_MODELS  # the API's input models: the same rules as REST
from postloan.access import service as access
from postloan.customers.models import Customer
from postloan.importer import Importer
from postloanctl.generator import generate_portfolio

DEMO_API_KEYS = {
    # name: (role, key) -- documented in the README; created only outside production.
    "demo-integrator": ("integrator", "demo-integrator-key"),
    "demo-viewer": ("viewer", "demo-viewer-key"),
    "demo-auditor": ("auditor", "demo-auditor-key"),
    "demo-admin": ("admin", "demo-admin-key"),
}

DEMO_LOANS = 2000


def install_api_keys(session: Session) -> list[str]:
    created = []
    for name, (role, key) in DEMO_API_KEYS.items():
        if access.authenticate(session, key) is None:
            access.issue(session, name=name, role=role, actor="demo", key=key)
            created.append(name)
    return created


def load_portfolio(session: Session, loans: int = DEMO_LOANS, today: date | None = None) -> int:
    """Create the demo portfolio unless customers exist already; returns loans created.

    The generated portfolio (``postloanctl.generator``: about 1,300 customers, 2,000 loans,
    23,000 repayment rows, statements, valuations, external events) goes in through the bulk
    importer with the API's validation rules, in the caller's transaction. Customer ``C00001``
    and loan ``L00001-1`` belong to ``am_zhang``, ``L00002-1`` to ``lead_hu``, ``L00003-1`` to
    ``am_li``: the demo inspections start on those.
    """
    if session.scalar(select(func.count()).select_from(Customer)):
        return 0
    counts = Importer(session, ROW_MODELS, actor="demo", as_of=today).import_portfolio(
        generate_portfolio(loans, seed=20261128, today=today or date.today())
    )
    return counts["loans"]
