"""Risk compensation (issue 12): deferred pay released on schedule, held while a due-diligence
review of the person's loan is open, clawed back by its final outcome.

Everything here works in the caller's session (the caller owns the transaction):

* :func:`import_bases` writes a period's pay base and its ledger rows (paid now, one deferred
  row per tranche); the same figure again is a no-op, another figure a 409.
* :func:`record_determination` (called by the due-diligence use case) holds the person's
  unreleased tranches of the periods the review reaches.
* :func:`record_final` claws back the configured share of those held tranches and lifts the
  holds (exempt: nothing clawed back, the holds lifted).
* :func:`release_due` releases the tranches due by a date that no open review holds.

Idempotence rests on unique constraints, not on a look before the write: a review step is one
``compensation_review`` row per (review, step), a ledger row has a unique ``dedupe_key``; each is
inserted in a savepoint and a duplicate (a repeated call, or a concurrent one that committed
first) is detected by the constraint and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postloan import audit
from postloan.compensation import config
from postloan.compensation import rules as arithmetic
from postloan.compensation.config import OUTCOME_NAMES, CompensationRules
from postloan.compensation.models import (
    CompensationEntry,
    CompensationReview,
    EntryKind,
    PayBase,
    ReviewStep,
)
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.loans.models import Loan

log = logging.getLogger(__name__)

#: The outcomes of a due-diligence review.
OUTCOMES = OUTCOME_NAMES
#: The audit trail's object types of this area.
PAY_BASE = "pay_base"
REVIEW = "due_diligence_review"
ZERO = Decimal("0.00")


def _insert_once(session: Session, row: object) -> bool:
    """Insert ``row`` unless a unique constraint says it exists (then False, nothing written).

    In a savepoint, so the caller's transaction survives the duplicate; a concurrent
    transaction's row counts once it committed (PostgreSQL waits for it, SQLite's write lock
    serialises the two)."""
    _begin_for_savepoints(session)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def _begin_for_savepoints(session: Session) -> None:
    """Make sure SQLite is inside a real transaction before a savepoint.

    The sqlite3 driver issues its ``BEGIN`` only before the first INSERT/UPDATE/DELETE; a
    SAVEPOINT sent before that starts a transaction of its own, and releasing it commits — the
    rows written so far would outlive a later rollback of the caller's transaction. So when the
    driver has not begun yet, begin here: ``BEGIN IMMEDIATE`` (this transaction is about to
    write anyway), which waits for a concurrent writer instead of failing on a stale snapshot.
    PostgreSQL needs nothing."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.dbapi_connection
    if driver is not None and not getattr(driver, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# --- the state of tranches, from the ledger ----------------------------------------------------


@dataclass
class TrancheState:
    """One deferred tranche as its ledger rows make it: what is left, and who holds it."""

    pay_base_id: int
    person: str
    period: str
    tranche: int
    currency: str
    due_on: date
    deferred: Decimal = ZERO
    released: Decimal = ZERO
    clawed_back: Decimal = ZERO
    is_released: bool = False
    #: reviews holding it now (a hold row without its hold_lifted row)
    held_by: set[str] = field(default_factory=set)

    @property
    def outstanding(self) -> Decimal:
        """Deferred and neither released nor clawed back yet."""
        return self.deferred - self.released - self.clawed_back


def tranche_states(entries: Iterable[CompensationEntry]) -> list[TrancheState]:
    """The tranches the ``entries`` (deferred rows and what followed them) describe, in order
    of person, period and tranche. Pure: reads only the rows given."""
    states: dict[tuple[str, str, int], TrancheState] = {}
    lifted: set[tuple[str, str, str, int]] = set()
    holds: list[tuple[str, tuple[str, str, int]]] = []
    ordered = sorted(entries, key=lambda e: e.id)
    for e in ordered:
        if e.kind == EntryKind.DEFERRED and e.tranche is not None and e.due_on is not None:
            states[(e.person, e.period, e.tranche)] = TrancheState(
                pay_base_id=e.pay_base_id,
                person=e.person,
                period=e.period,
                tranche=e.tranche,
                currency=e.currency,
                due_on=e.due_on,
                deferred=e.amount,
            )
    for e in ordered:
        if e.tranche is None:
            continue
        key = (e.person, e.period, e.tranche)
        state = states.get(key)
        if state is None:
            continue
        if e.kind == EntryKind.RELEASE:
            state.released += e.amount
            state.is_released = True
        elif e.kind == EntryKind.CLAWBACK:
            state.clawed_back += e.amount
        elif e.kind == EntryKind.HOLD and e.review_id:
            holds.append((e.review_id, key))
        elif e.kind == EntryKind.HOLD_LIFTED and e.review_id:
            lifted.add((e.review_id, *key))
    for review_id, key in holds:
        if (review_id, *key) not in lifted:
            states[key].held_by.add(review_id)
    return [states[k] for k in sorted(states)]


def _states_of(session: Session, person: str) -> list[TrancheState]:
    entries = session.scalars(
        select(CompensationEntry).where(
            CompensationEntry.person == person, CompensationEntry.kind != EntryKind.PAID_NOW
        )
    )
    return tranche_states(entries)


@dataclass(frozen=True)
class Totals:
    """A person's balances (in one currency) over the ledger rows considered.

    ``deferred_outstanding``: deferred, not yet released nor clawed back (``held`` is the part
    of it an open review holds)."""

    person: str
    currency: str
    paid_now: Decimal
    deferred: Decimal
    deferred_outstanding: Decimal
    held: Decimal
    released: Decimal
    clawed_back: Decimal


def totals(entries: Iterable[CompensationEntry]) -> list[Totals]:
    """Per person and currency: the sums of their rows (pure; see :class:`Totals`)."""
    rows = list(entries)
    paid: dict[tuple[str, str], Decimal] = {}
    for e in rows:
        if e.kind == EntryKind.PAID_NOW:
            paid[(e.person, e.currency)] = paid.get((e.person, e.currency), ZERO) + e.amount
    sums: dict[tuple[str, str], dict[str, Decimal]] = {}
    for state in tranche_states(rows):
        s = sums.setdefault(
            (state.person, state.currency),
            {"deferred": ZERO, "outstanding": ZERO, "held": ZERO, "released": ZERO, "claw": ZERO},
        )
        s["deferred"] += state.deferred
        s["outstanding"] += state.outstanding
        s["held"] += state.outstanding if state.held_by else ZERO
        s["released"] += state.released
        s["claw"] += state.clawed_back
    out = []
    for key in sorted(set(paid) | set(sums)):
        s = sums.get(key, {})
        out.append(
            Totals(
                person=key[0],
                currency=key[1],
                paid_now=paid.get(key, ZERO),
                deferred=s.get("deferred", ZERO),
                deferred_outstanding=s.get("outstanding", ZERO),
                held=s.get("held", ZERO),
                released=s.get("released", ZERO),
                clawed_back=s.get("claw", ZERO),
            )
        )
    return out


# --- importing pay bases -----------------------------------------------------------------------


@dataclass(frozen=True)
class PayBaseItem:
    """One imported figure: ``person``'s performance pay for ``period``."""

    person: str
    period: str
    performance_pay: Decimal
    currency: str


@dataclass(frozen=True)
class ImportResult:
    """``status``: ``created`` (rows written) or ``unchanged`` (the same figure was there)."""

    status: str
    pay_base: PayBase
    split: arithmetic.Split


def item_problems(
    items: Sequence[PayBaseItem], *, today: date, policy: CompensationRules | None = None
) -> list[tuple[str, str]]:
    """What is wrong with a batch, as (field, problem): ``items.<i>.<field>``. A period of the
    configured convention that has begun, the configured currency, an amount with at most two
    decimals, no person and period twice."""
    policy = policy or config.rules()
    problems: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(items):
        where = f"items.{i}"
        problem = arithmetic.period_problem(item.period, policy.pay_period)
        if problem:
            problems.append((f"{where}.period", problem))
        elif arithmetic.parse_period(item.period, policy.pay_period).start > today:
            problems.append((f"{where}.period", f"{item.period} has not begun yet"))
        if item.currency != policy.currency:
            problems.append(
                (
                    f"{where}.currency",
                    f"{item.currency!r} is not the ledger's currency {policy.currency} "
                    "(config/compensation.yaml)",
                )
            )
        pay = item.performance_pay
        if not pay.is_finite() or pay <= 0 or pay != pay.quantize(arithmetic.CENT):
            problems.append(
                (f"{where}.performance_pay", "a positive amount with at most two decimals")
            )
        elif pay >= Decimal(10) ** 16:
            problems.append((f"{where}.performance_pay", "at most 16 digits before the point"))
        first = seen.setdefault((item.person, item.period), i)
        if first != i:
            problems.append(
                (f"{where}.period", f"{item.person} {item.period} is also items.{first}")
            )
    return problems


def _ledger_row(
    base: PayBase,
    *,
    kind: EntryKind,
    amount: Decimal,
    effective_on: date,
    reason: str,
    by: str,
    dedupe_key: str,
    tranche: int | None = None,
    due_on: date | None = None,
    review_id: str | None = None,
    loan_id: str | None = None,
) -> CompensationEntry:
    return CompensationEntry(
        pay_base_id=base.id,
        person=base.person,
        period=base.period,
        kind=kind,
        tranche=tranche,
        amount=amount,
        currency=base.currency,
        due_on=due_on,
        effective_on=effective_on,
        review_id=review_id,
        loan_id=loan_id,
        reason=reason,
        dedupe_key=dedupe_key,
        by=by[:100],
    )


def _tranche_row(
    base: PayBase,
    state: TrancheState,
    *,
    kind: EntryKind,
    amount: Decimal,
    effective_on: date,
    reason: str,
    by: str,
    review_id: str | None = None,
    loan_id: str | None = None,
) -> CompensationEntry:
    """A ledger row about one deferred tranche (``state``), written once: its dedupe key is the
    kind, the review (if any), the person, the period and the tranche number."""
    return _ledger_row(
        base,
        kind=kind,
        amount=amount,
        tranche=state.tranche,
        due_on=state.due_on,
        effective_on=effective_on,
        review_id=review_id,
        loan_id=loan_id,
        reason=reason,
        by=by,
        dedupe_key=_tranche_key(
            kind.value, state.person, state.period, state.tranche, review_id or ""
        ),
    )


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}%"


