"""The post-loan dossier of a customer, assembled into a credit application.

Pure domain over the database (no engine, no HTTP): what post-loan monitoring knows about the
customer when it applies for new credit — the latest inspection reports, open early-warning
signals, rectifications, active restrictions, the class of each loan with its history, the
business opportunities captured in inspections and visits, and the account manager's post-loan
indicators. :func:`gate_inputs` reduces it to the inputs of the DMN
``approval_gate``; :func:`gate_reasons` lists every concern that applies, for the approver.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan.classification.rules import CLASSES, is_npl, rank
from postloan.customers.models import Customer
from postloan.errors import NotFound
from postloan.inspections.models import Inspection, InspectionStatus
from postloan.loans.models import ClassificationChange, Loan
from postloan.opportunities import service as opportunities
from postloan.rectifications.models import Rectification, Restriction
from postloan.signals.models import RiskSignal, SignalStatus

#: How many completed inspections the dossier shows, newest first.
LATEST_INSPECTIONS = 3
#: Closed rectifications younger than this many days are shown as "recently closed".
RECENTLY_CLOSED_DAYS = 365
SEVERITY_ORDER = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
SERIOUS_RECTIFICATION = frozenset({"serious", "critical"})
OPEN_RECTIFICATION = frozenset({"open", "evidence_submitted", "reopened", "escalated"})
ACTIVE_RESTRICTION = frozenset({"active", "lift_requested"})


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _report_summary(inspection: Inspection) -> str:
    report = inspection.report or {}
    inspector = report.get("inspector") or {}
    review = report.get("review") or {}
    parts = [inspector.get("findings") or ""]
    if review.get("decision"):
        parts.append(
            f"review: {review['decision']}"
            + (f" ({review['comment']})" if review.get("comment") else "")
        )
    checks = [c for c in report.get("checks") or [] if c.get("severity") not in (None, "info")]
    if checks:
        parts.append(
            f"{len(checks)} check finding(s): "
            + "; ".join(c.get("summary", "") for c in checks[:3])
        )
    return " | ".join(p for p in parts if p)


def _inspections(session: Session, loan_ids: list[str]) -> list[dict[str, Any]]:
    if not loan_ids:
        return []
    rows = session.scalars(
        select(Inspection)
        .where(Inspection.loan_id.in_(loan_ids), Inspection.status == InspectionStatus.COMPLETED)
        .order_by(Inspection.completed_at.desc())
        .limit(LATEST_INSPECTIONS)
    )
    return [
        {
            "id": i.id,
            "loan_id": i.loan_id,
            "kind": i.kind,
            "completed_at": _iso(i.completed_at),
            "conclusion": i.conclusion,
            "risk_class": i.risk_class,
            "inspector": i.inspector,
            "reviewer": i.reviewer,
            "summary": _report_summary(i),
        }
        for i in rows
    ]


def _signals(session: Session, customer_id: str) -> list[dict[str, Any]]:
    rows = list(
        session.scalars(
            select(RiskSignal).where(
                RiskSignal.customer_id == customer_id, RiskSignal.status != SignalStatus.RESOLVED
            )
        )
    )
    rows.sort(key=lambda s: (SEVERITY_ORDER.get(s.severity, 9), s.respond_by, s.id))
    return [
        {
            "id": s.id,
            "code": s.code,
            "loan_id": s.loan_id,
            "severity": s.severity,
            "status": s.status,
            "summary": s.summary,
            "respond_by": _iso(s.respond_by),
            "owner_role": s.owner_role,
        }
        for s in rows
    ]


def _rectifications(session: Session, customer_id: str, today: date) -> dict[str, list]:
    rows = session.scalars(
        select(Rectification)
        .where(Rectification.customer_id == customer_id)
        .order_by(Rectification.deadline)
    )
    since = datetime.combine(
        today - timedelta(days=RECENTLY_CLOSED_DAYS), datetime.min.time(), tzinfo=UTC
    )
    open_, closed = [], []
    for r in rows:
        item = {
            "id": r.id,
            "loan_id": r.loan_id,
            "source": r.source,
            "title": r.title,
            "severity": r.severity,
            "status": r.status,
            "owner": r.owner,
            "deadline": _iso(r.deadline),
            "closed_at": _iso(r.closed_at),
            "overdue": r.status in OPEN_RECTIFICATION and r.deadline < today,
        }
        if r.status in OPEN_RECTIFICATION:
            open_.append(item)
        elif r.closed_at is not None and _aware(r.closed_at) >= since:
            closed.append(item)
    return {"open": open_, "recently_closed": closed}


def _restrictions(session: Session, customer_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Restriction)
        .where(Restriction.customer_id == customer_id, Restriction.status.in_(ACTIVE_RESTRICTION))
        .order_by(Restriction.started_at)
    )
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "status": r.status,
            "reason": r.reason,
            "rectification_id": r.rectification_id,
            "started_at": _iso(r.started_at),
            "started_by": r.started_by,
        }
        for r in rows
    ]


def _loans(session: Session, loans: Iterable[Loan]) -> list[dict[str, Any]]:
    out = []
    for loan in loans:
        history = session.scalars(
            select(ClassificationChange)
            .where(ClassificationChange.loan_id == loan.id)
            .order_by(ClassificationChange.at, ClassificationChange.id)
        )
        out.append(
            {
                "id": loan.id,
                "product": loan.product,
                "amount": str(loan.amount),
                "currency": loan.currency,
                "risk_class": loan.risk_class,
                "risk_class_reason": loan.risk_class_reason,
                "npl": is_npl(loan.risk_class),
                "delinquency_bucket": loan.delinquency_bucket,
                "classification_history": [
                    {
                        "at": _iso(c.at),
                        "from_class": c.from_class,
                        "to_class": c.to_class,
                        "reason": c.reason,
                        "source": c.source,
                        "status": c.status,
                        "decided_by": c.decided_by,
                    }
                    for c in history
                ],
            }
        )
    return out


def account_manager_indicators(
    session: Session, account_manager: str, today: date
) -> dict[str, Any]:
    """The account manager's post-loan record over all their customers, from the database.

    Each indicator says what it counts; a rework count is not stored, so it is not reported.
    """
    loan_ids = list(
        session.scalars(
            select(Loan.id)
            .join(Customer, Customer.id == Loan.customer_id)
            .where(Customer.account_manager == account_manager)
        )
    )
    customer_ids = list(
        session.scalars(select(Customer.id).where(Customer.account_manager == account_manager))
    )
    on_time = late = 0
    if loan_ids:
        for due_on, completed_at in session.execute(
            select(Inspection.due_on, Inspection.completed_at).where(
                Inspection.loan_id.in_(loan_ids),
                Inspection.status == InspectionStatus.COMPLETED,
                Inspection.due_on.is_not(None),
            )
        ):
            if completed_at is not None and due_on is not None and completed_at.date() <= due_on:
                on_time += 1
            else:
                late += 1
    signals_overdue = 0
    rect_on_time = rect_late = 0
    if customer_ids:
        signals_overdue = len(
            list(
                session.scalars(
                    select(RiskSignal.id).where(
                        RiskSignal.customer_id.in_(customer_ids),
                        RiskSignal.status != SignalStatus.RESOLVED,
                        RiskSignal.respond_by < today,
                    )
                )
            )
        )
        for deadline, closed_at in session.execute(
            select(Rectification.deadline, Rectification.closed_at).where(
                Rectification.customer_id.in_(customer_ids), Rectification.status == "closed"
            )
        ):
            if closed_at is not None and closed_at.date() <= deadline:
                rect_on_time += 1
            else:
                rect_late += 1
    done = on_time + late
    closed = rect_on_time + rect_late
    return {
        "account_manager": account_manager,
        "inspections_on_time": {
            "value": on_time,
            "late": late,
            "rate": round(on_time / done, 3) if done else None,
            "meaning": "completed inspections with a due date finished on or before it (late: "
            "after it), over all loans of the account manager's customers",
        },
        "signals_past_response_deadline": {
            "value": signals_overdue,
            "meaning": "early-warning signals of the account manager's customers still not "
            "resolved after their respond_by date",
        },
        "rectifications_closed_on_time": {
            "value": rect_on_time,
            "late": rect_late,
            "rate": round(rect_on_time / closed, 3) if closed else None,
            "meaning": "closed rectifications of the account manager's customers verified on "
            "or before their deadline (late: after it)",
        },
        "rework": {"value": None, "meaning": "not reported: rework of inspections is not stored"},
    }


def assemble(session: Session, customer_id: str, today: date | None = None) -> dict[str, Any]:
    """The customer's post-loan dossier as plain JSON-able data."""
    today = today or date.today()
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist", field="customer_id")
    loans = list(
        session.scalars(select(Loan).where(Loan.customer_id == customer_id).order_by(Loan.id))
    )
    return {
        "assembled_on": today.isoformat(),
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "segment": customer.segment,
            "branch": customer.branch,
            "account_manager": customer.account_manager,
            "credit_rating": customer.credit_rating,
        },
        "inspections": _inspections(session, [loan.id for loan in loans]),
        "signals": _signals(session, customer_id),
        "rectifications": _rectifications(session, customer_id, today),
        "restrictions": _restrictions(session, customer_id),
        "loans": _loans(session, loans),
        # the business needs the customer mentioned in inspections and visits (issue 11)
        "opportunities": [
            opportunities.as_dict(o) for o in opportunities.of_customer(session, customer_id)
        ],
        "account_manager_indicators": account_manager_indicators(
            session, customer.account_manager, today
        ),
    }


