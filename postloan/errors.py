"""Business errors. Each carries the status an adapter should answer with and a stable code."""

from __future__ import annotations


class DomainError(Exception):
    """Root of all errors a caller can act on. ``status`` follows HTTP semantics."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unavailable(DomainError):
    """A system the request depends on (the engine) cannot be reached; nothing was written."""

    status = 503
    code = "unavailable"
