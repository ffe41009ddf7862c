"""Server-side HTML of the pages: the inspection report, the credit dossier, the login.

Plain Python over the stored JSON (the report of an inspection, the dossier that
``postloan.credit.dossier`` assembles), every value escaped, every date, amount and code through
:mod:`api.pages.format`. The skeleton and the login form are ``api/templates/*.html``
(``string.Template``), the style sheet ``api/static/pages.css`` is inlined: a page needs nothing
from anywhere else, and prints as it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from api.pages import format as fmt
from api.pages.session import PageSession

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@lru_cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


@lru_cache
def _style() -> str:
    return (STATIC / "pages.css").read_text(encoding="utf-8")


def e(value: Any) -> str:
    """Escaped text; nothing reads as a dash."""
    return escape(fmt.EMPTY if value in (None, "") else str(value))


def facts(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of label and value (values already in words, escaped here)."""
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in pairs)
    return f'<table class="facts">{rows}</table>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    """A table whose cells are HTML already (built with :func:`e`)."""
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="muted">{e(empty)}</td></tr>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def td(value: Any, css: str = "") -> str:
    return f'<td class="{css}">{e(value)}</td>' if css else f"<td>{e(value)}</td>"


def severity(value: str | None) -> str:
    return td(fmt.word("severity", value), f"sev-{value}" if value else "")


def page(title: str, body: str, person: PageSession | None, footer: str = "") -> str:
    if person is not None and not person.expires:  # an API key's caller: no session to end
        user_bar = f'<span class="user">{e(person.name)} (API key)</span>'
    elif person is not None:
        user_bar = (
            f'<span class="user">{e(person.name)} ({e(person.user)}) · '
            f'<form method="post" action="/pages/logout"><button type="submit">Sign out</button>'
            "</form></span>"
        )
    else:
        user_bar = ""
    return _template("page.html").substitute(
        title=e(title),
        style=_style(),
        user_bar=user_bar,
        body=body,
        printed_at=e(fmt.moment(datetime.now(UTC))),
        footer=e(footer or title),
    )


def login(next_url: str, minutes: int, error: str = "", username: str = "") -> str:
    body = _template("login.html").substitute(
        next=e(next_url),
        minutes=minutes,
        error=f'<p class="error" role="alert">{e(error)}</p>' if error else "",
        username=escape(username),
    )
    return page("Sign in", body, None)


ERROR_TITLES = {404: "Not found", 409: "Not available yet", 422: "Not a valid address"}


def error(status: int, detail: str, person: PageSession | None) -> str:
    title = ERROR_TITLES.get(status, "Cannot show this page")
    body = (
        f'<h1>{e(title)}</h1><p class="error" role="alert">{e(detail)}</p>'
        '<p class="noprint"><a href="/pages/">Pages</a></p>'
    )
    return page(title, body, person)


# -- the inspection report ----------------------------------------------------------------------


def _named(code: Any, name: str | None) -> str | None:
    """``Micro-enterprise operating loan (MICRO-OPERATING)``: the catalogue's name and the code."""
    if code in (None, ""):
        return None
    return f"{name} ({code})" if name and name != code else str(code)


