"""The review in words for the Tasklist forms (read-only text areas): the evidence with its
dates, the proposal with every reason, the deliberation and the determination.

People are named as ``config/identities.yaml`` names them (``Li Wei (am_li)``), the id alone
where it has no name; dates as ``2 Dec 2026``; a check that found nothing wrong (severity
``none``) is not listed among the findings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from postloan.customers.references import branches
from postloan.due_diligence.models import DueDiligenceReview
from postloan.inspections.form_context import day_in_words, money
from postloan.plans.catalogue import CatalogueError, catalogue

IDENTITIES_FILE = Path(__file__).resolve().parents[2] / "config" / "identities.yaml"

OUTCOME_WORDS = {
    "exempt": "exempt",
    "reduced": "reduced accountability",
    "full_accountability": "full accountability",
}
KIND_WORDS = {
    "first": "First inspection",
    "routine": "Routine inspection",
    "special": "Special inspection",
}
MODE_WORDS = {"on_site": "on site", "desk": "desk review", "outsourced": "outsourced visit"}
RESULT_WORDS = {"ok": "in order", "not_ok": "NOT in order", "not_applicable": "not applicable"}
DECISION_WORDS = {"approve": "approved", "rework": "returned for rework"}


@lru_cache
def person_names(path: Path = IDENTITIES_FILE) -> dict[str, str]:
    """Engine user id -> "First Last" of the people the configuration names."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError:
        return {}
    names: dict[str, str] = {}
    for user in raw.get("demo_users") or []:
        if isinstance(user, dict) and user.get("id"):
            full = f"{user.get('first') or ''} {user.get('last') or ''}".strip()
            if full:
                names[str(user["id"])] = full
    return names


def person(user: str | None) -> str:
    """``Li Wei (am_li)``; the id alone when nobody by that id is named; ``-`` for nobody."""
    if not user:
        return "-"
    name = person_names().get(user)
    return f"{name} ({user})" if name else user


def _day(value: str | None) -> str:
    return day_in_words(value) if value else "-"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _state(item: dict[str, Any]) -> str:
    """How an action stands against its deadline, in words."""
    state, days = item.get("timeliness"), int(item.get("days_late") or 0)
    if state == "on_time":
        return "on time"
    if state == "late":
        return f"LATE by {_days(days)}"
    if state == "missing":
        return f"MISSING, {_days(days)} past its deadline"
    if state == "not_due":
        return "not due yet"
    return str(state or "-")


def _product(code: str) -> str:
    try:
        product = catalogue().products.get(code)
    except CatalogueError:
        product = None
    return f"{product.name} ({code})" if product is not None else code


def _inspection_lines(i: dict[str, Any]) -> list[str]:
    kind = KIND_WORDS.get(i["kind"], i["kind"])
    head = f"- {kind} {i['id']} ({MODE_WORDS.get(i['mode'], i['mode'])}), due {_day(i['due_on'])}: "
    if i["timeliness"] == "cancelled":
        head += "cancelled" + (f" ({i['cancel_reason']})" if i.get("cancel_reason") else "")
    elif i["done_on"]:
        head += (
            f"done {_day(i['done_on'])} by {person(i['inspector'])}, reviewed by "
            f"{person(i['reviewer'])}: {_state(i)}"
            + (f"; conclusion {i['conclusion']}" if i["conclusion"] else "")
        )
    else:
        head += f"not done yet ({_state(i)})"
    if i.get("rework_count"):
        head += f"; returned for rework {i['rework_count']}x"
    lines = [head]
    answered = [item for item in i["items"] if item["result"]]
    if answered:
        in_order = sum(1 for item in answered if item["result"] == "ok")
        na = sum(1 for item in answered if item["result"] == "not_applicable")
        lines.append(
            f"    checklist: {in_order} of {len(i['items'])} points in order"
            + (f", {na} not applicable" if na else "")
        )
        lines += [
            f"    NOT in order: {item['label']}" + (f" — {item['note']}" if item["note"] else "")
            for item in answered
            if item["result"] == "not_ok"
        ]
    if i.get("inspector_notes"):
        lines.append(f"    inspector's notes: {i['inspector_notes']}")
    review = i.get("review") or {}
    if review.get("comment"):
        decision = DECISION_WORDS.get(review.get("decision") or "", review.get("decision") or "")
        lines.append(f"    review: {decision} — {review['comment']}")
    lines += [
        f"    finding ({f['severity']}): {f['summary']} [{f['code']}]"
        for f in i["findings"]
        if f["severity"] != "none"
    ]
    if i.get("onsite_verification"):
        lines.append(f"    on-site verification: {i['onsite_verification']}")
    return lines


