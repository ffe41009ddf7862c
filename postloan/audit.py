"""The audit trail: who did what to which business object, written in the same transaction.

The trail is append-only and hash-chained. Every entry carries ``seq`` (1, 2, 3 … without gaps),
the hash of the entry before it (``prev_hash``) and its own ``hash``: SHA-256 over a canonical
JSON of seq, at, actor, action, object type and id, detail and prev_hash (:func:`entry_hash`).
Editing, removing, inserting or reordering an entry breaks the chain, and
:func:`verify_chain` names where.

Entries are chained when the transaction commits, not when :func:`record` is called: the
session keeps them aside until its outermost commit, whose flush first bumps the one-row
``audit_chain_head`` (``UPDATE … SET seq = seq + n``). That takes the database's write lock
(SQLite) or the row's lock (PostgreSQL) until the transaction ends, so two transactions appending
at once queue behind each other and never fork the chain. The head is the last lock a transaction
takes: a transaction holding the head never waits for a business row, so no lock-order deadlock
with one that holds such a row and comes to commit (on PostgreSQL, a worker that wrote audited
findings and then locked a signal row an API request held while it waited for the head did
deadlock before). Rolled back transactions roll back their head update as well: no gap; entries
recorded inside a rolled back savepoint are dropped with it. A transaction does not read its own
entries back before it commits.

The application refuses to update or delete an entry (mapper and session events below), and the
migration ``0009`` adds database triggers that refuse it too. The hash format is frozen: changing
a byte of :func:`canonical_json` would make every existing chain look tampered with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Index,
    Integer,
    String,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from postloan.db import Base, utcnow

#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64
#: Actions whose detail proves a stored inspection report (``report_sha256``).
REPORT_ACTIONS = ("inspection.completed", "inspection.report_sealed")


class AuditTrailIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove an audit event."""


class AuditEvent(Base):
    """One entry of the trail. Never updated, never deleted; ``seq`` is unique and gap-free."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_seq", "seq", unique=True),
        Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The one row (``id`` 1) naming the last entry of the chain: its seq and hash."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the caller's transaction (it commits or rolls back with the change).

    ``detail`` may hold before/after values; Decimals, dates and datetimes are stored as strings
    (exactly what the hash covers). The entry is chained and written when the transaction
    commits (see the module's docstring).
    """
    session.info.setdefault(_PENDING, []).append(
        AuditEvent(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            detail=json.loads(canonical_json(detail or {})),
        )
    )


# --- canonical form and hashes -------------------------------------------------------------------