def _tranche_key(kind: str, person: str, period: str, tranche: int, review_id: str = "") -> str:
    return "|".join(p for p in (kind, review_id, person, period, str(tranche)) if p)


def import_bases(
    session: Session, items: Sequence[PayBaseItem], *, actor: str, today: date
) -> list[ImportResult]:
    """Write each item's pay base and ledger rows (all or nothing: the first problem raises).

    The same person, period and figure again is ``unchanged``; another figure for a stored
    period is a :class:`Conflict`: a pay base whose rows are written is never overwritten, and
    this version offers no correction entry (a wrong figure needs a person's decision, not a
    silent second import). Tranches of a period that an open review of the person reaches are
    held at once."""
    policy = config.rules()
    problems = item_problems(items, today=today, policy=policy)
    if problems:
        field_name, problem = problems[0]
        detail = "; ".join(f"{f}: {p}" for f, p in problems)
        raise InvalidInput(detail if len(problems) > 1 else problem, field=field_name)
    open_reviews = _open_reviews(session, {item.person for item in items})
    results = []
    for i, item in enumerate(items):
        period = arithmetic.parse_period(item.period, policy.pay_period)
        split = arithmetic.split(item.performance_pay, period, policy)
        base = PayBase(
            person=item.person,
            period=item.period,
            period_start=period.start,
            period_end=period.end,
            performance_pay=item.performance_pay,
            currency=item.currency,
            deferred_share=policy.deferred_share,
            deferral_years=policy.deferral_years,
            imported_by=actor[:100],
        )
        if not _insert_once(session, base):
            stored = session.scalars(
                select(PayBase).where(PayBase.person == item.person, PayBase.period == item.period)
            ).one()
            if stored.performance_pay != item.performance_pay or stored.currency != item.currency:
                raise Conflict(
                    f"{item.person} {item.period} was imported with {stored.performance_pay} "
                    f"{stored.currency} on {stored.imported_at:%Y-%m-%d}; a different figure "
                    f"({item.performance_pay} {item.currency}) is refused",
                    field=f"items.{i}.performance_pay",
                )
            stored_period = arithmetic.PayPeriod(
                stored.period, stored.period_start, stored.period_end
            )
            results.append(
                ImportResult("unchanged", stored, _stored_split(session, stored, stored_period))
            )
            continue
        _write_split(session, base, split, actor=actor, today=today)
        audit.record(
            session,
            actor=actor,
            action="compensation.pay_base_imported",
            object_type=PAY_BASE,
            object_id=f"{base.person}:{base.period}",
            detail={
                "performance_pay": base.performance_pay,
                "currency": base.currency,
                "paid_now": split.paid_now,
                "deferred": split.deferred,
                "deferred_share": policy.deferred_share,
                "tranches": [
                    {"tranche": t.number, "amount": t.amount, "due_on": t.due_on}
                    for t in split.tranches
                ],
            },
        )
        for review in open_reviews.get(base.person, []):
            if arithmetic.in_reach(
                period, reaches_from=review.reaches_from, reaches_until=review.reaches_until
            ):
                _hold(session, review, actor=actor, periods={base.period})
        results.append(ImportResult("created", base, split))
    return results