def _first_inspection(first: dict[str, Any], inspections: list[dict[str, Any]]) -> str:
    line = f"First inspection after disbursement (deadline {_day(first['deadline'])}): "
    found = next((i for i in inspections if i["id"] == first.get("inspection_id")), None)
    if first["skipped"]:
        line += "SKIPPED" + (
            f" ({_state(found)})" if found else " (none on record after its deadline)"
        )
    elif found is not None and found["done_on"]:
        line += f"done {_day(found['done_on'])} by {person(found['inspector'])}, {_state(found)}"
    else:
        line += "not due yet"
    return line + (f" — inspection {first['inspection_id']}" if first["inspection_id"] else "")


def _actions(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *(i for i in evidence["inspections"] or [] if i["timeliness"] != "cancelled"),
        *evidence["signals"],
        *evidence["rectifications"],
    ]


def evidence_text(evidence: dict[str, Any]) -> str:
    loan, npl, summary = evidence["loan"], evidence["branch_npl_new_loans"], evidence["summary"]
    inspections = evidence["inspections"] or []
    branch_name = branches().get(loan["branch"])
    branch = f"{loan['branch']} {branch_name}" if branch_name else loan["branch"]
    not_due = sum(1 for a in _actions(evidence) if a["timeliness"] == "not_due")
    lines = [
        f"Loan {loan['id']}: {_product(loan['product'])}, {money(loan['amount'], loan['currency'])}"
        f", disbursed {_day(loan['disbursed_on'])}; {loan['segment']} customer of branch {branch} "
        f"(loan type for the rules: {loan['loan_type']}); now {loan['risk_class']}.",
        f"Account manager under review: {person(evidence['account_manager'])}. Evidence as of "
        f"{_day(evidence['as_of'])}.",
        f"Prescribed actions due so far: {summary['prescribed']} — on time {summary['on_time']}, "
        f"late {summary['late']}, missing {summary['missing']}"
        + (f" (not due yet: {not_due})." if not_due else "."),
        _first_inspection(evidence["first_inspection"], inspections),
        "",
        "Inspections:",
    ]
    for i in inspections:
        lines += _inspection_lines(i)
    if not inspections:
        lines.append("- none on record")
    lines += ["", "Approval conditions checked:"]
    lines += [
        f"- {c['condition']}: "
        + (
            f"{RESULT_WORDS.get(c['result'], c['result'])} (inspection {c['inspection_id']}, "
            f"{_day(c['checked_on'])})"
            if c["result"]
            else f"not checked yet (inspection {c['inspection_id']} is not done)"
        )
        + (f" — {c['note']}" if c.get("note") else "")
        for c in evidence["approval_conditions"]
    ] or ["- none on record"]
    lines += ["", "Risk signals and responses:"]
    lines += [
        f"- Signal {s['id']}, {s['severity']} {s['code']}, raised {_day(s['raised_on'])}, "
        f"respond by {_day(s['respond_by'])}: "
        + (
            f"responded {_day(s['responded_on'])} by {person(s['responded_by'])}"
            f" ({s['response_kind'] or 'no kind given'}), {_state(s)}"
            if s["responded_on"]
            else f"not responded yet ({_state(s)})"
        )
        for s in evidence["signals"]
    ] or ["- none"]
    lines += ["", "Rectifications:"]
    lines += [
        f"- Rectification {r['id']}, {r['severity']} '{r['title']}', owner "
        f"{person(r['owner'])}, deadline {_day(r['deadline'])}: "
        + (
            f"closed {_day(r['closed_on'])}, {_state(r)}"
            if r["closed_on"]
            else f"{r['status']}, not closed ({_state(r)})"
        )
        for r in evidence["rectifications"]
    ] or ["- none"]
    lines += [
        "",
        f"Branch {branch}: NPL ratio of new loans (last {npl['months']} months) "
        f"{npl['ratio_pct']}% ({npl['npl_loans']} of {npl['loans']} loans); tolerated below "
        f"{npl['tolerated_below']}%, general below {npl['general_below']}%: {npl['band']}.",
    ]
    flags = evidence["flags"]
    lines.append(
        "Fraud or collusion flagged by signals or findings: "
        + (
            f"fraud {', '.join(flags['fraud']) or '-'}; collusion "
            f"{', '.join(flags['collusion']) or '-'}"
            if flags["fraud"] or flags["collusion"]
            else "none"
        )
        + "."
    )
    return "\n".join(lines)


