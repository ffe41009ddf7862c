"""What the people of an inspection see on their forms, assembled from the database.

The perform form (account manager) shows the loan and its customer, the class and why, the
automated checks' findings with their evidence, the open risk signals, why a special inspection
was started and the conditions of the credit approval; the review form (post-loan officer) shows
each point with its result in words ("not applicable" is not "unticked"), the signals and the
contradictions between the inspector's conclusion and the record (:func:`consistency_warnings`).

Everything is read fresh right before the task is created (the ``inspection.prepare-*-form``
steps), so the form never shows what a check found last week. Codes, dates and amounts are put in
words here, once, so every form reads the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan.customers.models import Customer
from postloan.events.models import ExternalEvent
from postloan.inspections import service as inspections
from postloan.inspections.models import Inspection, InspectionItem, InspectionKind
from postloan.loans import service as loans
from postloan.loans.models import ApprovalCondition, Loan, Repayment
from postloan.plans.catalogue import Catalogue, CatalogueError, catalogue
from postloan.signals.models import RiskSignal

KIND_WORDS = {
    InspectionKind.FIRST: "First inspection after disbursement",
    InspectionKind.ROUTINE: "Routine inspection",
    InspectionKind.SPECIAL: "Special inspection",
}
CLASS_WORDS = {
    "normal": "Normal",
    "special_mention": "Special mention",
    "substandard": "Substandard",
    "doubtful": "Doubtful",
    "loss": "Loss",
}
SEVERITY_WORDS = {
    "red": "Red",
    "orange": "Orange",
    "yellow": "Yellow",
    "blue": "Blue",
    "none": "For the record",
}
SEVERITY_ORDER = {"red": 0, "orange": 1, "yellow": 2, "blue": 3, "none": 4}
RESULT_WORDS = {"ok": "In order", "not_ok": "Not in order", "not_applicable": "Not applicable"}
SOURCE_WORDS = {
    "repayment": "Repayment",
    "financials": "Financial statements",
    "collateral": "Collateral",
    "external": "External information",
    "use_of_funds": "Use of funds",
    "onsite_verification": "On-site verification",
}
SIGNAL_STATUS_WORDS = {
    "open": "open",
    "acknowledged": "acknowledged",
    "escalated": "escalated",
    "resolved": "resolved",
}
#: Conclusions of the perform form that say "nothing wrong".
NO_CONCERNS = ("satisfactory",)
CONCLUSION_WORDS = {
    "satisfactory": "Satisfactory (no concerns)",
    "concerns": "Concerns",
    "serious_concerns": "Serious concerns",
}
#: Evidence values that are ratios (shown as percentages).
RATIO_KEYS = ("ltv", "equity_ratio", "margin")
RATIO_SUFFIXES = ("_ratio", "_drop", "_change", "_share")
#: Kinds whose inspectors work with the conditions of the credit approval.
CONDITION_KINDS = (InspectionKind.FIRST, InspectionKind.ROUTINE)


def day_in_words(day: date | str | None) -> str:
    """``2026-12-02`` as ``2 Dec 2026`` (an empty string for no date)."""
    if day in (None, ""):
        return ""
    value = date.fromisoformat(day[:10]) if isinstance(day, str) else day
    return f"{value.day} {value.strftime('%b %Y')}"


def money(amount: Decimal | float | str | None, currency: str = "") -> str:
    """``500000`` as ``500,000.00 CNY``."""
    if amount in (None, ""):
        return ""
    text = f"{Decimal(str(amount)):,.2f}"
    return f"{text} {currency}".strip()


#: Evidence keys a check writes, as a reader says them (others: the key with spaces).
EVIDENCE_WORDS = {
    "instalments": "instalments on record",
    "window": "instalments compared",
    "late_older": "late before",
    "late_newer": "late recently",
    "overdue": "overdue",
    "band_from_days": "band from days",
}
#: Evidence keys that are bookkeeping, not numbers a person weighs.
EVIDENCE_SKIPPED = ("as_of", "scope", "loan_id", "customer_id")


def _words(key: str) -> str:
    return EVIDENCE_WORDS.get(key, key.replace("_", " "))


def evidence_in_words(evidence: Mapping[str, Any]) -> str:
    """The numbers a check used, one phrase each: scalars as ``name value``, lists counted.

    Dates read as dates and ratios as percentages; the check date comes last."""
    parts = []
    for key, value in evidence.items():
        if key in EVIDENCE_SKIPPED or value is None:
            continue
        if isinstance(value, list):
            parts.append(f"{len(value)} {_words(key)}")
        elif isinstance(value, dict):
            continue
        elif isinstance(value, bool):
            parts.append(f"{_words(key)}: {'yes' if value else 'no'}")
        elif isinstance(value, float) and (key in RATIO_KEYS or key.endswith(RATIO_SUFFIXES)):
            parts.append(f"{_words(key)} {value:.0%}")
        elif isinstance(value, str) and len(value) == 10 and value[4:5] == "-" == value[7:8]:
            parts.append(f"{_words(key)} {day_in_words(value)}")
        else:
            parts.append(f"{_words(key)} {value}")
    if evidence.get("as_of"):
        parts.append(f"checked on {day_in_words(str(evidence['as_of']))}")
    return " · ".join(parts)


def outstanding_balance(session: Session, loan: Loan) -> Decimal:
    """The amount less the principal and instalments repaid (interest-only payments do not
    reduce it); never below zero."""
    repaid = session.scalar(
        select(func.coalesce(func.sum(Repayment.paid_amount), 0)).where(
            Repayment.loan_id == loan.id, Repayment.kind != "interest"
        )
    )
    return max(Decimal(loan.amount) - Decimal(str(repaid or 0)), Decimal("0"))


def findings_for_form(session: Session, inspection_id: str) -> list[dict[str, str]]:
    """The automated checks' findings, the most severe first, with their evidence in words."""
    rows = [
        f for f in inspections.findings(session, inspection_id) if f.source != "onsite_verification"
    ]
    rows.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.id))
    return [
        {
            "check": SOURCE_WORDS.get(f.source, _words(f.source).capitalize()),
            "severity": SEVERITY_WORDS.get(f.severity, f.severity),
            "code": f.code,
            "finding": f.summary,
            "evidence": evidence_in_words(f.evidence or {}),
        }
        for f in rows
    ]


