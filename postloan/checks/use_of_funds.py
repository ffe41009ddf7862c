"""Use of funds: a stated purpose, and its verification within the deadline after disbursement
(an inspection item with source ``use_of_funds`` answered ``ok`` on a completed inspection)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.checks import Finding, add_months
from postloan.checks.config import UseOfFundsConfig
from postloan.inspections.models import Inspection, InspectionItem, InspectionStatus
from postloan.loans.models import Loan

NAME = "use_of_funds"


def check(
    session: Session, loan: Loan, as_of: date, config: UseOfFundsConfig
) -> tuple[list[Finding], bool]:
    """The findings, and whether the use of funds was verified at all."""
    findings: list[Finding] = []
    if not (loan.purpose or "").strip():
        findings.append(
            Finding(
                "LOAN_PURPOSE_MISSING",
                "The loan has no stated purpose",
                {"loan_id": loan.id, "purpose": loan.purpose},
            )
        )
    deadline = add_months(loan.disbursed_on, config.verify_within_months)
    verifications = session.execute(
        select(Inspection.id, Inspection.completed_at, InspectionItem.code, InspectionItem.note)
        .join(InspectionItem, InspectionItem.inspection_id == Inspection.id)
        .where(
            Inspection.loan_id == loan.id,
            Inspection.status == InspectionStatus.COMPLETED,
            InspectionItem.source == "use_of_funds",
            InspectionItem.result == "ok",
        )
        .order_by(Inspection.completed_at)
    ).all()
    done = [
        {
            "inspection_id": v.id,
            "item": v.code,
            "note": v.note,
            "completed_on": v.completed_at.date().isoformat() if v.completed_at else None,
        }
        for v in verifications
    ]
    in_time = [d for d in done if d["completed_on"] and d["completed_on"] <= deadline.isoformat()]
    evidence = {
        "as_of": as_of.isoformat(),
        "disbursed_on": loan.disbursed_on.isoformat(),
        "deadline": deadline.isoformat(),
        "purpose": loan.purpose,
        "verifications": done,
    }
    if not done and as_of > deadline:
        findings.append(
            Finding(
                "USE_OF_FUNDS_UNVERIFIED",
                f"Use of funds not verified by {deadline.isoformat()} "
                f"({config.verify_within_months} months after disbursement)",
                evidence,
            )
        )
    elif done and not in_time:
        findings.append(
            Finding(
                "USE_OF_FUNDS_VERIFIED_LATE",
                f"Use of funds verified only on {done[0]['completed_on']}, after the deadline "
                f"{deadline.isoformat()}",
                evidence,
            )
        )
    return findings, bool(done)