def _write_split(
    session: Session, base: PayBase, split: arithmetic.Split, *, actor: str, today: date
) -> None:
    share = _percent(base.deferred_share)
    session.add(
        _ledger_row(
            base,
            kind=EntryKind.PAID_NOW,
            amount=split.paid_now,
            effective_on=today,
            reason=f"performance pay {base.performance_pay} less {share} deferred",
            by=actor,
            dedupe_key=f"paid_now|{base.person}|{base.period}",
        )
    )
    for t in split.tranches:
        session.add(
            _ledger_row(
                base,
                kind=EntryKind.DEFERRED,
                amount=t.amount,
                tranche=t.number,
                due_on=t.due_on,
                effective_on=today,
                reason=f"deferred tranche {t.number} of {len(split.tranches)}, due {t.due_on}",
                by=actor,
                dedupe_key=_tranche_key("deferred", base.person, base.period, t.number),
            )
        )
    session.flush()


def _stored_split(
    session: Session, base: PayBase, period: arithmetic.PayPeriod
) -> arithmetic.Split:
    rows = session.scalars(
        select(CompensationEntry)
        .where(
            CompensationEntry.pay_base_id == base.id,
            CompensationEntry.kind.in_((EntryKind.PAID_NOW, EntryKind.DEFERRED)),
        )
        .order_by(CompensationEntry.tranche)
    ).all()
    paid = sum((r.amount for r in rows if r.kind == EntryKind.PAID_NOW), ZERO)
    tranches = tuple(
        arithmetic.Tranche(r.tranche or 0, r.amount, r.due_on or period.end)
        for r in rows
        if r.kind == EntryKind.DEFERRED
    )
    return arithmetic.Split(paid, sum((t.amount for t in tranches), ZERO), tranches)


