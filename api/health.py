from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import EngineDep, SessionDep
from config.settings import Settings, get_settings

router = APIRouter(tags=["health"])


@router.get("/health", summary="Engine and database reachable (no authentication)")
def health(
    session: SessionDep, engine: EngineDep, settings: Annotated[Settings, Depends(get_settings)]
) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 — health reports, never raises
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["engine"] = "ok" if engine.is_up() else f"unreachable at {settings.engine_url}"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", **checks},
                        status_code=200 if healthy else 503)
