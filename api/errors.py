"""One error shape for every failure: ``{"error": CODE, "detail": text}`` (plus ``field``).

``ErrorBody`` is that shape as a model: the OpenAPI document (``api/openapi.py``) declares it for
every error response. No detail names an internal address: the engine's URL, host and port (and
any other URL or host:port a lower layer put in a message) are taken out before it is sent.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.settings import get_settings
from postloan.application.ports import EngineFailure
from postloan.errors import DomainError

log = logging.getLogger("api")


class Problem(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="the field, dotted for nested ones (`visits.0.latitude`)")
    problem: str


class ErrorBody(BaseModel):
    """Every error answer of the API, whatever its status."""

    error: str = Field(
        description="a stable code: unauthorized, forbidden, not_found, conflict, "
        "invalid_input, engine_unavailable, unavailable, …",
        examples=["invalid_input"],
    )
    detail: str = Field(description="what went wrong, for a person")
    field: str | None = Field(None, description="the request field at fault, when one is")
    problems: list[Problem] | None = Field(None, description="every invalid field (422)")


#: What stands in for an internal address in an error message.
HIDDEN = "<internal>"
_ADDRESS = re.compile(
    r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+"  # any URL
    r"|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"  # IPv4, with its port
    r"|\[[0-9a-fA-F:]+\](?::\d{1,5})?"  # [IPv6]:port
    r"|\blocalhost(?::\d{1,5})?\b"
    r"|(?<=\bhost=)'[^']*'|(?<=\bport=)\d{1,5}\b"  # urllib3's host='…', port=…
    r"|\b[a-zA-Z][\w-]*(?:\.[\w-]+)+:\d{1,5}\b"  # dotted.host:port
)


@lru_cache
def _engine_address() -> str:
    """The configured engine's host:port (e.g. ``engine:8080``, a compose service)."""
    return urlsplit(get_settings().engine_url).netloc


#: The gateway's "engine unreachable at <url>: <the HTTP library's account>" (gateway/engine.py):
#: the account names hosts, ports and the engine's request paths; the caller learns only that.
_UNREACHABLE = re.compile(r"engine unreachable at .*", re.DOTALL)


def scrub(text: str) -> str:
    """``text`` without URLs, host:port pairs, IP addresses or the engine's address."""
    text = _UNREACHABLE.sub("the process engine cannot be reached", text)
    text = _ADDRESS.sub(HIDDEN, text)
    address = _engine_address()
    return text.replace(address, HIDDEN) if address else text


def error_body(code: str, detail: str, field: str | None = None, **extra: object) -> dict:
    body: dict[str, object] = {"error": code, "detail": scrub(detail)}
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
        if exc.status_code == 400:
            # FastAPI's own 400: a body that cannot be read (not UTF-8, not JSON) — invalid input
            # like any other, named as the body.
            problem = {"field": "body", "problem": str(exc.detail)}
            return JSONResponse(
                error_body("invalid_input", f"body: {exc.detail}", "body", problems=[problem]), 422
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)

    @app.exception_handler(EngineFailure)  # the gateway's EngineError is one
    async def engine(_: Request, exc: EngineFailure) -> JSONResponse:
        # The engine's own message (and where it lives) is for the log, not for the caller.
        log.error("engine call failed: %s", exc)
        detail = (
            "the process engine cannot be reached"
            if not exc.status
            else f"the process engine refused the call (status {exc.status})"
        )
        return JSONResponse(error_body("engine_unavailable", f"{detail}; nothing was saved"), 503)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(
            error_body("internal_error", "an unexpected error occurred; nothing was saved"), 500
        )