# --- due-diligence reviews ---------------------------------------------------------------------


def _check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise InvalidInput(
            f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}", field="outcome"
        )


def _step(session: Session, review_id: str, step: ReviewStep) -> CompensationReview | None:
    return session.scalars(
        select(CompensationReview).where(
            CompensationReview.review_id == review_id, CompensationReview.step == step
        )
    ).one_or_none()


def _open_reviews(session: Session, persons: set[str]) -> dict[str, list[CompensationReview]]:
    """The determined, not yet final reviews of ``persons`` that hold (by person)."""
    if not persons:
        return {}
    final = select(CompensationReview.review_id).where(CompensationReview.step == ReviewStep.FINAL)
    rows = session.scalars(
        select(CompensationReview).where(
            CompensationReview.step == ReviewStep.DETERMINATION,
            CompensationReview.person.in_(sorted(persons)),
            CompensationReview.review_id.not_in(final),
        )
    )
    policy = config.rules()
    out: dict[str, list[CompensationReview]] = {}
    for row in rows:
        if policy.outcome(row.outcome).hold:
            out.setdefault(row.person, []).append(row)
    return out


def _hold(
    session: Session,
    review: CompensationReview,
    *,
    actor: str,
    periods: set[str] | None = None,
) -> list[TrancheState]:
    """Hold the person's unreleased tranches that ``review`` reaches (of ``periods`` only, when
    given); each held once (the hold's dedupe key)."""
    bases = {
        b.period: b
        for b in session.scalars(select(PayBase).where(PayBase.person == review.person))
        if periods is None or b.period in periods
    }
    held = []
    for state in _states_of(session, review.person):
        base = bases.get(state.period)
        if base is None or state.is_released or state.outstanding <= 0:
            continue
        period = arithmetic.PayPeriod(base.period, base.period_start, base.period_end)
        if not arithmetic.in_reach(
            period, reaches_from=review.reaches_from, reaches_until=review.reaches_until
        ):
            continue
        row = _tranche_row(
            base,
            state,
            kind=EntryKind.HOLD,
            amount=state.outstanding,
            effective_on=review.decided_on,
            review_id=review.review_id,
            loan_id=review.loan_id,
            reason=f"held: due-diligence review {review.review_id} of loan {review.loan_id} "
            f"determined {review.outcome} on {review.decided_on}; not released until final",
            by=actor,
        )
        if _insert_once(session, row):
            held.append(state)
    return held