def signals_for_form(session: Session, loan: Loan) -> list[dict[str, str]]:
    """The customer's signals not yet resolved (of this loan or the whole customer), the most
    severe first, with their response deadline in words."""
    today = date.today()
    rows = sorted(
        inspections.open_signals(session, loan),
        key=lambda s: (SEVERITY_ORDER.get(s["severity"], 9), s["respond_by"], s["id"]),
    )
    out = []
    for s in rows:
        due = date.fromisoformat(s["respond_by"])
        late = " (overdue)" if due < today else ""
        out.append(
            {
                "severity": SEVERITY_WORDS.get(s["severity"], s["severity"]),
                "signal": s["summary"],
                "code": s["code"],
                "status": SIGNAL_STATUS_WORDS.get(s["status"], s["status"]),
                "respond_by": f"{day_in_words(due)}{late}",
                "raw_severity": s["severity"],
            }
        )
    return out


def trigger_in_words(session: Session, inspection: Inspection) -> str:
    """What started an inspection: its reason and, for a special one, the record behind it."""
    reason = inspection.reason or ""
    ref = inspection.trigger_ref or ""
    prefix, _, key = ref.partition(":")
    source = ""
    if prefix == "event" and key.isdigit():
        event = session.get(ExternalEvent, int(key))
        if event is not None:
            source = (
                f"external event of {day_in_words(event.occurred_on)}: "
                f"{_words(event.kind)} reported by {event.source}"
            )
    elif prefix == "signal" and key.isdigit():
        signal = session.get(RiskSignal, int(key))
        if signal is not None:
            source = f"{signal.severity} signal: {signal.summary}"
    elif prefix == "request" and key:
        source = f"requested by {key}"
    elif prefix == "repayment":
        source = "the loan's repayment record"
    if source and source.lower() not in reason.lower():
        return f"{reason} — {source}" if reason else source
    return reason


