"""The inspection report as a page a person reads and prints (the JSON stays the source)."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import Reader, SessionDep
from api.schemas import PathId
from postloan.errors import Conflict
from postloan.inspections import service

router = APIRouter(prefix="/inspections", tags=["inspections"])

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #111; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem;
border-bottom: 1px solid #999; } table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem;
  border-bottom: 1px solid #ddd; }
th { width: 14rem; color: #444; font-weight: 600; } .sev-red { color: #b00020; font-weight: 600; }
.sev-orange { color: #b35c00; font-weight: 600; } .muted { color: #666; }
.signatures td { height: 3rem; } @media print { body { margin: 0; } a { color: inherit; } }
"""


def _e(value: Any) -> str:
    return escape("—" if value in (None, "") else str(value))


def _rows(pairs: list[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)


def render(report: dict[str, Any]) -> str:
    ins, loan = report["inspection"], report["loan"]
    inspector, review = report.get("inspector", {}), report.get("review", {})
    classification = report.get("classification", {})
    onsite = report.get("onsite_verification") or {}
    checks = (
        "".join(
            f'<tr><td class="sev-{_e(c.get("severity"))}">{_e(c.get("severity"))}</td>'
            f"<td>{_e(c.get('source'))}</td><td>{_e(c.get('code'))}</td><td>{_e(c.get('summary'))}</td></tr>"
            for c in report.get("checks", [])
        )
        or '<tr><td colspan="4" class="muted">No findings</td></tr>'
    )
    items = (
        "".join(
            f"<tr><td>{_e(i.get('label'))}</td><td>{_e(i.get('evidence'))}</td>"
            f"<td>{_e(i.get('result'))}</td><td>{_e(i.get('note'))}</td></tr>"
            for i in report.get("items", [])
        )
        or '<tr><td colspan="4" class="muted">No checklist items</td></tr>'
    )
    signals = (
        "".join(
            f'<tr><td class="sev-{_e(s.get("severity"))}">{_e(s.get("severity"))}</td>'
            f"<td>{_e(s.get('code'))}</td><td>{_e(s.get('summary'))}</td>"
            f"<td>{_e(s.get('status'))}</td><td>{_e(s.get('respond_by'))}</td></tr>"
            for s in report.get("signals", [])
        )
        or '<tr><td colspan="5" class="muted">No open signals</td></tr>'
    )
    checklist = inspector.get("checklist") or {}
    summary = ", ".join(
        f"{k.replace('_', ' ')}: {'yes' if v else 'no'}" for k, v in checklist.items()
    )
    amount = f"{loan.get('amount')} {loan.get('currency')}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Inspection report {_e(ins["id"])}</title>
<style>{STYLE}</style></head><body>
<h1>Post-loan inspection report</h1>
<p class="muted">{_e(ins["id"])} · {_e(ins.get("kind"))} inspection · completed
{_e(report.get("completed_at"))}</p>
<h2>Loan</h2><table>{
        _rows(
            [
                ("Loan", loan["id"]),
                ("Customer", loan.get("customer_id")),
                ("Product", loan.get("product")),
                ("Amount", amount),
                ("Purpose", loan.get("purpose")),
                ("Approval conditions", "; ".join(loan.get("approval_conditions") or []) or None),
                ("Reason for the inspection", ins.get("reason")),
            ]
        )
    }</table>
<h2>Automated checks</h2><table><tr><th>Severity</th><th>Check</th><th>Code</th><th>Finding</th>
</tr>{checks}</table>
<h2>Early-warning signals</h2><table><tr><th>Severity</th><th>Code</th><th>Signal</th>
<th>Status</th><th>Respond by</th></tr>{signals}</table>
<h2>Inspection points</h2><table><tr><th>Point</th><th>Evidence required</th><th>Result</th>
<th>Note</th></tr>{items}</table>
<h2>Inspector's findings</h2><table>{
        _rows(
            [
                ("Inspector", inspector.get("user")),
                ("Summary checklist", summary or None),
                ("Findings", inspector.get("findings")),
                ("Conclusion", inspector.get("conclusion")),
            ]
        )
    }</table>
<h2>Review (four eyes)</h2><table>{
        _rows(
            [
                ("Reviewer", review.get("reviewer")),
                ("Decision", review.get("decision")),
                ("Conclusion", review.get("comment")),
                ("Returned for rework", report.get("rework_count", 0)),
            ]
        )
    }</table>
<h2>Unannounced on-site verification</h2><table>{
        _rows(
            [
                ("Result", onsite.get("result")),
                ("Findings", onsite.get("findings")),
                ("Verified by", onsite.get("verifier")),
                ("Why", onsite.get("ordered_because")),
            ]
        )
        if onsite
        else '<tr><td class="muted">None</td></tr>'
    }</table>
<h2>Five-category classification</h2><table>{
        _rows(
            [
                ("Class", classification.get("risk_class")),
                ("Reason", classification.get("reason")),
                ("Previous class", classification.get("previous_class")),
                ("Confirmation", classification.get("decision")),
                ("Decided by", classification.get("decided_by")),
            ]
        )
    }</table>
<h2>Signatures</h2><table class="signatures"><tr><th>Inspector</th><td></td></tr>
<tr><th>Reviewer</th><td></td></tr></table>
</body></html>"""


@router.get(
    "/{inspection_id}/report.html",
    response_class=HTMLResponse,
    summary="The stored report as a printable page",
)
def report_page(inspection_id: PathId, session: SessionDep, caller: Reader) -> HTMLResponse:
    inspection = service.get(session, inspection_id)
    if inspection.report is None:
        raise Conflict(f"inspection {inspection_id} has no report yet (status {inspection.status})")
    return HTMLResponse(render(inspection.report))
