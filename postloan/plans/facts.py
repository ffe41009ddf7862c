"""Facts about a loan and its customer that the ``inspection_plan`` decision needs.

The facts are computed here from the database; the decision itself (frequency, template, mode,
first-inspection deadline) is the DMN's. The thresholds used for the facts (top-N borrowers,
new-customer months, serious severities, rating threshold) come from ``config/products.yaml``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan.customers.models import Customer
from postloan.errors import NotFound
from postloan.loans.models import Loan
from postloan.plans.catalogue import Catalogue, catalogue
from postloan.signals.models import RiskSignal


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (clamped to the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")


def active_loans_filter(as_of: date) -> Any:
    return Loan.maturity_on >= as_of


def customer_exposure(session: Session, customer_id: str, as_of: date) -> Decimal:
    """Outstanding exposure of a customer: the amounts of its loans not yet matured."""
    total = session.scalar(
        select(func.coalesce(func.sum(Loan.amount), 0)).where(
            Loan.customer_id == customer_id, active_loans_filter(as_of)
        )
    )
    return Decimal(str(total or 0))


def top_borrowers(session: Session, branch: str, as_of: date, n: int) -> list[str]:
    """The ``n`` customers of a branch with the largest outstanding exposure."""
    exposure = func.sum(Loan.amount).label("exposure")
    rows = session.execute(
        select(Loan.customer_id, exposure)
        .join(Customer, Customer.id == Loan.customer_id)
        .where(Customer.branch == branch, active_loans_filter(as_of))
        .group_by(Loan.customer_id)
        .order_by(exposure.desc(), Loan.customer_id)
        .limit(n)
    ).all()
    return [r[0] for r in rows]


def plan_facts(
    session: Session, loan_id: str, as_of: date | None = None, cat: Catalogue | None = None
) -> dict[str, Any]:
    """The decision's inputs for one loan, plus the product's catalogue entry."""
    cat = cat or catalogue()
    as_of = as_of or date.today()
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    customer = session.get(Customer, loan.customer_id)
    if customer is None:
        raise NotFound(f"customer {loan.customer_id!r} of loan {loan_id} does not exist")
    rules = cat.customer_rules
    product = cat.product(loan.product)
    balance = customer_exposure(session, customer.id, as_of)
    if balance == 0:  # a matured loan still being inspected: its own amount
        balance = Decimal(loan.amount)
    first_loan_on = session.scalar(
        select(func.min(Loan.disbursed_on)).where(Loan.customer_id == customer.id)
    )
    is_new = first_loan_on is not None and first_loan_on > add_months(
        as_of, -rules.new_customer_months
    )
    since = datetime.combine(
        add_months(as_of, -12 * rules.serious_signal_lookback_years),
        datetime.min.time(),
        tzinfo=UTC,
    )
    serious = (
        session.scalar(
            select(func.count())
            .select_from(RiskSignal)
            .where(
                RiskSignal.customer_id == customer.id,
                RiskSignal.severity.in_(rules.serious_signal_severities),
                RiskSignal.created_at >= since,
            )
        )
        or 0
    )
    return {
        "loan_id": loan.id,
        "product": loan.product,
        "segment": customer.segment,
        "product_template": product.template,
        "product_first_inspection_days": product.first_inspection_days,
        "balance": float(balance),
        "is_top_borrower": customer.id
        in top_borrowers(session, customer.branch, as_of, rules.top_borrowers_per_branch),
        "is_new_customer": bool(is_new),
        "simplified_eligible": serious == 0
        and rules.rating_at_least_threshold(customer.credit_rating),
        "credit_rating": customer.credit_rating,
    }
