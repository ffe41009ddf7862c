"""The pages people open from Tasklist: login, the inspection report, the credit dossier.

``/pages/login`` checks the user and password with the engine's identity service (the same users
as Tasklist) and maps the person's groups to an API role (``Settings.page_roles_by_group``); the
signed session cookie then stands in for the API key on reads (``api.deps.get_caller``). Every
page admits the roles its JSON endpoint admits: an account manager (role ``viewer``) sees what a
viewer key sees, a vendor's person gets no page. A browser without a session is sent to the
login page and back; an API client keeps sending its bearer key.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import Caller, Reader, SessionDep, verify_person
from api.pages import dashboards, render
from api.pages import session as page_session
from api.schemas import PathId
from config.settings import Settings, get_settings
from postloan.credit import dossier as dossiers
from postloan.customers.models import Customer
from postloan.errors import Conflict, DomainError
from postloan.inspections import service as inspections
from postloan.inspections.models import Inspection
from postloan.loans import service as loans
from postloan.plans.catalogue import CatalogueError, catalogue

router = APIRouter(prefix="/pages", tags=["pages"], include_in_schema=False)

HTML_HEADERS = {"Cache-Control": "no-store"}


def _person(request: Request, caller: Caller, settings: Settings) -> page_session.PageSession:
    """Who reads the page: the session's person, or an API key's caller shown by its name."""
    found = page_session.from_request(request, settings)
    if found is not None:
        return found
    return page_session.PageSession(caller.name, caller.role, caller.name, 0)


def html(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status_code, headers=HTML_HEADERS)


SettingsDep = Annotated[Settings, Depends(get_settings)]


@router.get("/login", response_class=HTMLResponse)
def login_page(
    settings: SettingsDep, next: Annotated[str | None, Query(max_length=2000)] = None
) -> HTMLResponse:
    return html(render.login(page_session.safe_next(next), settings.page_session_minutes))


#: The login form's fields and their longest accepted length.
FORM_FIELDS = {"username": 128, "password": 512, "next": 2000}


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded login form (parsed here: no multipart library for three fields)."""
    raw = await request.body()
    if len(raw) > 8192:
        return {}
    fields = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: (fields.get(k) or [""])[0][:limit] for k, limit in FORM_FIELDS.items()}


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, settings: SettingsDep) -> Response:
    form = await _form(request)
    username, password, next = form.get("username", ""), form.get("password", ""), form.get("next")
    target = page_session.safe_next(next)
    username = username.strip()

    def refuse(message: str, status_code: int) -> HTMLResponse:
        page = render.login(target, settings.page_session_minutes, message, username)
        return html(page, status_code)

    if not username or not password:
        return refuse("Enter your username and password.", 422)
    person = await run_in_threadpool(verify_person, settings, username, password)
    if person is None:
        return refuse("Unknown user or wrong password (after a failed try, wait a moment).", 401)
    role = page_session.role_of(person.groups, settings.page_roles_by_group)
    if role is None:
        return refuse(
            f"{person.user} may not open these pages: none of the groups "
            f"{', '.join(person.groups) or '(none)'} gives a page role.",
            403,
        )
    session = page_session.new_session(person.user, person.name, role, settings)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        page_session.COOKIE,
        page_session.encode(session, settings.page_session_secret.get_secret_value()),
        max_age=settings.page_session_minutes * 60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.page_cookie_secure or request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse(page_session.LOGIN_PATH, status_code=303)
    response.delete_cookie(page_session.COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request, caller: Reader) -> HTMLResponse:
    person = _person(request, caller, get_settings())
    body = (
        "<h1>Pages</h1><p>Open a report or a dossier from the task in Tasklist: "
        "<code>/pages/inspections/&lt;inspection id&gt;</code>, "
        "<code>/pages/customers/&lt;customer id&gt;/dossier</code>.</p>"
        '<p><a href="/pages/dashboards/">Dashboards</a>: five-category migration, early-warning '
        "signals, inspections on time by branch, the assessment ranking, open rectifications "
        "and restrictions by age.</p>"
        f'<p class="muted">Signed in as {render.e(person.name)} (role {render.e(person.role)}).</p>'
    )
    return html(render.page("Pages", body, person))