def worst_class(dossier: dict[str, Any]) -> str:
    classes = [loan["risk_class"] for loan in dossier["loans"] if loan["risk_class"] in CLASSES]
    return max(classes, key=rank) if classes else CLASSES[0]


def gate_inputs(dossier: dict[str, Any]) -> dict[str, Any]:
    """The inputs of the DMN ``approval_gate`` (process variables of the same names)."""
    signals = dossier["signals"]
    return {
        "active_restrictions": len(dossier["restrictions"]),
        "open_serious_rectifications": sum(
            1 for r in dossier["rectifications"]["open"] if r["severity"] in SERIOUS_RECTIFICATION
        ),
        "worst_class": worst_class(dossier),
        "npl": any(loan["npl"] for loan in dossier["loans"]),
        "open_red_signals": sum(1 for s in signals if s["severity"] == "red"),
        "open_orange_signals": sum(1 for s in signals if s["severity"] == "orange"),
    }


def gate_reasons(dossier: dict[str, Any]) -> list[str]:
    """Every concern in the dossier, worst first (the DMN gives the deciding one)."""
    reasons = []
    for r in dossier["restrictions"]:
        reasons.append(f"Customer under restriction: {r['kind']} ({r['status']}): {r['reason']}")
    for r in dossier["rectifications"]["open"]:
        if r["severity"] in SERIOUS_RECTIFICATION:
            reasons.append(
                f"Open {r['severity']} rectification {r['id']}: {r['title']} "
                f"(deadline {r['deadline']})"
            )
    for loan in dossier["loans"]:
        if loan["risk_class"] != CLASSES[0]:
            reasons.append(
                f"Loan {loan['id']} classified {loan['risk_class']}: {loan['risk_class_reason']}"
            )
    for s in dossier["signals"]:
        if s["severity"] in ("red", "orange"):
            reasons.append(f"Open {s['severity']} signal {s['code']}: {s['summary']}")
    for r in dossier["rectifications"]["open"]:
        if r["severity"] not in SERIOUS_RECTIFICATION:
            reasons.append(f"Open {r['severity']} rectification {r['id']}: {r['title']}")
    return reasons


