"""One error shape for every failure: ``{"error": CODE, "detail": text}`` (plus ``field``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.engine import EngineError
from postloan.errors import DomainError

log = logging.getLogger("api")


def error_body(code: str, detail: str, field: str | None = None, **extra: object) -> dict:
    body: dict[str, object] = {"error": code, "detail": detail}
    if field:
        body["field"] = field
    body.update(extra)
    return body


class ApiError(Exception):
    """An error raised by the HTTP layer itself (authentication, roles)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _field_path(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.detail, exc.field), status_code=exc.status)

    @app.exception_handler(ApiError)
    async def api(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.detail), exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": _field_path(tuple(e.get("loc", ()))), "problem": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"field": "body", "problem": "invalid"}
        detail = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return JSONResponse(
            error_body("invalid_input", detail, first["field"], problems=problems), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)

    @app.exception_handler(EngineError)
    async def engine(_: Request, exc: EngineError) -> JSONResponse:
        log.error("engine call failed: %s", exc)
        return JSONResponse(
            error_body("engine_unavailable", f"the process engine did not accept the call: "
                       f"{exc.message}"), 503,
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body("internal_error", "an unexpected error occurred; "
                                       "nothing was saved"), 500)