def record_determination(
    session: Session,
    *,
    review_id: str,
    loan_id: str,
    person: str,
    outcome: str,
    determined_on: date,
    actor: str,
) -> None:
    """A review of ``person``'s loan was determined (not yet final: an appeal may follow).

    Called by the due-diligence use case in its own transaction; idempotent by ``review_id``
    (a second call, whatever its arguments, writes nothing). Holds ``person``'s unreleased
    tranches of the periods the review reaches (config ``reach``) when the outcome's ``hold``
    is set: the release run skips them until :func:`record_final`."""
    _check_outcome(outcome)
    review_id = str(review_id)
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id} not found", field="loan_id")
    policy = config.rules()
    step = CompensationReview(
        review_id=review_id,
        step=ReviewStep.DETERMINATION,
        loan_id=loan_id,
        person=person,
        outcome=outcome,
        decided_on=determined_on,
        reaches_from=loan.disbursed_on if policy.reach.from_ == "disbursement" else None,
        reaches_until=determined_on,
        actor=actor[:100],
    )
    if not _insert_once(session, step):
        log.info("review %s: determination already recorded in the ledger", review_id)
        return
    held = _hold(session, step, actor=actor) if policy.outcome(outcome).hold else []
    audit.record(
        session,
        actor=actor,
        action="compensation.tranches_held",
        object_type=REVIEW,
        object_id=review_id,
        detail={
            "person": person,
            "loan_id": loan_id,
            "outcome": outcome,
            "determined_on": determined_on,
            "reaches_from": step.reaches_from,
            "held": [
                {"period": s.period, "tranche": s.tranche, "amount": s.outstanding} for s in held
            ],
            "held_total": sum((s.outstanding for s in held), ZERO),
        },
    )


