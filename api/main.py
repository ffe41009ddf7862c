"""The REST API for integrators: ``uvicorn api.main:app``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api import classification, customers, errors, health, inspections, loans
from api.collaterals import router as collaterals_router
from api.events import router as events_router
from api.financials import router as financials_router
from api.plans import router as plans_router
from api.signals import router as signals_router
from config.logging import setup_logging


def create_app() -> FastAPI:
    app = FastAPI(
        title="Post-loan management API",
        version="1.0",
        description="Customers, loans, repayments and inspections for core banking, loan "
        "origination, vendors and auditors. Authenticate with `Authorization: Bearer <api key>`."
        " Errors are `{\"error\": CODE, \"detail\": text}`.",
    )
    v1 = APIRouter(prefix="/api/v1")
    for module in (health, customers, loans, classification, inspections):
        v1.include_router(module.router)
    v1.include_router(signals_router)
    for ingestion in (financials_router, collaterals_router, events_router):
        v1.include_router(ingestion)
    v1.include_router(plans_router)
    app.include_router(v1)
    errors.install(app)
    return app


setup_logging()
app = create_app()