def report(
    report: dict[str, Any],
    customer_name: str | None,
    person: PageSession | None,
    names: Callable[[str, str | None], str | None] = lambda kind, code: None,
) -> str:
    """The stored report; ``names(kind, code)`` gives the catalogue's name of a ``product`` or
    ``template`` code (None: show the code)."""
    ins, loan = report["inspection"], report["loan"]
    inspector, review = report.get("inspector") or {}, report.get("review") or {}
    classification = report.get("classification") or {}
    onsite = report.get("onsite_verification") or {}
    kind = fmt.word("inspection_kind", ins.get("kind"))
    checks = table(
        ["Severity", "Check", "Finding", "Summary"],
        (
            [
                severity(c.get("severity")),
                td(fmt.word("check_source", c.get("source"))),
                td(fmt.word("check_code", c.get("code"))),
                td(c.get("summary")),
            ]
            for c in report.get("checks") or []
        ),
        "No findings",
    )
    signals = table(
        ["Severity", "Signal", "Summary", "Status", "Respond by"],
        (
            [
                severity(s.get("severity")),
                td(fmt.word("check_code", s.get("code"))),
                td(s.get("summary")),
                td(fmt.word("signal_status", s.get("status"))),
                td(fmt.day(s.get("respond_by"))),
            ]
            for s in report.get("signals") or []
        ),
        "No open signals",
    )
    covenant_rows = table(
        ["Covenant", "Formula", "Period ending", "Value", "Outcome"],
        (
            [
                td(f"{c.get('label')} {c.get('operator')} {c.get('threshold')}"),
                td(c.get("formula")),
                td(fmt.day(t.get("period_end"))),
                td(t.get("value") or "—"),
                td(fmt.word("covenant_outcome", t.get("outcome"))),
            ]
            for c in report.get("covenants") or []
            for t in c.get("tests") or []
        ),
        "No covenant tests" if report.get("covenants") else "No computable covenants",
    )
    items = table(
        ["Point", "Evidence required", "Result", "Note"],
        (
            [
                td(i.get("label")),
                td(i.get("evidence")),
                td(fmt.word("item_result", i.get("result")) if i.get("result") else "Not answered"),
                td(i.get("note")),
            ]
            for i in report.get("items") or []
        ),
        "No checklist items",
    )
    checklist = inspector.get("checklist") or {}
    summary = "; ".join(
        f"{k.replace('_', ' ').capitalize()}: {fmt.yes_no(v)}" for k, v in checklist.items()
    )
    conditions = loan.get("approval_conditions") or []
    customer = f"{customer_name} ({loan.get('customer_id')})" if customer_name else None
    if report.get("completed_at"):
        heading = "Post-loan inspection report"
        status = f"completed {fmt.moment(report.get('completed_at'))}"
        banner = ""
    else:
        heading = "Post-loan inspection (under way)"
        status = fmt.word("inspection_status", ins.get("status")).lower()
        banner = (
            '<p class="error" role="status">Not a report yet: the inspection is '
            f"{e(status)}. This page shows what is recorded so far; the report is written "
            "when the review is done.</p>"
        )
    body = f"""
<h1>{e(heading)}</h1>
<p class="muted">{e(ins["id"])} · {e(kind)} · {e(status)}</p>{banner}
<h2>Loan</h2>{
        facts(
            [
                ("Customer", customer or loan.get("customer_id")),
                ("Loan", loan["id"]),
                ("Product", _named(loan.get("product"), names("product", loan.get("product")))),
                ("Amount", fmt.amount(loan.get("amount"), loan.get("currency"))),
                ("Purpose", loan.get("purpose")),
                ("Approval conditions", "; ".join(conditions) or None),
                ("Kind of inspection", kind),
                ("Reason for the inspection", ins.get("reason")),
                ("Mode", fmt.word("inspection_mode", ins.get("mode"))),
                ("Template", names("template", ins.get("template")) or ins.get("template")),
                ("Due", fmt.day(ins.get("due_on"))),
                ("Requested", fmt.moment(ins.get("requested_at"))),
            ]
        )
    }
<h2>Automated checks</h2>{checks}
<h2>Early-warning signals</h2>{signals}
<h2>Covenant tests</h2>{covenant_rows}
<h2>Inspection points</h2>{items}
<h2>Inspector's findings</h2>{
        facts(
            [
                ("Inspector", inspector.get("user")),
                ("Summary checklist", summary or None),
                ("Findings", inspector.get("findings")),
                ("Conclusion", fmt.word("conclusion", inspector.get("conclusion"))),
            ]
        )
    }
<h2>Review (four eyes)</h2>{
        facts(
            [
                ("Reviewer", review.get("reviewer")),
                ("Decision", fmt.word("review_decision", review.get("decision"))),
                ("Comment", review.get("comment")),
                ("Returned for rework", f"{report.get('rework_count', 0)} time(s)"),
            ]
        )
    }
<h2>Unannounced on-site verification</h2>{
        facts(
            [
                ("Result", fmt.word("onsite_result", onsite.get("result"))),
                ("Findings", onsite.get("findings")),
                ("Verified by", onsite.get("verifier")),
                ("Why", onsite.get("ordered_because")),
            ]
        )
        if onsite
        else '<p class="muted">None ordered</p>'
    }
<h2>Five-category classification</h2>{
        facts(
            [
                ("Class", fmt.word("risk_class", classification.get("risk_class"))),
                ("Reason", classification.get("reason")),
                (
                    "Proposed by the rules",
                    fmt.word("risk_class", classification.get("proposed_class")),
                ),
                ("Previous class", fmt.word("risk_class", classification.get("previous_class"))),
                (
                    "Confirmation",
                    fmt.word("classification_decision", classification.get("decision")),
                ),
                ("Decided by", classification.get("decided_by")),
            ]
        )
    }
<h2>Signatures</h2><table class="signatures"><tr><th>Inspector</th><td></td></tr>
<tr><th>Reviewer</th><td></td></tr></table>"""
    title = f"Inspection report {ins['id']}" if report.get("completed_at") else heading
    return page(title, body, person, f"Inspection {ins['id']}")


