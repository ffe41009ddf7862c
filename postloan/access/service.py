"""API keys with roles: integrator, vendor:<vendor id>, auditor, viewer, admin."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.access.models import ApiKey
from postloan.db import utcnow
from postloan.errors import Conflict, InvalidInput

ROLE_PATTERN = re.compile(r"^(integrator|auditor|viewer|admin|vendor:[A-Za-z0-9_.-]{1,64})$")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(session: Session, *, name: str, role: str, actor: str, key: str | None = None) -> str:
    """Create a key and return it in clear (the only time it is seen).

    ``key`` lets the embedded demo install its documented keys; real keys are random.
    """
    if not ROLE_PATTERN.match(role):
        raise InvalidInput(f"unknown role {role!r}", field="role")
    key = key or f"pl_{secrets.token_urlsafe(32)}"
    if session.scalar(select(ApiKey.id).where(ApiKey.key_sha256 == digest(key))) is not None:
        raise Conflict("that key already exists", field="key")
    session.add(ApiKey(name=name, role=role, prefix=key[:8], key_sha256=digest(key)))
    audit.record(
        session,
        actor=actor,
        action="api_key.issued",
        object_type="api_key",
        object_id=name,
        detail={"role": role, "prefix": key[:8]},
    )
    session.flush()
    return key


def authenticate(session: Session, key: str) -> ApiKey | None:
    """The live key matching ``key``, or None."""
    found = session.scalars(select(ApiKey).where(ApiKey.key_sha256 == digest(key))).one_or_none()
    if found is None or found.revoked_at is not None:
        return None
    return found


def revoke(session: Session, name: str, *, actor: str) -> int:
    keys = session.scalars(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    count = 0
    for key in keys:
        key.revoked_at = utcnow()
        count += 1
    audit.record(
        session,
        actor=actor,
        action="api_key.revoked",
        object_type="api_key",
        object_id=name,
        detail={"count": count},
    )
    return count
