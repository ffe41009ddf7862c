"""The inspection report as a page a person reads and prints (the JSON stays the source).

The same page as ``/pages/inspections/{inspection_id}`` (api/pages/): dates, amounts and codes in
words (config/labels.yaml). An API key sends it as before; a person signed in at
``/pages/login`` opens it with their session, and a browser without one is sent to the login.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import Reader, SessionDep
from api.pages.routes import inspection_report
from api.schemas import PathId

router = APIRouter(prefix="/inspections", tags=["inspections"])


@router.get(
    "/{inspection_id}/report.html",
    response_class=HTMLResponse,
    summary="The stored report as a printable page",
)
def report_page(
    inspection_id: PathId, request: Request, session: SessionDep, caller: Reader
) -> HTMLResponse:
    return inspection_report(request, session, caller, inspection_id)