def catalogue_name(kind: str, code: str | None) -> str | None:
    """The product catalogue's name of a product or template code (None when unknown)."""
    if not code:
        return None
    try:
        cat = catalogue()
        if kind == "product":
            return cat.products[code].name if code in cat.products else None
        return cat.template(code).name
    except (CatalogueError, KeyError):
        return None


def _error_page(request: Request, caller: Caller, exc: DomainError) -> HTMLResponse:
    """A domain error as a page for a browser (an API client gets the API's JSON error)."""
    if not page_session.wants_html(request):
        raise exc
    person = _person(request, caller, get_settings())
    return html(render.error(exc.status, exc.detail, person), exc.status)


def _so_far(session: Session, inspection: Inspection) -> dict[str, Any]:
    """An inspection still under way in the report's shape: what is recorded so far (the
    findings, the open signals, the checklist, who works on it), no conclusion yet."""
    loan = loans.get(session, inspection.loan_id)
    return {
        "inspection": {
            "id": inspection.id,
            "kind": inspection.kind,
            "status": inspection.status,
            "reason": inspection.reason,
            "template": inspection.template,
            "mode": inspection.mode,
            "due_on": inspection.due_on.isoformat() if inspection.due_on else None,
            "requested_at": inspection.created_at.isoformat() if inspection.created_at else None,
        },
        "loan": {
            "id": loan.id,
            "customer_id": loan.customer_id,
            "product": loan.product,
            "amount": str(loan.amount),
            "currency": loan.currency,
            "purpose": loan.purpose,
            "approval_conditions": [c.text for c in loan.approval_conditions],
        },
        "checks": [
            {"source": f.source, "code": f.code, "severity": f.severity, "summary": f.summary}
            for f in inspections.findings(session, inspection.id)
        ],
        "signals": inspections.open_signals(session, loan),
        "items": inspections.items_for_form(session, inspection.id),
        "inspector": {"user": inspection.inspector},
        "review": {"reviewer": inspection.reviewer},
        "rework_count": inspection.rework_count or 0,
        "classification": {"risk_class": loan.risk_class, "reason": loan.risk_class_reason},
        "completed_at": None,
    }


def inspection_report(
    request: Request,
    session: SessionDep,
    caller: Caller,
    inspection_id: str,
    *,
    so_far: bool = False,
) -> HTMLResponse:
    """The stored report; with ``so_far``, an inspection without one yet shows what is recorded
    (the page Tasklist's forms link to while the work is under way), otherwise 409."""
    try:
        inspection = inspections.get(session, inspection_id)
        if inspection.report is None and not so_far:
            raise Conflict(
                f"inspection {inspection_id} has no report yet (status {inspection.status})"
            )
        report = inspection.report or _so_far(session, inspection)
    except DomainError as exc:
        return _error_page(request, caller, exc)
    customer = session.get(Customer, report["loan"].get("customer_id"))
    person = _person(request, caller, get_settings())
    return html(render.report(report, customer.name if customer else None, person, catalogue_name))


@router.get("/inspections/{inspection_id}", response_class=HTMLResponse)
def inspection_page(
    inspection_id: PathId, request: Request, session: SessionDep, caller: Reader
) -> HTMLResponse:
    return inspection_report(request, session, caller, inspection_id, so_far=True)


@router.get("/customers/{customer_id}/dossier", response_class=HTMLResponse)
def dossier_page(
    customer_id: PathId, request: Request, session: SessionDep, caller: Reader
) -> HTMLResponse:
    try:
        dossier = dossiers.assemble(session, customer_id)
    except DomainError as exc:
        return _error_page(request, caller, exc)
    dossier["worst_class"] = dossiers.worst_class(dossier) if dossier["loans"] else None
    person = _person(request, caller, get_settings())
    return html(render.dossier(dossier, person, catalogue_name))


def install(app: FastAPI) -> None:
    """The pages' router and the redirect of a browser without a session to the login."""
    app.include_router(router)
    app.include_router(dashboards.router)

    @app.exception_handler(page_session.LoginRequired)
    async def login_required(_: Request, exc: page_session.LoginRequired) -> Response:
        target = exc.next_url if not urlsplit(exc.next_url).netloc else "/pages/"
        return RedirectResponse(page_session.login_url(target), status_code=303)