def approval_conditions(
    session: Session, inspection: Inspection, loan: Loan
) -> list[dict[str, str]]:
    """The conditions of the credit approval with where each stands.

    A first inspection verifies each as a point of its checklist; a routine inspection shows
    them with what the last completed inspection that checked them recorded. Special
    inspections are about their trigger and show none."""
    if inspection.kind not in CONDITION_KINDS:
        return []
    conditions = list(
        session.scalars(
            select(ApprovalCondition)
            .where(ApprovalCondition.loan_id == loan.id)
            .order_by(ApprovalCondition.seq)
        )
    )
    if not conditions:
        return []
    own = {i.code: i for i in inspections.items(session, inspection.id)}
    last = _last_condition_results(session, loan.id, inspection.id)
    out = []
    for c in conditions:
        code = f"cond.{c.seq}"
        if code in own:
            status = "Verify it below as a point of this inspection"
        elif code in last:
            result, completed_on = last[code]
            status = (
                f"{RESULT_WORDS.get(result or '', 'Not recorded')} at the inspection of "
                f"{day_in_words(completed_on)}; confirm it still holds"
            )
        else:
            status = "Not verified by any completed inspection yet: verify it and say so"
        out.append({"condition": c.text, "status": status})
    return out


def _last_condition_results(
    session: Session, loan_id: str, except_inspection: str
) -> dict[str, tuple[str | None, date | None]]:
    rows = session.execute(
        select(InspectionItem.code, InspectionItem.result, Inspection.completed_at)
        .join(Inspection, Inspection.id == InspectionItem.inspection_id)
        .where(
            Inspection.loan_id == loan_id,
            Inspection.id != except_inspection,
            Inspection.completed_at.is_not(None),
            InspectionItem.source == "approval_condition",
        )
        .order_by(Inspection.completed_at)
    ).all()
    # Later inspections overwrite earlier ones.
    return {
        code: (result, completed_at.date() if completed_at else None)
        for code, result, completed_at in rows
    }


def _product_name(loan: Loan, cat: Catalogue | None) -> str:
    try:
        return (cat or catalogue()).product(loan.product).name
    except (CatalogueError, KeyError):
        return loan.product


@dataclass(frozen=True)
class Links:
    """The pages behind the forms' links (built by the API; ``/pages/...`` with a login)."""

    report_url: str
    dossier_url: str

    @classmethod
    def for_inspection(cls, base: str, inspection_id: str, customer_id: str) -> Links:
        base = base.rstrip("/")
        return cls(
            report_url=f"{base}/pages/inspections/{inspection_id}",
            dossier_url=f"{base}/pages/customers/{customer_id}/dossier",
        )