def record_final(
    session: Session,
    *,
    review_id: str,
    outcome: str,
    final_on: date,
    actor: str,
    loan_id: str | None = None,
    person: str | None = None,
) -> None:
    """The review's outcome is final (appeal window passed, or the appeal decided): release or
    claw back the person's deferred pay accordingly. Idempotent by ``review_id``.

    For each tranche this review holds: the outcome's ``clawback_share`` of what is left of it
    is clawed back (a ``clawback`` row; none for a share of 0) and the hold is lifted (a
    ``hold_lifted`` row), so the rest is released on its due date by the release run. A
    tranche released before the determination is not touched. Without a recorded determination
    ``loan_id`` and ``person`` are needed (the determination is then recorded first, on
    ``final_on``); a second call with another outcome is a :class:`Conflict`."""
    _check_outcome(outcome)
    review_id = str(review_id)
    determination = _step(session, review_id, ReviewStep.DETERMINATION)
    if determination is None:
        if loan_id is None or person is None:
            raise Conflict(
                f"review {review_id}: no determination recorded in the compensation ledger; "
                "name the loan_id and person to record it with the final outcome",
                field="review_id",
            )
        record_determination(
            session,
            review_id=review_id,
            loan_id=loan_id,
            person=person,
            outcome=outcome,
            determined_on=final_on,
            actor=actor,
        )
        determination = _step(session, review_id, ReviewStep.DETERMINATION)
        assert determination is not None
    final = CompensationReview(
        review_id=review_id,
        step=ReviewStep.FINAL,
        loan_id=determination.loan_id,
        person=determination.person,
        outcome=outcome,
        decided_on=final_on,
        reaches_from=determination.reaches_from,
        reaches_until=determination.reaches_until,
        actor=actor[:100],
    )
    if not _insert_once(session, final):
        stored = _step(session, review_id, ReviewStep.FINAL)
        if stored is not None and stored.outcome != outcome:
            raise Conflict(
                f"review {review_id} was made final as {stored.outcome} on {stored.decided_on}; "
                f"it cannot become {outcome}",
                field="outcome",
            )
        log.info("review %s: final outcome already recorded in the ledger", review_id)
        return
    policy = config.rules()
    share = policy.outcome(outcome).clawback_share
    bases = {
        b.id: b
        for b in session.scalars(select(PayBase).where(PayBase.person == determination.person))
    }
    clawed: list[dict[str, object]] = []
    lifted: list[dict[str, object]] = []
    clawed_total = ZERO
    for state in _states_of(session, determination.person):
        if review_id not in state.held_by:
            continue
        base = bases[state.pay_base_id]
        outstanding = state.outstanding
        amount = arithmetic.clawback(outstanding, share, policy) if share else ZERO
        why = (
            f"due-diligence review {review_id} of loan {determination.loan_id} final on "
            f"{final_on}: {outcome}"
        )
        left = f"hold lifted; {outstanding - amount} remains to be released"
        rows = [(EntryKind.HOLD_LIFTED, outstanding, left)]
        if amount > 0:  # the clawback first, then the hold lifted
            clawed_back = f"{_percent(share)} of the held tranche clawed back"
            rows.insert(0, (EntryKind.CLAWBACK, amount, clawed_back))
            clawed.append({"period": state.period, "tranche": state.tranche, "amount": amount})
            clawed_total += amount
        for kind, value, what in rows:
            session.add(
                _tranche_row(
                    base,
                    state,
                    kind=kind,
                    amount=value,
                    effective_on=final_on,
                    review_id=review_id,
                    loan_id=determination.loan_id,
                    reason=f"{why}, {what}",
                    by=actor,
                )
            )
        lifted.append({"period": state.period, "tranche": state.tranche})
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="compensation.review_final",
        object_type=REVIEW,
        object_id=review_id,
        detail={
            "person": determination.person,
            "loan_id": determination.loan_id,
            "outcome": outcome,
            "final_on": final_on,
            "clawback_share": share,
            "clawed_back": clawed,
            "clawed_back_total": clawed_total,
            "holds_lifted": lifted,
        },
    )


