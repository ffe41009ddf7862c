"""Repayment behaviour: days past due, arrears trend, unpaid interest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.checks import Finding
from postloan.checks.config import RepaymentConfig
from postloan.loans.arrears import arrears_as_of
from postloan.loans.models import Loan, Repayment

NAME = "repayment"


@dataclass(frozen=True)
class RepaymentResult:
    findings: list[Finding]
    days_past_due: int
    overdue_amount: float
    interest_unpaid_days: int


def _row(r: Repayment, as_of: date) -> dict:
    return {
        "due_on": r.due_on.isoformat(),
        "due_amount": str(r.due_amount),
        "kind": r.kind,
        "paid_on": r.paid_on.isoformat() if r.paid_on else None,
        "paid_amount": str(r.paid_amount),
        "days_late": days_late(r, as_of),
    }


def days_late(r: Repayment, as_of: date) -> int:
    """How late an instalment due before ``as_of`` was (or still is) paid in full; 0 if on time."""
    if r.due_on >= as_of:
        return 0
    paid_in_full = r.paid_on is not None and r.paid_on <= as_of and r.paid_amount >= r.due_amount
    settled = r.paid_on if paid_in_full and r.paid_on is not None else as_of
    return max((settled - r.due_on).days, 0)


def check(
    session: Session,
    loan: Loan,
    as_of: date,
    config: RepaymentConfig,
    schedule: Sequence[Repayment] | None = None,
) -> RepaymentResult:
    """The repayment findings of ``loan`` on ``as_of``; ``schedule``: its repayment rows in
    due-date order when the caller has them (else read)."""
    if schedule is None:
        schedule = list(
            session.scalars(
                select(Repayment).where(Repayment.loan_id == loan.id).order_by(Repayment.due_on)
            )
        )
    result = arrears_as_of(schedule, as_of)
    interest = arrears_as_of([r for r in schedule if r.kind == "interest"], as_of)
    findings: list[Finding] = []
    base = {
        "as_of": as_of.isoformat(),
        "instalments": [_row(r, as_of) for r in schedule],
        "oldest_unpaid_due_on": (
            result.oldest_unpaid_due_on.isoformat() if result.oldest_unpaid_due_on else None
        ),
        "days_past_due": result.days_past_due,
        "overdue_amount": str(result.overdue_amount),
    }
    if result.days_past_due > 0:
        findings.append(
            Finding(
                "REPAYMENT_OVERDUE",
                f"{result.overdue_instalments} instalment(s) overdue, {result.overdue_amount} "
                f"outstanding, {result.days_past_due} days past due",
                base,
                severity="red" if result.days_past_due > 90 else "orange",
            )
        )
        bands = [b for b in config.overdue_bands if result.days_past_due >= b.from_days]
        if bands:
            band = max(bands, key=lambda b: b.from_days)
            findings.append(
                Finding(
                    band.code,
                    f"{result.days_past_due} days past due ({band.code})",
                    {**base, "band_from_days": band.from_days},
                )
            )
    else:
        findings.append(Finding("REPAYMENT_CURRENT", "All instalments due so far are paid", base))

    # The trend looks at the instalments (interest-only rows have their own measure below).
    due = [r for r in schedule if r.due_on < as_of and r.kind != "interest"]
    due = due[-config.trend_instalments :]
    if len(due) >= 2:
        half = len(due) // 2
        older, newer = due[: len(due) - half], due[len(due) - half :]
        late_older = sum(1 for r in older if days_late(r, as_of) > 0)
        late_newer = sum(1 for r in newer if days_late(r, as_of) > 0)
        if late_newer > late_older and days_late(due[-1], as_of) > 0:
            findings.append(
                Finding(
                    "ARREARS_RISING",
                    f"Arrears rising: {late_newer} of the latest {len(newer)} instalments late "
                    f"against {late_older} of the {len(older)} before",
                    {
                        "as_of": as_of.isoformat(),
                        "window": [_row(r, as_of) for r in due],
                        "late_older": late_older,
                        "late_newer": late_newer,
                    },
                )
            )

    if interest.days_past_due > config.interest_unpaid_days:
        findings.append(
            Finding(
                f"INTEREST_UNPAID_{config.interest_unpaid_days}",
                f"Interest unpaid for {interest.days_past_due} days "
                f"(more than {config.interest_unpaid_days}): {interest.overdue_amount} outstanding",
                {
                    "as_of": as_of.isoformat(),
                    "interest_unpaid_days": interest.days_past_due,
                    "interest_overdue": str(interest.overdue_amount),
                    "threshold_days": config.interest_unpaid_days,
                    "instalments": [_row(r, as_of) for r in schedule if r.kind == "interest"],
                },
            )
        )
    return RepaymentResult(
        findings,
        result.days_past_due,
        float(result.overdue_amount or Decimal(0)),
        interest.days_past_due,
    )
