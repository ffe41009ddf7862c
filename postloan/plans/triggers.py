"""When a special inspection is due: serious external events and repayment trouble.

Which event kinds are serious and the repayment thresholds come from
``config/special_triggers.yaml``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.loans.models import Loan
from postloan.plans.catalogue import Triggers, triggers


def is_serious_event(kind: str, cfg: Triggers | None = None) -> bool:
    return kind in (cfg or triggers()).serious_event_kinds


def repayment_trigger(
    previous_dpd: int, dpd: int, interest_unpaid_days: int, cfg: Triggers | None = None
) -> str | None:
    """Why the repayment situation calls for a special inspection, or None."""
    cfg = cfg or triggers()
    if previous_dpd <= cfg.new_overdue_after_dpd < dpd:
        return f"New overdue: {dpd} days past due (was current)"
    if interest_unpaid_days > cfg.interest_unpaid_days_over:
        return (
            f"Interest unpaid for {interest_unpaid_days} days "
            f"(over {cfg.interest_unpaid_days_over}): focused inspection"
        )
    return None


def active_loans_of(session: Session, customer_id: str, as_of: date | None = None) -> list[str]:
    as_of = as_of or date.today()
    return list(
        session.scalars(
            select(Loan.id)
            .where(Loan.customer_id == customer_id, Loan.maturity_on >= as_of)
            .order_by(Loan.id)
        )
    )