# --- the release run -------------------------------------------------------------------------


def release_due(session: Session, *, as_of: date, actor: str) -> list[CompensationEntry]:
    """Release every tranche due on or before ``as_of`` that is not released, not held by an
    open review and has something left (after clawbacks). Idempotent: a tranche is released
    once (its dedupe key), however often and however concurrently the run goes."""
    persons = session.scalars(
        select(CompensationEntry.person)
        .where(CompensationEntry.kind == EntryKind.DEFERRED, CompensationEntry.due_on <= as_of)
        .distinct()
        .order_by(CompensationEntry.person)
    ).all()
    released: list[CompensationEntry] = []
    for person in persons:
        bases = {b.id: b for b in session.scalars(select(PayBase).where(PayBase.person == person))}
        by_base: dict[int, list[CompensationEntry]] = {}
        for state in _states_of(session, person):
            if state.due_on > as_of or state.is_released or state.held_by:
                continue
            if state.outstanding <= 0:
                continue
            base = bases[state.pay_base_id]
            row = _tranche_row(
                base,
                state,
                kind=EntryKind.RELEASE,
                amount=state.outstanding,
                effective_on=as_of,
                reason=f"tranche {state.tranche} due {state.due_on} released"
                + (f" (after {state.clawed_back} clawed back)" if state.clawed_back else ""),
                by=actor,
            )
            if _insert_once(session, row):
                by_base.setdefault(base.id, []).append(row)
                released.append(row)
        for base_id, rows in by_base.items():
            base = bases[base_id]
            audit.record(
                session,
                actor=actor,
                action="compensation.released",
                object_type=PAY_BASE,
                object_id=f"{base.person}:{base.period}",
                detail={
                    "as_of": as_of,
                    "released": [{"tranche": r.tranche, "amount": r.amount} for r in rows],
                },
            )
    return released


# --- reading the ledger ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerFilter:
    person: str | None = None
    period: str | None = None
    kind: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None

    def apply(self, query: Select) -> Select:
        if self.person:
            query = query.where(CompensationEntry.person == self.person)
        if self.period:
            query = query.where(CompensationEntry.period == self.period)
        if self.kind:
            query = query.where(CompensationEntry.kind == self.kind)
        if self.effective_from:
            query = query.where(CompensationEntry.effective_on >= self.effective_from)
        if self.effective_to:
            query = query.where(CompensationEntry.effective_on <= self.effective_to)
        return query


def _ordered(query: Select) -> Select:
    return query.order_by(
        CompensationEntry.person,
        CompensationEntry.period,
        CompensationEntry.id,
    )


def search(
    session: Session, where: LedgerFilter, *, limit: int, offset: int
) -> tuple[list[CompensationEntry], int]:
    """A page of ledger rows (by person, period, then as written) and how many match."""
    total = session.scalar(where.apply(select(func.count()).select_from(CompensationEntry))) or 0
    rows = session.scalars(
        _ordered(where.apply(select(CompensationEntry))).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def person_totals(session: Session, where: LedgerFilter, persons: set[str]) -> list[Totals]:
    """The balances of ``persons`` over their rows matching the filter's period and effective
    dates (the ``kind`` filter narrows the rows listed, not the balances)."""
    if not persons:
        return []
    scope = LedgerFilter(
        period=where.period,
        effective_from=where.effective_from,
        effective_to=where.effective_to,
    )
    query = scope.apply(select(CompensationEntry)).where(
        CompensationEntry.person.in_(sorted(persons))
    )
    return totals(session.scalars(query))


def entries(session: Session, where: LedgerFilter) -> Iterable[CompensationEntry]:
    """Every matching row, in ledger order, read in batches (the payroll export)."""
    return session.scalars(
        _ordered(where.apply(select(CompensationEntry))).execution_options(yield_per=1000)
    )
