"""Request dependencies: database session, engine gateway, the caller's API key and role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.pages import session as page_session
from config.settings import Settings, get_settings
from gateway.engine import EngineError, EngineGateway
from gateway.ports import EngineAdapter
from postloan.access import service as access
from postloan.application.ports import database_unit
from postloan.application.relay import OutboxRelay
from postloan.application.services import Services
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
    return _gateway(
        settings.engine_url,
        settings.engine_api_user,
        settings.engine_api_password.get_secret_value(),
        settings.engine_timeout_seconds,
    )


def get_services(
    settings: Annotated[Settings, Depends(get_settings)],
    engine: Annotated[EngineGateway, Depends(get_engine)],
) -> Services:
    """The use cases' services: a unit of work per call, the API's one engine client, and a
    dispatcher that delivers a request's outbox messages right after its commit (what the
    engine refuses then is retried by the workers' relay)."""
    uow = database_unit(settings.database_url)
    adapter = EngineAdapter(engine)
    return Services(uow=uow, engine=adapter, dispatch=OutboxRelay(uow, adapter))


@dataclass(frozen=True)
class Person:
    """An engine user whose password the engine accepted: id, name and groups."""

    user: str
    name: str
    groups: tuple[str, ...]


def verify_person(settings: Settings, user: str, password: str) -> Person | None:
    """The engine's identity service decides: ``POST /identity/verify`` sent as the person (the
    API's technical user may not read people), then their groups and name, which a person may
    read of themselves. None for a wrong user or password (the engine's failed-login delay
    applies); an engine that cannot be reached raises (503)."""
    as_person = EngineGateway(settings.engine_url, user, password, settings.engine_timeout_seconds)
    try:
        verified = as_person.call(
            "POST", "/identity/verify", json={"username": user, "password": password}
        )
        if not (verified or {}).get("authenticated"):
            return None
        groups = as_person.call("GET", "/identity/groups", params={"userId": user}) or {}
        profile = as_person.call("GET", f"/user/{quote(user, safe='')}/profile") or {}
    except EngineError as exc:
        if exc.status in (401, 403):
            return None
        raise
    name = " ".join(p for p in (profile.get("firstName"), profile.get("lastName")) if p)
    return Person(user, name or user, tuple(g["id"] for g in groups.get("groups") or []))


SessionDep = Annotated[Session, Depends(get_session)]
EngineDep = Annotated[EngineGateway, Depends(get_engine)]
ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API key's name (the audit actor) and its role."""

    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


#: ``Authorization: Bearer <api key>`` — the OpenAPI document's one security scheme.
bearer = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="API key",
    auto_error=False,
    description="An API key issued with `postloanctl`; its role (integrator, viewer, auditor, "
    "admin, vendor:<vendor id>) decides what it may do.",
)


def get_caller(
    request: Request,
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Caller:
    """The API key's caller; without a key, a person's page session (api/pages/session.py:
    reads only) with the role their engine groups give; a browser without either is sent to
    the login page."""
    if credentials is None or not credentials.credentials.strip():
        person = page_session.from_request(request, settings)
        if person is not None:
            return Caller(f"person:{person.user}", person.role)
        if page_session.wants_html(request):
            raise page_session.LoginRequired(page_session.requested_path(request))
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer <key>")
    key = access.authenticate(session, credentials.credentials.strip())
    if key is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key")
    return Caller(key.name, key.role)


#: Every role a key can carry; ``vendor:*`` stands for any vendor's key.
ROLES = ("integrator", "viewer", "auditor", "admin", "vendor:*")
#: In a dependency's ``roles``: the vendor named by the path's ``{vendor_id}``.
OWN_VENDOR = "vendor:{vendor_id}"
#: In a dependency's ``roles``: any vendor's key, which the handler narrows to the vendor owning
#: the object read (another vendor's object is refused).
OBJECT_VENDOR = "vendor:*"


def admits(dependency: Callable[..., object]) -> tuple[str, ...] | None:
    """The roles a ``require*`` dependency admits (as written in the OpenAPI document), or None
    for a dependency that checks no role."""
    return getattr(dependency, "roles", None)


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting only callers whose role is one of ``roles`` (admin always).

    ``OBJECT_VENDOR`` among ``roles`` admits every vendor key here; the handler then refuses an
    object of another vendor. The roles are recorded on the dependency (``admits``) so that the
    OpenAPI document states them."""

    def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role == "admin" or caller.role in roles:
            return caller
        if OBJECT_VENDOR in roles and caller.role.startswith("vendor:"):
            return caller
        raise ApiError(
            403,
            "forbidden",
            f"role {caller.role!r} may not do this; needs one of: {', '.join(roles)}",
        )

    check.roles = ("admin", *roles)  # type: ignore[attr-defined]  # read back by admits()
    return check


def require_vendor_or(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting the vendor of the path's ``{vendor_id}`` (role
    ``vendor:<vendor_id>``), an admin and ``roles``; another vendor gets 403."""

    def check(vendor_id: str, caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role in ("admin", f"vendor:{vendor_id}", *roles):
            return caller
        raise ApiError(403, "forbidden", f"role {caller.role!r} may not act for vendor {vendor_id}")

    check.roles = ("admin", *roles, OWN_VENDOR)  # type: ignore[attr-defined]  # see admits()
    return check


Reader = Annotated[Caller, Depends(require("integrator", "auditor", "viewer"))]
Integrator = Annotated[Caller, Depends(require("integrator"))]


#: Admits the vendor ``vendor_id`` itself (role ``vendor:<vendor_id>``) or an admin; any other
#: role, another vendor or an integrator, gets 403. ``vendor_id`` is the path parameter.
require_vendor = require_vendor_or()


VendorSelf = Annotated[Caller, Depends(require_vendor)]