def _lapses(evidence: dict[str, Any]) -> list[str]:
    """The late or missing actions behind a proposal, one line each."""
    out = []
    for i in evidence.get("inspections") or []:
        if i["timeliness"] in ("late", "missing"):
            kind = KIND_WORDS.get(i["kind"], i["kind"]).lower()
            out.append(f"- {kind} {i['id']}, due {_day(i['due_on'])}: {_state(i)}")
    for s in evidence.get("signals") or []:
        if s["timeliness"] in ("late", "missing"):
            out.append(f"- response to signal {s['id']} ({s['code']}): {_state(s)}")
    for r in evidence.get("rectifications") or []:
        if r["timeliness"] in ("late", "missing"):
            out.append(f"- rectification {r['id']} '{r['title']}': {_state(r)}")
    return out


def proposal_text(review: DueDiligenceReview) -> str:
    proposal = review.proposal or {}
    outcome = OUTCOME_WORDS.get(proposal.get("outcome", ""), proposal.get("outcome", "-"))
    reasons = "\n".join(f"- {r}" for r in proposal.get("reasons") or [])
    text = f"Proposed: {outcome}\n\nReasons:\n{reasons}"
    lapses = _lapses(review.evidence or {})
    if lapses:
        text += "\n\nLate or missing actions in the evidence:\n" + "\n".join(lapses)
        npl = (review.evidence or {}).get("branch_npl_new_loans")
        if npl:
            text += f"\nBranch NPL ratio of new loans: {npl['ratio_pct']}% ({npl['band']} band)."
    return text


def deliberation_text(review: DueDiligenceReview) -> str:
    found = [
        name
        for name, flag in (
            ("fraud", review.fraud),
            ("collusion", review.collusion),
            ("serious breach of procedure", review.serious_breach),
        )
        if flag
    ]
    return (
        f"By {person(review.deliberated_by)} on {day_in_words(review.deliberated_at.date())}: "
        f"recommends {OUTCOME_WORDS.get(review.deliberation_outcome or '', '-')}. Found: "
        f"{', '.join(found) or 'no fraud, collusion or serious breach'}.\n\n"
        f"{review.deliberation_note}"
        if review.deliberated_at
        else "-"
    )


def determination_text(review: DueDiligenceReview) -> str:
    if review.determined_at is None:
        return "-"
    return (
        f"Determined by {person(review.determined_by)} on "
        f"{day_in_words(review.determined_at.date())}: "
        f"{OUTCOME_WORDS.get(review.determined_outcome or '', '-')}.\n\n"
        f"{review.determination_note}\n\n{proposal_text(review)}"
    )
