"""Request dependencies: database session, engine gateway, the caller's API key and role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.orm import Session

from api.errors import ApiError
from config.settings import Settings, get_settings
from gateway.engine import EngineGateway
from postloan.access import service as access
from postloan.db import get_session_factory


def get_session(settings: Annotated[Settings, Depends(get_settings)]) -> Iterator[Session]:
    """One session per request. Endpoints commit explicitly; anything else is rolled back."""
    session = get_session_factory(settings.database_url)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@lru_cache
def _gateway(url: str, user: str, password: str, timeout: float) -> EngineGateway:
    return EngineGateway(url, user, password, timeout)


def get_engine(settings: Annotated[Settings, Depends(get_settings)]) -> EngineGateway:
    return _gateway(settings.engine_url, settings.engine_api_user,
                    settings.engine_api_password.get_secret_value(),
                    settings.engine_timeout_seconds)


SessionDep = Annotated[Session, Depends(get_session)]
EngineDep = Annotated[EngineGateway, Depends(get_engine)]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API key's name (the audit actor) and its role."""

    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


def get_caller(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer <key>")
    key = access.authenticate(session, authorization[7:].strip())
    if key is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key")
    return Caller(key.name, key.role)


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting only callers whose role is one of ``roles`` (admin always)."""

    def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role != "admin" and caller.role not in roles:
            raise ApiError(403, "forbidden", f"role {caller.role!r} may not do this; "
                           f"needs one of: {', '.join(roles)}")
        return caller

    return check


Reader = Annotated[Caller, Depends(require("integrator", "auditor", "viewer"))]
Integrator = Annotated[Caller, Depends(require("integrator"))]


def require_vendor(vendor_id: str, caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """Admits the vendor ``vendor_id`` itself (role ``vendor:<vendor_id>``) or an admin; any
    other role, another vendor or an integrator, gets 403. ``vendor_id`` is the path parameter."""
    if caller.role not in ("admin", f"vendor:{vendor_id}"):
        raise ApiError(403, "forbidden", f"role {caller.role!r} may not act for vendor "
                       f"{vendor_id}")
    return caller


VendorSelf = Annotated[Caller, Depends(require_vendor)]
