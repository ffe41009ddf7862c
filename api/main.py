"""The REST API for integrators: ``uvicorn api.main:app``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api import (
    assessments,
    audit,
    classification,
    collaterals,
    compensation,
    covenants,
    credit,
    customers,
    due_diligence,
    errors,
    events,
    financials,
    health,
    inspections,
    loans,
    opportunities,
    plans,
    rectifications,
    reminders,
    reports,
    restructurings,
    signals,
    vendors,
)
from api.openapi import install as install_openapi
from api.pages import docs as offline_docs
from api.pages import routes as pages
from config.logging import setup_logging

#: Every area's router, in the order the OpenAPI document lists them.
AREAS = (
    health,
    customers,
    loans,
    restructurings,
    financials,
    collaterals,
    events,
    plans,
    classification,
    inspections,
    reports,
    signals,
    credit,
    rectifications,
    vendors,
    opportunities,
    reminders,
    covenants,
    assessments,
    due_diligence,
    compensation,
    audit,
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Post-loan management API",
        version="1.0",
        description="Customers, loans, repayments and inspections for core banking, loan "
        "origination, vendors and auditors. Authenticate with `Authorization: Bearer <api key>`."
        ' Errors are `{"error": CODE, "detail": text}` (`ErrorBody`): each operation lists the'
        " roles it admits and every error it can answer with. People sign in at `/pages/login`"
        " (their Tasklist user) to read the report and dossier pages.",
        # Swagger UI and ReDoc from the package's own files (api/pages/docs.py), not a CDN.
        docs_url=None,
        redoc_url=None,
    )
    v1 = APIRouter(prefix="/api/v1")
    for area in AREAS:
        v1.include_router(area.router)
    app.include_router(v1)
    pages.install(app)
    offline_docs.install(app)
    errors.install(app)
    install_openapi(app)
    return app


setup_logging()
app = create_app()