def utc_iso(value: datetime) -> str:
    """ISO 8601 in UTC with its offset and microseconds, whatever the database handed back
    (SQLite returns naive datetimes, stored in UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not allowed in an audit detail")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, Decimal as string, datetimes in UTC ISO form."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def sha256_of(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``: how a stored report is proven."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: Any,
    prev_hash: str,
) -> str:
    """The hash of one entry. Frozen: every stored chain depends on these exact bytes."""
    return sha256_of(
        {
            "seq": seq,
            "at": utc_iso(at),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "detail": detail or {},
            "prev_hash": prev_hash,
        }
    )


# --- kept aside until commit, chained on its flush ------------------------------------------------

#: ``session.info`` keys: the entries recorded and not yet added, and per open savepoint the
#: number of entries recorded before it began.
_PENDING = "audit_pending"
_MARKS = "audit_savepoint_marks"


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: Any) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_PENDING, []))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.nested:
        mark = session.info.get(_MARKS, {}).pop(id(previous_transaction), None)
        if mark is not None:
            del session.info.get(_PENDING, [])[mark:]
    else:
        session.info.pop(_PENDING, None)
        session.info.pop(_MARKS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: Any) -> None:
    # A savepoint's mark stays until the outermost transaction ends: this event comes before
    # ``after_soft_rollback`` of a savepoint, which still needs it.
    if not transaction.nested and transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_MARKS, None)


@event.listens_for(Session, "before_commit")
def _add_pending(session: Session) -> None:
    """At the outermost commit, hand the kept entries to its flush (which chains them)."""
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.add_all(pending)


def _claim(session: Session, count: int) -> tuple[int, str]:
    """Reserve ``count`` seqs: lock the head, return (first seq, hash of the entry before it)."""
    connection = session.connection()
    bump = text("UPDATE audit_chain_head SET seq = seq + :n WHERE id = 1")
    if connection.execute(bump, {"n": count}).rowcount == 0:
        # A database built from the metadata (not the migrations) has no head row yet.
        connection.execute(
            text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, :h)"),
            {"h": GENESIS_HASH},
        )
        connection.execute(bump, {"n": count})
    last, prev_hash = connection.execute(
        text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
    ).one()
    return last - count + 1, prev_hash


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, _context: Any, _instances: Any) -> None:
    pending = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not pending:
        return
    pending.sort(key=lambda obj: inspect(obj).insert_order or 0)  # set for every pending object
    seq, prev_hash = _claim(session, len(pending))
    now = utcnow()
    for entry in pending:
        # Stamped under the lock, so ``at`` never goes backwards along the chain.
        entry.seq, entry.at, entry.prev_hash = seq, now, prev_hash
        entry.detail = entry.detail or {}
        entry.hash = entry_hash(
            seq=seq,
            at=now,
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            detail=entry.detail,
            prev_hash=prev_hash,
        )
        seq, prev_hash = seq + 1, entry.hash
    session.connection().execute(
        text("UPDATE audit_chain_head SET hash = :h WHERE id = 1"), {"h": prev_hash}
    )


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly(
        f"audit event seq {target.seq} (id {target.id}) cannot be changed: the trail is "
        "append-only; record a new event instead"
    )


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly(
        f"audit event seq {target.seq} (id {target.id}) cannot be deleted: the trail is append-only"
    )


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: Any) -> None:
    """``session.execute(update(AuditEvent))`` / ``delete(...)`` skip the mapper events."""
    if (
        (state.is_update or state.is_delete)
        and state.bind_mapper is not None
        and state.bind_mapper.class_ is AuditEvent
    ):
        raise AuditTrailIsAppendOnly(
            "audit events cannot be updated or deleted in bulk: the trail is append-only"
        )


# --- verification --------------------------------------------------------------------------------


@dataclass
class Finding:
    """One problem found in the trail; ``seq``/``id`` name the entry, ``kind`` what is wrong."""

    kind: str
    message: str
    seq: int | None = None
    id: int | None = None

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.id is not None:
            where.append(f"id {self.id}")
        return f"[{self.kind}] {' '.join(where) + ': ' if where else ''}{self.message}"


@dataclass
class Verification:
    entries: int = 0
    reports: int = 0
    head_seq: int | None = None
    head_hash: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


_ENTRY_COLUMNS = (
    AuditEvent.id,
    AuditEvent.seq,
    AuditEvent.at,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.detail,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


def _stream(session: Session, statement: Any, chunk: int) -> Iterator[Any]:
    """Rows in chunks: a server-side cursor on PostgreSQL, an open cursor on SQLite."""
    yield from session.execute(statement.execution_options(yield_per=chunk))


def verify(
    session: Session,
    *,
    chunk: int = 1000,
    progress: Callable[[int], object] | None = None,
    anchor: tuple[int, str] | None = None,
    max_findings: int = 1000,
) -> Verification:
    """Walk the whole chain in seq order (in bounded memory), then every proven report.

    ``progress`` is called with the number of entries walked since the last call. ``anchor``
    is a (seq, hash) noted earlier, e.g. from a previous run's output kept outside the
    database: a rewritten chain (recomputed hashes) no longer contains it.
    """
    result = Verification()
    findings = result.findings

    def found(kind: str, message: str, seq: int | None = None, id_: int | None = None) -> None:
        if len(findings) < max_findings:
            findings.append(Finding(kind, message, seq, id_))
        elif len(findings) == max_findings:
            findings.append(
                Finding("truncated", f"more than {max_findings} findings; the rest are not listed")
            )

    expected, prev_hash, prev_id, prev_seq = 1, GENESIS_HASH, 0, 0
    walked_since = 0
    anchor_seen = False
    for row in _stream(
        session, select(*_ENTRY_COLUMNS).order_by(AuditEvent.seq, AuditEvent.id), chunk
    ):
        result.entries += 1
        computed = entry_hash(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            detail=row.detail,
            prev_hash=row.prev_hash,
        )
        if computed != row.hash:
            found(
                "altered", "content does not match its hash (the entry was edited)", row.seq, row.id
            )
        if row.seq > expected:
            missing = (
                f"seq {expected}" if row.seq == expected + 1 else f"seqs {expected}..{row.seq - 1}"
            )
            found("missing", f"{missing} missing before it (entries removed)", row.seq, row.id)
        elif row.seq < expected:
            found(
                "duplicate", f"seq repeats seq {prev_seq} (an entry was inserted)", row.seq, row.id
            )
        if row.prev_hash != prev_hash:
            found(
                "broken_link",
                f"prev_hash does not match the hash of the entry before it "
                f"(seq {prev_seq}): an entry was removed, inserted or reordered",
                row.seq,
                row.id,
            )
        if row.id < prev_id:
            found(
                "reordered",
                f"id {row.id} comes after id {prev_id} in seq order (entries reordered)",
                row.seq,
                row.id,
            )
        if anchor is not None and row.seq == anchor[0]:
            anchor_seen = True
            if row.hash != anchor[1]:
                found(
                    "anchor",
                    f"hash {row.hash} differs from the anchor {anchor[1]} (the "
                    "chain was rewritten since the anchor was noted)",
                    row.seq,
                    row.id,
                )
        expected = max(expected, row.seq) + 1
        prev_hash, prev_id, prev_seq = row.hash, row.id, row.seq
        walked_since += 1
        if progress is not None and walked_since >= chunk:
            progress(walked_since)
            walked_since = 0
    if progress is not None and walked_since:
        progress(walked_since)
    if anchor is not None and not anchor_seen:
        found("anchor", f"the anchor seq {anchor[0]} is not in the chain (entries removed)")

    head = session.execute(text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")).first()
    if head is None:
        if result.entries:
            found("head", "the chain head (audit_chain_head id 1) is missing")
    else:
        result.head_seq, result.head_hash = head.seq, head.hash
        if head.seq != prev_seq or head.hash != prev_hash:
            found(
                "head",
                f"the head names seq {head.seq} hash {head.hash[:12]}… but the last "
                f"entry is seq {prev_seq} hash {prev_hash[:12]}… (entries removed at the end, "
                "or appended outside the application)",
                head.seq,
            )
    _verify_reports(session, result, found, chunk)
    return result


def _verify_reports(
    session: Session, result: Verification, found: Callable[..., None], chunk: int
) -> None:
    """Every stored report against the hash its sealing event carries (the last one wins)."""
    from postloan.inspections.models import Inspection

    sealed = (
        select(
            AuditEvent.seq,
            AuditEvent.id,
            AuditEvent.object_id,
            AuditEvent.detail,
            Inspection.id.label("inspection_id"),
            Inspection.report,
        )
        .outerjoin(Inspection, Inspection.id == AuditEvent.object_id)
        .where(AuditEvent.object_type == "inspection", AuditEvent.action.in_(REPORT_ACTIONS))
        .order_by(AuditEvent.object_id, AuditEvent.seq)
    )

    def check(group: list[Any]) -> None:
        proving = [r for r in group if (r.detail or {}).get("report_sha256")]
        last = group[-1]
        if not proving:
            if last.report is not None:
                found(
                    "report_unproven",
                    f"inspection {last.object_id}: its report has no hash in the audit trail",
                    last.seq,
                    last.id,
                )
            return
        seal = proving[-1]
        result.reports += 1
        if seal.inspection_id is None:
            found(
                "report_missing",
                f"inspection {seal.object_id}: the inspection was removed",
                seal.seq,
                seal.id,
            )
        elif seal.report is None:
            found(
                "report_missing",
                f"inspection {seal.object_id}: its report was removed",
                seal.seq,
                seal.id,
            )
        elif sha256_of(seal.report) != seal.detail["report_sha256"]:
            found(
                "report_altered",
                f"inspection {seal.object_id}: the stored report does not "
                f"match the hash sealed at seq {seal.seq} (the report was edited)",
                seal.seq,
                seal.id,
            )

    group: list[Any] = []
    for row in _stream(session, sealed, chunk):
        if group and group[0].object_id != row.object_id:
            check(group)
            group = []
        group.append(row)
    if group:
        check(group)

    unsealed = (
        select(Inspection.id)
        .where(Inspection.report.is_not(None))
        .where(
            ~select(AuditEvent.id)
            .where(
                AuditEvent.object_type == "inspection",
                AuditEvent.object_id == Inspection.id,
                AuditEvent.action.in_(REPORT_ACTIONS),
            )
            .exists()
        )
        .order_by(Inspection.id)
    )
    for row in _stream(session, unsealed, chunk):
        found(
            "report_unproven",
            f"inspection {row.id}: a report is stored but no audit event "
            "seals it (written outside the application)",
        )


# --- reading ------------------------------------------------------------------------------------


def search(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    at_from: datetime | None = None,
    at_to: datetime | None = None,
    oldest_first: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEvent], int]:
    """Entries matching every filter given (``at_from`` inclusive, ``at_to`` exclusive), newest
    first (seq descending) unless ``oldest_first``; and how many match in all."""
    query = select(AuditEvent)
    for column, value in (
        (AuditEvent.actor, actor),
        (AuditEvent.action, action),
        (AuditEvent.object_type, object_type),
        (AuditEvent.object_id, object_id),
    ):
        if value is not None:
            query = query.where(column == value)
    # SQLite keeps the UTC wall time without an offset: compare in UTC.
    if at_from is not None:
        query = query.where(AuditEvent.at >= _as_utc(at_from))
    if at_to is not None:
        query = query.where(AuditEvent.at < _as_utc(at_to))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = AuditEvent.seq.asc() if oldest_first else AuditEvent.seq.desc()
    rows = session.scalars(query.order_by(order).limit(limit).offset(offset)).all()
    return list(rows), total


def _as_utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