def summary(dossier: dict[str, Any]) -> str:
    """A short text for the approver's form (markdown-free, one line per subject)."""
    inputs = gate_inputs(dossier)
    ind = dossier["account_manager_indicators"]
    lines = [
        f"Customer {dossier['customer']['id']} ({dossier['customer']['name']}), account manager "
        f"{dossier['customer']['account_manager']}.",
        f"Loans: {len(dossier['loans'])}; worst class {inputs['worst_class']}"
        + ("; non-performing" if inputs["npl"] else "")
        + ".",
        f"Active restrictions: {inputs['active_restrictions']}. Open rectifications: "
        f"{len(dossier['rectifications']['open'])} ({inputs['open_serious_rectifications']} "
        f"serious or critical); recently closed: "
        f"{len(dossier['rectifications']['recently_closed'])}.",
        f"Open signals: {len(dossier['signals'])} ({inputs['open_red_signals']} red, "
        f"{inputs['open_orange_signals']} orange).",
    ]
    for i in dossier["inspections"]:
        lines.append(
            f"Inspection {i['id']} ({i['kind']}, {i['completed_at'][:10]}): "
            f"{i['conclusion'] or '-'}, class {i['risk_class'] or '-'}. {i['summary']}"
        )
    if not dossier["inspections"]:
        lines.append("No completed inspection yet.")
    for o in dossier.get("opportunities", []):
        lines.append(
            f"Business opportunity {o['id']} ({o['kind_label']}, captured {o['captured_on']}): "
            f"{o['outcome']}, follow-up {o['follow_up_on']}, owner {o['owner']}. {o['note']}"
        )
    on_time = ind["inspections_on_time"]
    lines.append(
        f"Account manager: {on_time['value']} inspection(s) on time, {on_time['late']} "
        f"late; {ind['signals_past_response_deadline']['value']} signal(s) past their "
        f"response deadline; {ind['rectifications_closed_on_time']['value']} "
        f"rectification(s) closed on time, "
        f"{ind['rectifications_closed_on_time']['late']} late."
    )
    return "\n".join(lines)
