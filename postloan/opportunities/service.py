"""Business opportunities: capture the needs a customer mentioned, list them, record outcomes.

Pure domain over the database (no engine, no HTTP). The kinds and their follow-up lead times come
from ``config/opportunities.yaml``. Capture is idempotent per (source, source_ref, kind): an
inspection step run again, or the same inspection performed again after a rework, updates the
note of the open opportunity instead of adding another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.opportunities import config
from postloan.opportunities.models import Opportunity, OpportunityOutcome

AUDIT_OBJECT = "opportunity"
NOTE_MAX = 2000
SETTLED = (OpportunityOutcome.WON, OpportunityOutcome.LOST, OpportunityOutcome.NOT_PURSUED)


@dataclass(frozen=True)
class BusinessNeed:
    kind: str
    note: str


def needs_from_form(
    kinds: list[Any] | None, notes: dict[str, Any], *, field: str = "business_needs"
) -> list[BusinessNeed]:
    """The needs ticked on a form (``kinds``) with the note of each (``notes[kind]``).

    Unknown kinds are InvalidInput naming ``field``; a kind ticked twice counts once.
    """
    rules = config.load()
    needs: dict[str, BusinessNeed] = {}
    for kind in kinds or []:
        if not isinstance(kind, str) or kind not in rules.kinds:
            raise InvalidInput(
                f"unknown business need {kind!r}; known: {', '.join(rules.kinds)}", field=field
            )
        note = notes.get(kind)
        needs[kind] = BusinessNeed(kind=kind, note=_note(note, f"{field}.{kind}.note"))
    return list(needs.values())


def needs_from_list(items: list[dict[str, Any]], *, field: str) -> list[BusinessNeed]:
    """Needs given as ``[{"kind": ..., "note": ...}]`` (the vendor's visit report)."""
    rules = config.load()
    needs: dict[str, BusinessNeed] = {}
    for i, item in enumerate(items):
        kind = item.get("kind")
        if kind not in rules.kinds:
            raise InvalidInput(
                f"unknown business need {kind!r}; known: {', '.join(rules.kinds)}",
                field=f"{field}[{i}].kind",
            )
        if kind in needs:
            raise InvalidInput(f"business need {kind} given twice", field=f"{field}[{i}].kind")
        needs[kind] = BusinessNeed(kind=kind, note=_note(item.get("note"), f"{field}[{i}].note"))
    return list(needs.values())


def _note(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("the note must be a text", field=field)
    value = value.strip()
    if len(value) > NOTE_MAX:
        raise InvalidInput(f"the note is longer than {NOTE_MAX} characters", field=field)
    return value


def capture(
    session: Session,
    *,
    customer_id: str,
    loan_id: str | None,
    source: str,
    source_ref: str,
    needs: list[BusinessNeed],
    captured_by: str,
    today: date,
) -> list[Opportunity]:
    """Store the needs as opportunities owned by the customer's account manager (flushed).

    Returns the opportunities created now (an existing one of the same source and kind is not
    returned: its note is brought up to date while it is open).
    """
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist", field="customer_id")
    rules = config.load()
    created = []
    for need in sorted(needs, key=lambda n: n.kind):  # a stable lock order
        existing = session.scalar(
            select(Opportunity)
            .where(
                Opportunity.source == source,
                Opportunity.source_ref == source_ref,
                Opportunity.kind == need.kind,
            )
            .with_for_update()
        )
        if existing is not None:
            if existing.outcome == OpportunityOutcome.OPEN and existing.note != need.note:
                audit.record(
                    session,
                    actor=captured_by,
                    action="opportunity.note_updated",
                    object_type=AUDIT_OBJECT,
                    object_id=str(existing.id),
                    detail={"before": existing.note, "after": need.note},
                )
                existing.note = need.note
            continue
        opportunity = Opportunity(
            customer_id=customer.id,
            loan_id=loan_id,
            kind=need.kind,
            note=need.note,
            source=source,
            source_ref=source_ref,
            captured_by=captured_by,
            captured_on=today,
            owner=customer.account_manager,
            follow_up_on=today + timedelta(days=rules.kind(need.kind).follow_up_days),
            outcome=OpportunityOutcome.OPEN,
            outcome_note="",
        )
        session.add(opportunity)
        session.flush()
        audit.record(
            session,
            actor=captured_by,
            action="opportunity.captured",
            object_type=AUDIT_OBJECT,
            object_id=str(opportunity.id),
            detail={
                "customer_id": customer.id,
                "loan_id": loan_id,
                "kind": need.kind,
                "source": source,
                "source_ref": source_ref,
                "owner": opportunity.owner,
                "follow_up_on": opportunity.follow_up_on,
            },
        )
        created.append(opportunity)
    session.flush()
    return created


def get(session: Session, opportunity_id: int, *, lock: bool = False) -> Opportunity:
    query = select(Opportunity).where(Opportunity.id == opportunity_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"opportunity {opportunity_id} not found")
    return row


def search(
    session: Session,
    *,
    customer_id: str | None = None,
    owner: str | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Opportunity], int]:
    """Opportunities, newest first, with the total matching the filter."""
    query = select(Opportunity)
    if customer_id:
        query = query.where(Opportunity.customer_id == customer_id)
    if owner:
        query = query.where(Opportunity.owner == owner)
    if kind:
        query = query.where(Opportunity.kind == kind)
    if outcome:
        query = query.where(Opportunity.outcome == outcome)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Opportunity.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def of_customer(session: Session, customer_id: str) -> list[Opportunity]:
    """Every opportunity of the customer, open ones first, then newest first."""
    rows = session.scalars(
        select(Opportunity)
        .where(Opportunity.customer_id == customer_id)
        .order_by(Opportunity.id.desc())
    )
    return sorted(rows, key=lambda o: o.outcome != OpportunityOutcome.OPEN)


def check_follow_up_date(follow_up_on: date | None, today: date, *, field: str) -> date:
    """A new follow-up date lies after today and at most the configured days ahead."""
    if follow_up_on is None:
        raise InvalidInput("a new follow-up date is needed to keep it open", field=field)
    latest = today + timedelta(days=config.load().follow_up_max_days_ahead)
    if not today < follow_up_on <= latest:
        raise InvalidInput(
            f"the follow-up date must lie after {today.isoformat()} and not after "
            f"{latest.isoformat()}",
            field=field,
        )
    return follow_up_on


def record_outcome(
    session: Session,
    opportunity_id: int,
    *,
    outcome: str,
    note: str,
    actor: str,
    today: date,
    follow_up_on: date | None = None,
) -> Opportunity:
    """Settle an open opportunity (won / lost / not pursued), or keep it open with a new
    follow-up date (``outcome`` open). Conflict when it was settled already."""
    if outcome not in (OpportunityOutcome.OPEN, *SETTLED):
        raise InvalidInput(
            f"outcome must be one of open, won, lost, not_pursued, not {outcome!r}",
            field="outcome",
        )
    note = _note(note, "note")
    opportunity = get(session, opportunity_id, lock=True)
    if opportunity.outcome != OpportunityOutcome.OPEN:
        raise Conflict(
            f"opportunity {opportunity_id} was settled already ({opportunity.outcome} by "
            f"{opportunity.outcome_by})"
        )
    before = {"outcome": opportunity.outcome, "follow_up_on": opportunity.follow_up_on}
    if outcome == OpportunityOutcome.OPEN:
        opportunity.follow_up_on = check_follow_up_date(follow_up_on, today, field="follow_up_on")
        action = "opportunity.rescheduled"
    else:
        opportunity.outcome = outcome
        opportunity.outcome_by = actor
        opportunity.outcome_at = datetime.now(UTC)
        action = "opportunity.settled"
    if note:
        opportunity.outcome_note = note
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type=AUDIT_OBJECT,
        object_id=str(opportunity.id),
        detail={
            "before": before,
            "after": {"outcome": opportunity.outcome, "follow_up_on": opportunity.follow_up_on},
            "note": note,
        },
    )
    return opportunity


def as_dict(row: Opportunity) -> dict[str, Any]:
    """The opportunity as plain JSON-able data (dossier, REST)."""
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "loan_id": row.loan_id,
        "kind": row.kind,
        "kind_label": config.load().label(row.kind),
        "note": row.note,
        "source": row.source,
        "source_ref": row.source_ref,
        "captured_by": row.captured_by,
        "captured_on": row.captured_on.isoformat(),
        "owner": row.owner,
        "follow_up_on": row.follow_up_on.isoformat(),
        "outcome": row.outcome,
        "outcome_note": row.outcome_note,
        "outcome_by": row.outcome_by,
        "outcome_at": row.outcome_at.isoformat() if row.outcome_at else None,
    }
