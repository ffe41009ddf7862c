"""The evidence of every prescribed action on a loan, assembled from the project database, and
the inputs of decision ``exemption_rules`` derived from it.

Prescribed actions: each inspection of the loan against its due date (the first inspection
after disbursement above all), the responses to the loan's risk signals against their response
deadline, the rectifications owned by the account manager against their deadline. Also listed:
reviews and unannounced on-site verifications, the approval conditions checked, and the branch's
NPL ratio of new loans. Everything the database records about who did what and when is here
(the engine's history adds nothing the finalized reports do not hold).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan.classification.rules import NPL_CLASSES
from postloan.customers.models import Customer
from postloan.due_diligence.config import DueDiligenceRules
from postloan.inspections.models import Inspection, InspectionFinding, InspectionItem
from postloan.loans.models import Loan
from postloan.plans.catalogue import catalogue
from postloan.plans.facts import add_months
from postloan.rectifications.models import Rectification
from postloan.signals.models import RiskSignal

ON_TIME, LATE, MISSING, NOT_DUE, CANCELLED = "on_time", "late", "missing", "not_due", "cancelled"


def _day(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).date()
    return value


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def timeliness(due_on: date | None, done_on: date | None, as_of: date) -> tuple[str, int]:
    """``on_time`` / ``late`` (with the days late) / ``missing`` (due, not done) / ``not_due``."""
    if done_on is not None:
        if due_on is None or done_on <= due_on:
            return ON_TIME, 0
        return LATE, (done_on - due_on).days
    if due_on is not None and due_on < as_of:
        return MISSING, (as_of - due_on).days
    return NOT_DUE, 0


def _inspections(session: Session, loan: Loan, as_of: date) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Inspection)
        .where(Inspection.loan_id == loan.id)
        .order_by(Inspection.due_on.is_(None), Inspection.due_on, Inspection.created_at)
    ).all()
    out = []
    for row in rows:
        done_on = _day(row.completed_at) if row.status == "completed" else None
        if row.status == "cancelled":
            state, days = CANCELLED, 0
        else:
            state, days = timeliness(row.due_on, done_on, as_of)
        items = session.scalars(
            select(InspectionItem)
            .where(InspectionItem.inspection_id == row.id)
            .order_by(InspectionItem.seq)
        ).all()
        findings = session.scalars(
            select(InspectionFinding)
            .where(InspectionFinding.inspection_id == row.id)
            .order_by(InspectionFinding.seq, InspectionFinding.id)
        ).all()
        report = row.report or {}
        out.append(
            {
                "id": row.id,
                "kind": row.kind,
                "reason": row.reason,
                "mode": row.mode,
                "status": row.status,
                "due_on": _iso(row.due_on),
                "done_on": _iso(done_on),
                "timeliness": state,
                "days_late": days,
                "inspector": row.inspector,
                "reviewer": row.reviewer,
                "rework_count": row.rework_count or 0,
                "conclusion": row.conclusion,
                "cancel_reason": row.cancel_reason,
                "items": [
                    {
                        "code": i.code,
                        "label": i.label,
                        "source": i.source,
                        "result": i.result,
                        "note": i.note,
                    }
                    for i in items
                ],
                "findings": [
                    {"code": f.code, "severity": f.severity, "summary": f.summary} for f in findings
                ],
                "inspector_notes": (report.get("inspector") or {}).get("findings"),
                "review": report.get("review"),
                "onsite_verification": report.get("onsite_verification"),
            }
        )
    return out


def _first_inspection(loan: Loan, inspections: list[dict[str, Any]], as_of: date) -> dict[str, Any]:
    """The first inspection after disbursement: skipped when it is missing, cancelled, or there
    is none on record although its deadline (the product's) has passed."""
    deadline = loan.disbursed_on + timedelta(
        days=catalogue().product(loan.product).first_inspection_days
    )
    first = next((i for i in inspections if i["kind"] == "first"), None)
    if first is None:
        skipped = deadline < as_of
        return {
            "inspection_id": None,
            "deadline": deadline.isoformat(),
            "timeliness": MISSING if skipped else NOT_DUE,
            "skipped": skipped,
        }
    return {
        "inspection_id": first["id"],
        "deadline": first["due_on"] or deadline.isoformat(),
        "timeliness": first["timeliness"],
        "skipped": first["timeliness"] in (MISSING, CANCELLED),
    }


def _approval_conditions(inspections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for inspection in inspections:
        for item in inspection["items"]:
            if item["source"] == "approval_condition":
                found.append(
                    {
                        "condition": item["label"],
                        "inspection_id": inspection["id"],
                        "result": item["result"],
                        "note": item["note"],
                        "checked_on": inspection["done_on"],
                    }
                )
    return found


def _signals(session: Session, loan: Loan, as_of: date) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(RiskSignal)
        .where(
            RiskSignal.customer_id == loan.customer_id,
            (RiskSignal.loan_id == loan.id) | RiskSignal.loan_id.is_(None),
        )
        .order_by(RiskSignal.created_at, RiskSignal.id)
    ).all()
    out = []
    for s in rows:
        state, days = timeliness(s.respond_by, _day(s.responded_at), as_of)
        out.append(
            {
                "id": s.id,
                "code": s.code,
                "severity": s.severity,
                "owner_role": s.owner_role,
                "summary": s.summary,
                "status": s.status,
                "raised_on": _iso(_day(s.created_at)),
                "respond_by": _iso(s.respond_by),
                "responded_on": _iso(_day(s.responded_at)),
                "responded_by": s.responded_by,
                "response_kind": s.response_kind,
                "response_text": s.response_text,
                "confirmed_by": s.confirmed_by,
                "confirmed_on": _iso(_day(s.confirmed_at)),
                "timeliness": state,
                "days_late": days,
            }
        )
    return out


def _rectifications(session: Session, loan: Loan, as_of: date) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Rectification)
        .where(
            Rectification.customer_id == loan.customer_id,
            (Rectification.loan_id == loan.id) | Rectification.loan_id.is_(None),
        )
        .order_by(Rectification.deadline, Rectification.id)
    ).all()
    out = []
    for r in rows:
        closed = _day(r.closed_at) if r.status == "closed" else None
        state, days = timeliness(r.deadline, closed, as_of)
        out.append(
            {
                "id": r.id,
                "title": r.title,
                "severity": r.severity,
                "source": r.source,
                "owner": r.owner,
                "raised_by": r.raised_by,
                "deadline": _iso(r.deadline),
                "status": r.status,
                "closed_on": _iso(closed),
                "verified_by": r.verified_by,
                "timeliness": state,
                "days_late": days,
            }
        )
    return out


