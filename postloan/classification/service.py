"""Classification of loans: inputs for the table, changes proposed, confirmed, rejected, applied.

Rules of application:

* an upgrade, or a change at the same level (a new reason), takes effect at once;
* a downgrade found by an inspection is only *proposed*: a credit manager confirms or rejects it
  (user task ``confirm_classification``);
* a downgrade from a repayment, the nightly scan or debtor contagion takes effect at once: those
  floors are regulatory minimums computed from facts, not judgment, so there is nothing to confirm;
* when a loan's move changes the debtor's non-performing share, the debtor's other loans are
  re-evaluated with the table and moved too (source ``contagion``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from postloan import audit
from postloan.classification.rules import (
    CLASSES,
    LoanFacts,
    bundled_table,
    classify_debtor,
    decision_inputs,
    in_observation,
    is_npl,
    npl_share,
    rank,
    with_facts,
)
from postloan.decisions import DecisionTable
from postloan.due_diligence import triggers as due_diligence
from postloan.errors import Conflict, InvalidInput, NotFound
from postloan.loans.arrears import arrears_as_of
from postloan.loans.models import ClassificationChange, Loan, Repayment

log = logging.getLogger(__name__)

APPLIED, PROPOSED, REJECTED = "applied", "proposed", "rejected"
#: Sources whose downgrades wait for a credit manager; every other source applies at once.
CONFIRMATION_NEEDED = frozenset({"inspection"})


def _loan(session: Session, loan_id: str) -> Loan:
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    return loan


def _facts(session: Session, loan: Loan, as_of: date, schedule: Sequence[Repayment]) -> LoanFacts:
    arrears = arrears_as_of(schedule, as_of)
    return LoanFacts(
        loan_id=loan.id,
        balance=loan.amount,
        days_past_due=arrears.days_past_due,
        in_restructuring_observation=in_observation(loan.restructured_on, schedule, as_of),
        current_class=loan.risk_class,
    )


def _debtor_facts(
    session: Session,
    customer_id: str,
    as_of: date,
    known: Mapping[str, Sequence[Repayment]] | None = None,
) -> list[LoanFacts]:
    """The facts of each of the customer's loans. Their repayment rows are read in one query;
    ``known``: loans whose rows the caller has already read in this transaction (not read again).
    """
    known = known or {}
    loans = session.scalars(
        select(Loan).where(Loan.customer_id == customer_id).order_by(Loan.id)
    ).all()
    schedules: dict[str, list[Repayment]] = {}
    wanted = [loan.id for loan in loans if loan.id not in known]
    if wanted:
        for row in session.scalars(
            select(Repayment)
            .where(Repayment.loan_id.in_(wanted))
            .order_by(Repayment.loan_id, Repayment.due_on)
        ):
            schedules.setdefault(row.loan_id, []).append(row)
    return [
        _facts(
            session, loan, as_of, known[loan.id] if loan.id in known else schedules.get(loan.id, [])
        )
        for loan in loans
    ]


def classification_inputs(
    session: Session,
    loan_id: str,
    as_of: date,
    table: DecisionTable | None = None,
    schedule: Sequence[Repayment] | None = None,
) -> dict[str, Any]:
    """The inputs of decision ``risk_classification`` for one loan on ``as_of``.

    ``debtor_npl_share``: balance of the customer's loans that are non-performing on their own
    merits (arrears, restructuring) over the balance of all its loans at the bank (the loan
    amount is the balance). ``table`` (default: the bundled DMN) judges those own merits.
    ``schedule``: the loan's repayment rows in due-date order when the caller has them.
    """
    loan = _loan(session, loan_id)
    known = {loan_id: schedule} if schedule is not None else None
    debtor = _debtor_facts(session, loan.customer_id, as_of, known)
    share = npl_share(table or bundled_table(), debtor)
    mine = next(f for f in debtor if f.loan_id == loan_id)
    return decision_inputs(mine, round(share, 6))


def _record(
    session: Session, loan: Loan, to_class: str, reason: str, source: str, status: str, actor: str
) -> ClassificationChange:
    change = ClassificationChange(
        loan_id=loan.id,
        from_class=loan.risk_class,
        to_class=to_class,
        reason=reason,
        source=source,
        status=status,
        decided_by=actor,
    )
    session.add(change)
    if status == APPLIED:
        loan.risk_class, loan.risk_class_reason = to_class, reason
        due_diligence.on_class_applied(session, loan.id, change.from_class, to_class, actor=actor)
    audit.record(
        session,
        actor=actor,
        action=f"classification.{status}",
        object_type="loan",
        object_id=loan.id,
        detail={"from": change.from_class, "to": to_class, "reason": reason, "source": source},
    )
    session.flush()
    log.info("loan %s: %s -> %s (%s, %s)", loan.id, change.from_class, to_class, source, status)
    return change


def propose(
    session: Session,
    loan_id: str,
    result: dict[str, Any],
    source: str,
    actor: str,
    *,
    table: DecisionTable | None = None,
    as_of: date | None = None,
) -> ClassificationChange | None:
    """Record the class ``result`` (``risk_class``, ``reason``) gives a loan; None if unchanged.

    Upgrades and same-level changes apply at once; a downgrade from an inspection is recorded as
    ``proposed`` and waits for :func:`confirm` or :func:`reject`; a downgrade from any other
    source (repayment, scan, contagion) applies at once. An applied change that moves the loan
    into or out of the non-performing classes re-evaluates the debtor's other loans (contagion).
    """
    to_class, reason = result.get("risk_class"), result.get("reason") or ""
    if to_class not in CLASSES:
        raise InvalidInput(f"risk_class must be one of {', '.join(CLASSES)}", field="risk_class")
    if not source:
        raise InvalidInput("source is required", field="source")
    loan = _loan(session, loan_id)
    if to_class == loan.risk_class and reason == loan.risk_class_reason:
        return None
    downgrade = rank(to_class) > rank(loan.risk_class)
    if downgrade and source in CONFIRMATION_NEEDED:
        pending = session.scalars(
            select(ClassificationChange).where(
                ClassificationChange.loan_id == loan_id,
                ClassificationChange.status == PROPOSED,
                ClassificationChange.to_class == to_class,
            )
        ).first()
        if pending is not None:
            return pending
        return _record(session, loan, to_class, reason, source, PROPOSED, actor)
    was_npl = is_npl(loan.risk_class)
    change = _record(session, loan, to_class, reason, source, APPLIED, actor)
    if was_npl != is_npl(to_class) and source != "contagion":
        apply_contagion(
            session,
            loan.customer_id,
            actor=actor,
            table=table,
            as_of=as_of or date.today(),
            moved={loan.id: to_class},
        )
    return change


def apply_contagion(
    session: Session,
    customer_id: str,
    *,
    actor: str,
    table: DecisionTable | None = None,
    as_of: date,
    moved: dict[str, str] | None = None,
) -> list[ClassificationChange]:
    """Re-evaluate a debtor's loans after one of them moved; apply what the table says.

    ``moved``: loans whose class was just decided (they count with that class and are left as
    they are).
    """
    moved = moved or {}
    table = table or bundled_table()
    changes = []
    for facts, result, _inputs in classify_debtor(
        table, _debtor_facts(session, customer_id, as_of), moved
    ):
        if facts.loan_id in moved:
            continue
        loan = session.get(Loan, facts.loan_id)
        assert loan is not None
        if (result["risk_class"], result["reason"]) == (loan.risk_class, loan.risk_class_reason):
            continue
        changes.append(
            _record(
                session, loan, result["risk_class"], result["reason"], "contagion", APPLIED, actor
            )
        )
    return changes


def _pending(session: Session, change_id: int) -> ClassificationChange:
    change = session.get(ClassificationChange, change_id)
    if change is None:
        raise NotFound(f"classification change {change_id} does not exist")
    if change.status != PROPOSED:
        raise Conflict(
            f"classification change {change_id} is {change.status}, not proposed", field="change_id"
        )
    return change


def confirm(
    session: Session,
    change_id: int,
    actor: str,
    note: str,
    *,
    table: DecisionTable | None = None,
    as_of: date | None = None,
) -> ClassificationChange:
    """A credit manager confirms a proposed downgrade: it takes effect (and may spread)."""
    if not (note or "").strip():
        raise InvalidInput("a note is required", field="note")
    change = _pending(session, change_id)
    loan = _loan(session, change.loan_id)
    was_npl = is_npl(loan.risk_class)
    change.status, change.decided_by = APPLIED, actor
    change.from_class = loan.risk_class
    loan.risk_class, loan.risk_class_reason = change.to_class, change.reason
    due_diligence.on_class_applied(
        session, loan.id, change.from_class, change.to_class, actor=actor
    )
    audit.record(
        session,
        actor=actor,
        action="classification.confirmed",
        object_type="loan",
        object_id=loan.id,
        detail={"change_id": change.id, "to": change.to_class, "note": note},
    )
    session.flush()
    if was_npl != is_npl(change.to_class):
        apply_contagion(
            session,
            loan.customer_id,
            actor=actor,
            table=table,
            as_of=as_of or date.today(),
            moved={loan.id: change.to_class},
        )
    return change


def reject(session: Session, change_id: int, actor: str, note: str) -> ClassificationChange:
    """A credit manager does not confirm a proposed downgrade: the loan keeps its class."""
    if not (note or "").strip():
        raise InvalidInput("a note is required", field="note")
    change = _pending(session, change_id)
    change.status, change.decided_by = REJECTED, actor
    audit.record(
        session,
        actor=actor,
        action="classification.rejected",
        object_type="loan",
        object_id=change.loan_id,
        detail={"change_id": change.id, "to": change.to_class, "note": note},
    )
    session.flush()
    return change


def settle_inspection_classification(
    session: Session, change_id: int | None, decision: str | None, actor: str, note: str = ""
) -> None:
    """What the inspection's finalize step calls: confirm or reject the proposed downgrade.

    ``decision`` None (or no change id) means no confirmation was needed: nothing to do.
    """
    if decision is None or change_id is None:
        return
    if decision == "confirm":
        confirm(session, int(change_id), actor, note or "confirmed in confirm_classification")
    elif decision == "reject":
        reject(session, int(change_id), actor, note or "rejected in confirm_classification")
    else:
        raise InvalidInput(
            "classification_decision must be confirm or reject", field="classification_decision"
        )


def _lock_loan(session: Session, loan_id: str) -> None:
    """The loan's row lock before its facts are read (a no-op UPDATE: the row lock on
    PostgreSQL, SQLite's write lock), so a repayment committing meanwhile cannot be undone by a
    class decided on the facts before it."""
    session.execute(
        update(Loan)
        .where(Loan.id == loan_id)
        .values(risk_class=Loan.risk_class)
        .execution_options(synchronize_session=False)
    )
    session.get(Loan, loan_id, populate_existing=True)  # what was read before the lock, again


#: The inputs of ``risk_classification`` a decision made elsewhere must still match.
DECISION_FACTS = ("days_past_due", "in_restructuring_observation", "current_class")


def propose_decided(
    session: Session,
    loan_id: str,
    result: dict[str, Any],
    decided_on: dict[str, Any],
    source: str,
    actor: str,
    *,
    table: DecisionTable,
    as_of: date,
) -> tuple[ClassificationChange | None, bool]:
    """Record a class the engine decided on ``decided_on`` (the inputs it was given earlier, in
    the same process); second value True when it was decided again here.

    Between the gathering of the inputs and now, a repayment, a restructuring or the scan may
    have moved the loan. A result decided on facts that no longer hold is not applied: the
    table is evaluated again on the loan's facts now, under the loan's lock, and that result
    is recorded instead (it was a later repayment's substandard that a stale inspection's
    special mention overwrote, before).
    """
    _lock_loan(session, loan_id)
    now = classification_inputs(session, loan_id, as_of, table)
    stale = [k for k in DECISION_FACTS if k in decided_on and decided_on[k] != now[k]]
    share = decided_on.get("debtor_npl_share")
    if share is not None and abs(float(share) - float(now["debtor_npl_share"])) > 1e-6:
        stale.append("debtor_npl_share")
    if not stale:
        change = propose(
            session, loan_id, with_facts(result, now), source, actor, table=table, as_of=as_of
        )
        return change, False
    fresh = table.single(now)
    if fresh is None:
        raise ValueError(f"decision {table.key}: no rule matches {now}")
    log.info(
        "loan %s: the %s decision was made on facts since changed (%s); decided again on %s",
        loan_id,
        source,
        ", ".join(f"{k} {decided_on.get(k)!r} -> {now[k]!r}" for k in stale),
        now,
    )
    change = propose(
        session, loan_id, with_facts(fresh, now), source, actor, table=table, as_of=as_of
    )
    return change, True


def reclassify_now(
    session: Session,
    loan_id: str,
    table: DecisionTable,
    as_of: date,
    actor: str,
    source: str = "repayment",
    schedule: Sequence[Repayment] | None = None,
) -> ClassificationChange | None:
    """Evaluate the table for a loan now and apply the result (used after every repayment).

    A downgrade found here applies at once, without confirmation: the days-past-due floor is a
    regulatory minimum derived from the repayment facts, not a judgment to be confirmed.
    ``schedule``: the loan's repayment rows in due-date order when the caller has them.
    """
    inputs = classification_inputs(session, loan_id, as_of, table, schedule)
    result = table.single(inputs)
    if result is None:
        raise ValueError(f"decision {table.key}: no rule matches {inputs}")
    return propose(
        session, loan_id, with_facts(result, inputs), source, actor, table=table, as_of=as_of
    )


def history(session: Session, loan_id: str) -> list[ClassificationChange]:
    _loan(session, loan_id)
    return list(
        session.scalars(
            select(ClassificationChange)
            .where(ClassificationChange.loan_id == loan_id)
            .order_by(ClassificationChange.id)
        )
    )


def changes(
    session: Session, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[ClassificationChange]:
    query = select(ClassificationChange).order_by(ClassificationChange.id)
    if status is not None:
        if status not in (APPLIED, PROPOSED, REJECTED):
            raise InvalidInput("status must be applied, proposed or rejected", field="status")
        query = query.where(ClassificationChange.status == status)
    return list(session.scalars(query.limit(limit).offset(offset)))