def perform_context(
    session: Session,
    inspection_id: str,
    *,
    proposed: Mapping[str, Any] | None = None,
    cat: Catalogue | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The perform form's ``form_context``: who, what, how risky, what the checks found."""
    as_of = as_of or date.today()
    inspection = inspections.get(session, inspection_id)
    loan = loans.get(session, inspection.loan_id)
    customer = session.get(Customer, loan.customer_id)
    arrears, _ = loans.arrears(session, loan.id, as_of)
    proposed = proposed or {}
    proposed_class = str(proposed.get("risk_class") or "")
    findings = findings_for_form(session, inspection_id)
    signals = signals_for_form(session, loan)
    conditions = approval_conditions(session, inspection, loan)
    kind_words = KIND_WORDS.get(InspectionKind(inspection.kind), inspection.kind)
    return {
        "inspection_id": inspection.id,
        "kind": inspection.kind,
        "kind_words": kind_words,
        "is_special": inspection.kind == InspectionKind.SPECIAL,
        "trigger": trigger_in_words(session, inspection),
        "due_on": day_in_words(inspection.due_on),
        "mode": _words(inspection.mode),
        "customer_id": loan.customer_id,
        "customer_name": customer.name if customer else loan.customer_id,
        "segment": customer.segment if customer else "",
        "loan_id": loan.id,
        "product": _product_name(loan, cat),
        "purpose": loan.purpose,
        "amount": money(loan.amount, loan.currency),
        "balance": money(outstanding_balance(session, loan), loan.currency),
        "disbursed_on": day_in_words(loan.disbursed_on),
        "maturity_on": day_in_words(loan.maturity_on),
        "days_past_due": arrears.days_past_due,
        "overdue_amount": money(arrears.overdue_amount, loan.currency),
        "risk_class": CLASS_WORDS.get(loan.risk_class, loan.risk_class),
        "risk_class_reason": loan.risk_class_reason,
        "proposed_class": CLASS_WORDS.get(proposed_class, proposed_class),
        "proposed_reason": str(proposed.get("reason") or ""),
        "findings": findings,
        "findings_count": len(findings),
        "warnings_count": sum(1 for f in findings if f["severity"] != SEVERITY_WORDS["none"]),
        "signals": signals,
        "signals_count": len(signals),
        "red_signals": sum(1 for s in signals if s["raw_severity"] == "red"),
        "approval_conditions": conditions,
        "has_conditions": bool(conditions),
        "as_of": day_in_words(as_of),
    }


def points_for_review(items: Iterable[InspectionItem]) -> list[dict[str, str]]:
    """Each point with its result in words (not applicable is said, not left unticked)."""
    return [
        {
            "point": i.label,
            "evidence": i.evidence_required or "",
            "result": RESULT_WORDS.get(i.result or "", "Not answered"),
            "note": i.note or "",
        }
        for i in items
    ]


def consistency_warnings(
    conclusion: str | None,
    items: Iterable[InspectionItem],
    signals: Iterable[Mapping[str, Any]],
) -> list[str]:
    """Where the inspector's conclusion contradicts the record, in the reviewer's words.

    - "no concerns" while points are not in order;
    - "no concerns" while a red signal is open (the customer's, not yet resolved);
    - concerns stated while every point is in order or not applicable and no signal is open
      (what is the concern?);
    - every point marked not applicable (nothing was verified).
    """
    points, signals = list(items), list(signals)
    not_ok = [i.label for i in points if i.result not in ("ok", "not_applicable")]
    red = [s for s in signals if s.get("severity") == "red"]
    warnings = []
    if conclusion in NO_CONCERNS and not_ok:
        warnings.append(
            f'The conclusion is "no concerns" but {len(not_ok)} point(s) are not in order: '
            + "; ".join(not_ok)
        )
    if conclusion in NO_CONCERNS and red:
        warnings.append(
            f'The conclusion is "no concerns" but {len(red)} red signal(s) are open: '
            + "; ".join(str(s.get("summary", s.get("code", ""))) for s in red)
        )
    if conclusion and conclusion not in NO_CONCERNS and points and not not_ok and not signals:
        warnings.append(
            "The conclusion reports concerns but every point is in order or not applicable and "
            "no signal is open: the findings must say what the concern is"
        )
    if points and all(i.result == "not_applicable" for i in points):
        warnings.append("Every point is marked not applicable: nothing was verified")
    return warnings


def review_context(
    session: Session,
    inspection_id: str,
    *,
    conclusion: str | None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The review form's ``review_context``: the recorded points in words, the signals, and
    the consistency warnings of the inspector's conclusion."""
    as_of = as_of or date.today()
    inspection = inspections.get(session, inspection_id)
    loan = loans.get(session, inspection.loan_id)
    customer = session.get(Customer, loan.customer_id)
    points = inspections.items(session, inspection_id)
    raw_signals = inspections.open_signals(session, loan)
    warnings = consistency_warnings(conclusion, points, raw_signals)
    rows = points_for_review(points)
    arrears, _ = loans.arrears(session, loan.id, as_of)
    return {
        "inspection_id": inspection.id,
        "kind_words": KIND_WORDS.get(InspectionKind(inspection.kind), inspection.kind),
        "trigger": trigger_in_words(session, inspection),
        "customer_name": customer.name if customer else loan.customer_id,
        "customer_id": loan.customer_id,
        "loan_id": loan.id,
        "amount": money(loan.amount, loan.currency),
        "days_past_due": arrears.days_past_due,
        "risk_class": CLASS_WORDS.get(loan.risk_class, loan.risk_class),
        "conclusion": CONCLUSION_WORDS.get(conclusion or "", conclusion or "none given"),
        "points": rows,
        "points_in_order": sum(1 for i in points if i.result == "ok"),
        "points_not_in_order": sum(1 for i in points if i.result not in ("ok", "not_applicable")),
        "points_not_applicable": sum(1 for i in points if i.result == "not_applicable"),
        "signals": signals_for_form(session, loan),
        "warnings": warnings,
        "has_warnings": bool(warnings),
        "findings": findings_for_form(session, inspection_id),
    }