def branch_npl_ratio(
    session: Session, branch: str, as_of: date, months: int
) -> tuple[float, int, int]:
    """The NPL ratio of new loans of a branch, by amount, in percent: loans disbursed in the last
    ``months`` classified substandard or worse over all of them; (ratio, loans, npl loans)."""
    since = add_months(as_of, -months)
    base = (
        select(func.count(), func.coalesce(func.sum(Loan.amount), 0))
        .join(Customer, Customer.id == Loan.customer_id)
        .where(Customer.branch == branch, Loan.disbursed_on >= since)
    )
    count, total = session.execute(base).one()
    npl_count, npl_total = session.execute(
        base.where(Loan.risk_class.in_(sorted(NPL_CLASSES)))
    ).one()
    total, npl_total = Decimal(total or 0), Decimal(npl_total or 0)
    ratio = float(npl_total / total * 100) if total > 0 else 0.0
    return round(ratio, 2), int(count), int(npl_count)


def _flagged(codes: frozenset[str], evidence: dict[str, Any]) -> list[str]:
    hits = [f"signal {s['id']} ({s['code']})" for s in evidence["signals"] if s["code"] in codes]
    for inspection in evidence["inspections"]:
        hits += [
            f"finding {f['code']} of inspection {inspection['id']}"
            for f in inspection["findings"]
            if f["code"] in codes
        ]
    return hits


def assemble(
    session: Session, loan: Loan, customer: Customer, rules: DueDiligenceRules, as_of: date
) -> dict[str, Any]:
    """Everything the deliberation needs, with dates, as plain JSON."""
    inspections = _inspections(session, loan, as_of)
    ratio, new_loans, npl_loans = branch_npl_ratio(
        session, customer.branch, as_of, rules.new_loan_months
    )
    tolerance = rules.tolerance(customer.branch)
    evidence: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "loan": {
            "id": loan.id,
            "product": loan.product,
            "amount": str(loan.amount),
            "currency": loan.currency,
            "disbursed_on": loan.disbursed_on.isoformat(),
            "segment": customer.segment,
            "branch": customer.branch,
            "loan_type": rules.loan_type(loan.product, customer.segment),
            "risk_class": loan.risk_class,
            "risk_class_reason": loan.risk_class_reason,
        },
        "account_manager": customer.account_manager,
        "inspections": inspections,
        "first_inspection": _first_inspection(loan, inspections, as_of),
        "approval_conditions": _approval_conditions(inspections),
        "signals": _signals(session, loan, as_of),
        "rectifications": _rectifications(session, loan, as_of),
        "branch_npl_new_loans": {
            "branch": customer.branch,
            "months": rules.new_loan_months,
            "loans": new_loans,
            "npl_loans": npl_loans,
            "ratio_pct": ratio,
            "tolerated_below": tolerance.tolerated_below,
            "general_below": tolerance.general_below,
            "band": tolerance.band(ratio),
        },
    }
    evidence["flags"] = {
        "fraud": _flagged(rules.fraud_codes, evidence),
        "collusion": _flagged(rules.collusion_codes, evidence),
    }
    actions = [
        *(i for i in inspections if i["timeliness"] != CANCELLED),
        *evidence["signals"],
        *evidence["rectifications"],
    ]
    evidence["summary"] = {
        "prescribed": sum(1 for a in actions if a["timeliness"] != NOT_DUE),
        "on_time": sum(1 for a in actions if a["timeliness"] == ON_TIME),
        "late": sum(1 for a in actions if a["timeliness"] == LATE),
        "missing": sum(1 for a in actions if a["timeliness"] == MISSING),
    }
    return evidence


def decision_inputs(
    evidence: dict[str, Any],
    *,
    fraud: bool = False,
    collusion: bool = False,
    serious_breach: bool = False,
) -> dict[str, Any]:
    """The variables of decision ``exemption_rules`` (flags recorded in the deliberation add to
    what the evidence flags)."""
    summary = evidence["summary"]
    return {
        "loan_type": evidence["loan"]["loan_type"],
        "amount": float(Decimal(evidence["loan"]["amount"])),
        "all_actions_on_time": summary["late"] == 0 and summary["missing"] == 0,
        "late_actions": summary["late"],
        "lapses": summary["late"] + summary["missing"],
        "missing_actions": summary["missing"],
        "first_inspection_skipped": bool(evidence["first_inspection"]["skipped"]),
        "serious_breach": bool(serious_breach),
        "fraud": bool(fraud or evidence["flags"]["fraud"]),
        "collusion": bool(collusion or evidence["flags"]["collusion"]),
        "npl_band": evidence["branch_npl_new_loans"]["band"],
    }
