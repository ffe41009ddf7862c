from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import EngineDep, Reader, SessionDep

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    engine: str


@router.get(
    "/health",
    summary="Engine and database reachable (no authentication)",
    response_model=HealthOut,
    responses={
        503: {"model": HealthOut, "description": "the engine or the database is unreachable"}
    },
)
def health(session: SessionDep, engine: EngineDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 — health reports, never raises
        checks["database"] = f"unreachable: {type(exc).__name__}"
    # where the engine lives is not for an unauthenticated caller: the log and the settings say it
    checks["engine"] = "ok" if engine.is_up() else "unreachable"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", **checks}, status_code=200 if healthy else 503
    )


class WhoAmIOut(BaseModel):
    name: str
    role: str


@router.get(
    "/whoami",
    summary="The calling key's name and role (authenticated, no database work beyond the key)",
    response_model=WhoAmIOut,
)
def whoami(caller: Reader) -> WhoAmIOut:
    """Who the API takes the caller for: the key's name (or ``person:<user>``) and its role. The
    cheapest authenticated call; the latency benchmark's baseline."""
    return WhoAmIOut(name=caller.name, role=caller.role)
