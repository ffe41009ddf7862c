"""Collateral: loan-to-value on current valuations, overdue revaluations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.checks import Finding, add_months
from postloan.checks.config import CollateralConfig
from postloan.loans.models import Collateral, CollateralValuation, Loan

NAME = "collateral"


def check(session: Session, loan: Loan, as_of: date, config: CollateralConfig) -> list[Finding]:
    collaterals = list(
        session.scalars(
            select(Collateral).where(Collateral.loan_id == loan.id).order_by(Collateral.id)
        )
    )
    if not collaterals:
        return []
    findings: list[Finding] = []
    items, overdue, total = [], [], Decimal(0)
    for c in collaterals:
        latest = session.scalars(
            select(CollateralValuation)
            .where(
                CollateralValuation.collateral_id == c.id, CollateralValuation.valued_on <= as_of
            )
            .order_by(CollateralValuation.valued_on.desc())
            .limit(1)
        ).first()
        # Without a revaluation, the value at approval (the loan's disbursement) is the basis.
        value = latest.value if latest else c.value
        valued_on = latest.valued_on if latest else loan.disbursed_on
        months = config.months_for(c.kind)
        due_on = add_months(valued_on, months)
        item = {
            "collateral_id": c.id,
            "kind": c.kind,
            "value": str(value),
            "valued_on": valued_on.isoformat(),
            "basis": "valuation" if latest else "value at approval",
            "valuer": latest.valuer if latest else None,
            "revaluation_months": months,
            "revaluation_due_on": due_on.isoformat(),
        }
        items.append(item)
        total += value
        if due_on < as_of:
            overdue.append(item)

    ltv = float(loan.amount / total) if total > 0 else None
    if ltv is None or ltv > config.ltv_max:
        findings.append(
            Finding(
                "LTV_HIGH",
                f"Loan-to-value {'n/a (collateral worth nothing)' if ltv is None else f'{ltv:.0%}'}"
                f" above {config.ltv_max:.0%}",
                {
                    "as_of": as_of.isoformat(),
                    "loan_amount": str(loan.amount),
                    "collateral_value": str(total),
                    "ltv": ltv,
                    "threshold": config.ltv_max,
                    "collaterals": items,
                },
            )
        )
    if overdue:
        findings.append(
            Finding(
                "REVALUATION_OVERDUE",
                f"{len(overdue)} collateral(s) not revalued in time: "
                + ", ".join(f"{i['collateral_id']} due {i['revaluation_due_on']}" for i in overdue),
                {"as_of": as_of.isoformat(), "overdue": overdue},
            )
        )
    return findings


def loan_to_value(findings: list[Finding]) -> float | None:
    for f in findings:
        if f.code == "LTV_HIGH":
            return f.evidence.get("ltv")
    return None