# -- the credit dossier -------------------------------------------------------------------------


def dossier(
    d: dict[str, Any],
    person: PageSession | None,
    names: Callable[[str, str | None], str | None] = lambda kind, code: None,
) -> str:
    c = d["customer"]
    loans = table(
        ["Loan", "Product", "Amount", "Class", "Reason", "Days past due"],
        (
            [
                td(loan["id"]),
                td(names("product", loan.get("product")) or loan.get("product")),
                td(fmt.amount(loan.get("amount"), loan.get("currency")), "num"),
                td(fmt.word("risk_class", loan.get("risk_class"))),
                td(loan.get("risk_class_reason")),
                td(fmt.word("delinquency_bucket", loan.get("delinquency_bucket"))),
            ]
            for loan in d.get("loans") or []
        ),
        "No loans",
    )
    history_rows = [
        [
            td(loan["id"]),
            td(fmt.moment(h.get("at"))),
            td(
                f"{fmt.word('risk_class', h.get('from_class'))} → "
                f"{fmt.word('risk_class', h.get('to_class'))}"
            ),
            td(h.get("reason")),
            td(fmt.word("classification_decision", h.get("status"))),
            td(h.get("decided_by")),
        ]
        for loan in d.get("loans") or []
        for h in loan.get("classification_history") or []
    ]
    history = table(
        ["Loan", "When", "Class", "Reason", "Status", "Decided by"],
        history_rows,
        "No change of class recorded",
    )
    inspections = table(
        ["Inspection", "Loan", "Kind", "Completed", "Conclusion", "Class", "Summary"],
        (
            [
                f'<td><a href="/pages/inspections/{e(i["id"])}">{e(i["id"])}</a></td>',
                td(i.get("loan_id")),
                td(fmt.word("inspection_kind", i.get("kind"))),
                td(fmt.moment(i.get("completed_at"))),
                td(fmt.word("conclusion", i.get("conclusion"))),
                td(fmt.word("risk_class", i.get("risk_class"))),
                td(i.get("summary")),
            ]
            for i in d.get("inspections") or []
        ),
        "No completed inspection yet",
    )
    signals = table(
        ["Severity", "Signal", "Loan", "Summary", "Status", "Respond by", "Owner"],
        (
            [
                severity(s.get("severity")),
                td(fmt.word("check_code", s.get("code"))),
                td(s.get("loan_id")),
                td(s.get("summary")),
                td(fmt.word("signal_status", s.get("status"))),
                td(fmt.day(s.get("respond_by"))),
                td(fmt.word("owner_role", s.get("owner_role"))),
            ]
            for s in d.get("signals") or []
        ),
        "No open signals",
    )
    rect = d.get("rectifications") or {}

    def rect_rows(rows: list[dict[str, Any]]) -> Iterable[list[str]]:
        for r in rows:
            deadline = fmt.day(r.get("deadline")) + (" (overdue)" if r.get("overdue") else "")
            yield [
                td(r["id"]),
                td(r.get("title")),
                td(fmt.word("rectification_severity", r.get("severity"))),
                td(fmt.word("rectification_source", r.get("source"))),
                td(fmt.word("rectification_status", r.get("status"))),
                td(deadline, "warn" if r.get("overdue") else ""),
                td(fmt.moment(r.get("closed_at"))),
                td(r.get("owner")),
            ]

    rect_headers = ["Item", "Title", "Severity", "Source", "Status", "Deadline", "Closed", "Owner"]
    restrictions = table(
        ["Restriction", "Status", "Reason", "Since", "By", "Rectification"],
        (
            [
                td(fmt.word("restriction_kind", r.get("kind"))),
                td(fmt.word("restriction_status", r.get("status"))),
                td(r.get("reason")),
                td(fmt.moment(r.get("started_at"))),
                td(r.get("started_by")),
                td(r.get("rectification_id")),
            ]
            for r in d.get("restrictions") or []
        ),
        "No active restriction",
    )
    opportunities = table(
        ["Business need", "What the customer said", "Captured", "Owner", "Follow-up", "Outcome"],
        (
            [
                td(o.get("kind_label")),
                td(o.get("note")),
                td(fmt.day(o.get("captured_on"))),
                td(o.get("owner")),
                td(fmt.day(o.get("follow_up_on"))),
                td(o.get("outcome", "").replace("_", " ")),
            ]
            for o in d.get("opportunities") or []
        ),
        "No business need captured",
    )
    worst = d.get("worst_class")
    ind = d.get("account_manager_indicators") or {}
    on_time = ind.get("inspections_on_time") or {}
    signals_late = ind.get("signals_past_response_deadline") or {}
    rect_on_time = ind.get("rectifications_closed_on_time") or {}
    body = f"""
<h1>Credit dossier · {e(c.get("name"))}</h1>
<p class="muted">Post-loan dossier for a credit application · assembled {
        e(fmt.day(d.get("assembled_on")))
    }</p>
<h2>Customer</h2>{
        facts(
            [
                ("Customer", f"{c.get('name')} ({c['id']})"),
                ("Segment", fmt.word("segment", c.get("segment"))),
                ("Branch", c.get("branch")),
                ("Account manager", c.get("account_manager")),
                ("Credit rating", c.get("credit_rating")),
                ("Worst class of its loans", fmt.word("risk_class", worst) if worst else None),
            ]
        )
    }
<h2>Loans and their class</h2>{loans}
<h3>Changes of class</h3>{history}
<h2>Latest inspections</h2>{inspections}
<h2>Open early-warning signals</h2>{signals}
<h2>Rectifications</h2><h3>Open</h3>{
        table(rect_headers, rect_rows(rect.get("open") or []), "No open rectification")
    }
<h3>Closed in the last year</h3>{
        table(rect_headers, rect_rows(rect.get("recently_closed") or []), "None closed recently")
    }
<h2>Restrictions</h2>{restrictions}
<h2>Business opportunities</h2>{opportunities}
<h2>Account manager's post-loan record</h2>{
        facts(
            [
                (
                    "Inspections on time",
                    f"{on_time.get('value', 0)} on time, {on_time.get('late', 0)} late",
                ),
                ("Signals past their response deadline", signals_late.get("value", 0)),
                (
                    "Rectifications closed on time",
                    f"{rect_on_time.get('value', 0)} on time, {rect_on_time.get('late', 0)} late",
                ),
            ]
        )
    }"""
    return page(f"Credit dossier {c['id']}", body, person, f"Customer {c['id']}")
