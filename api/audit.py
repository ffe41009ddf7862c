"""The audit trail for auditors: every entry with its place in the hash chain."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BeforeValidator, PlainSerializer, WithJsonSchema

from api.deps import Caller, SessionDep, require
from api.errors import ApiError
from api.schemas import Page, Strict
from postloan import audit
from postloan.audit import AuditEvent

router = APIRouter(prefix="/audit-events", tags=["audit"])

Auditor = Annotated[Caller, Depends(require("auditor"))]
#: Offsets beyond this are refused (422), so no huge integer reaches the database.
OFFSET_MAX = 10**9
#: The instant exactly as hashed: UTC, with ``+00:00`` and microseconds.
UtcInstant = Annotated[
    datetime,
    PlainSerializer(audit.utc_iso, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2026-12-02T09:30:00.000000+00:00"]}
    ),
]


def _rfc3339_text(value: Any) -> Any:
    """A date-time filter is written as one, not as seconds since 1970 (``to=0.5``)."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date-time with a time zone, e.g. 2026-12-02T09:30:00Z")
    return value


#: A filter instant: an RFC 3339 date-time with its time zone.
FilterInstant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


class AuditEventOut(Strict):
    seq: int
    at: UtcInstant
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditEventList(Page):
    order: Literal["newest", "seq"]
    items: list[AuditEventOut]


def event_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        detail=event.detail or {},
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


@router.get(
    "",
    response_model=AuditEventList,
    summary="The hash-chained audit trail (auditors), newest first by default",
    description="Entries matching every filter given. `order=newest` (default) lists by seq "
    "descending, `order=seq` by seq ascending (the chain's own order: each entry's `prev_hash` "
    "is the `hash` of the one before). `from` is inclusive, `to` exclusive; both need a time "
    "zone (`Z` or an offset; URL-encode `+` as `%2B`). Check the whole chain with "
    "`postloanctl audit verify`.",
)
def list_audit_events(
    session: SessionDep,
    caller: Auditor,
    actor: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    object_type: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    object_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    at_from: Annotated[
        FilterInstant | None, Query(alias="from", description="entries at or after")
    ] = None,
    at_to: Annotated[FilterInstant | None, Query(alias="to", description="entries before")] = None,
    order: Literal["newest", "seq"] = "newest",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[
        int, Query(ge=0, le=OFFSET_MAX, description=f"entries to skip, at most {OFFSET_MAX}")
    ] = 0,
) -> AuditEventList:
    if at_from is not None and at_to is not None and at_to <= at_from:
        raise ApiError(422, "invalid_input", "to: must be later than from")
    rows, total = audit.search(
        session,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        at_from=at_from,
        at_to=at_to,
        oldest_first=order == "seq",
        limit=limit,
        offset=offset,
    )
    return AuditEventList(
        total=total, limit=limit, offset=offset, order=order, items=[event_out(r) for r in rows]
    )
