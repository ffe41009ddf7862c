"""Covenants: define one on a loan, compute its tests from the customer's statements, record a
test missing when it falls due without a statement, and read the history.

Pure domain: the caller owns the transaction and turns the findings of :func:`findings_of` into
risk signals (``postloan.application.facts``).
"""

from __future__ import annotations

import calendar
import operator as op
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from postloan import audit
from postloan.checks import Finding
from postloan.covenants.config import CovenantsConfig, RatioDefinition, load_config
from postloan.covenants.models import OPERATORS, Covenant, CovenantTest, Outcome
from postloan.errors import InvalidInput, NotFound
from postloan.financials.models import FinancialStatement
from postloan.loans.models import ApprovalCondition, Loan

NAME = "covenants"
_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "<": op.lt,
    "<=": op.le,
    ">": op.gt,
    ">=": op.ge,
}
_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class CovenantData:
    ratio: str
    operator: str
    threshold: Decimal
    frequency: str
    tested_from: date | None = None
    approval_condition_id: int | None = None
    description: str = ""


# -- periods ----------------------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def period_end_for(day: date, frequency: str, config: CovenantsConfig) -> date:
    """The end of the test period ``day`` falls in: the first period end on or after it."""
    months = config.frequencies[frequency]
    for year in (day.year, day.year + 1):
        for month in months:
            end = _month_end(year, month)
            if end >= day:
                return end
    raise AssertionError("unreachable: a year always has a period end")  # pragma: no cover


def previous_period_end(period_end: date, frequency: str, config: CovenantsConfig) -> date:
    """The end of the test period before the one ending on ``period_end``."""
    months = config.frequencies[frequency]
    earlier = [m for m in months if m < period_end.month]
    if earlier:
        return _month_end(period_end.year, earlier[-1])
    return _month_end(period_end.year - 1, months[-1])


def period_ends(start: date, until: date, frequency: str, config: CovenantsConfig) -> list[date]:
    """Every test period end from the period containing ``start`` up to ``until`` inclusive."""
    ends: list[date] = []
    end = period_end_for(start, frequency, config)
    while end <= until:
        ends.append(end)
        end = period_end_for(end + timedelta(days=1), frequency, config)
    return ends


# -- computing -------------------------------------------------------------------------------


_CENTS = Decimal("0.01")


def _figure(statement: FinancialStatement, name: str) -> Decimal:
    return Decimal(getattr(statement, name)).quantize(_CENTS)


def _sum(terms: dict[str, float], statement: FinancialStatement) -> Decimal:
    total = sum(
        (Decimal(str(c)) * _figure(statement, name) for name, c in terms.items()), Decimal(0)
    )
    return total.quantize(_CENTS)


def compute(
    definition: RatioDefinition, statement: FinancialStatement
) -> tuple[Decimal | None, dict[str, Any]]:
    """The covenant's value from a statement (None when the denominator is not positive or the
    statement lacks an optional figure the ratio uses, named in ``missing``) and the figures it
    used."""
    used = sorted(set(definition.numerator) | set(definition.denominator))
    absent = [name for name in used if getattr(statement, name) is None]
    if absent:
        # an optional figure (current assets / liabilities) the statement does not carry
        return None, {
            "inputs": {
                name: None if name in absent else str(_figure(statement, name)) for name in used
            },
            "missing": absent,
            "reason": f"the statement does not carry {', '.join(absent)}",
        }
    numerator = _sum(definition.numerator, statement)
    figures: dict[str, Any] = {
        "inputs": {name: str(_figure(statement, name)) for name in used},
        "numerator": str(numerator),
    }
    if not definition.denominator:
        return numerator.quantize(_PLACES), figures
    denominator = _sum(definition.denominator, statement)
    figures["denominator"] = str(denominator)
    if denominator <= 0:
        return None, figures
    return (numerator / denominator).quantize(_PLACES), figures


def classify(value: Decimal | None, operator: str, threshold: Decimal, margin: float) -> Outcome:
    """Breach when the condition fails; near breach when it holds but the value lies within
    ``margin`` × |threshold| of the threshold; pass otherwise."""
    if value is None:
        return Outcome.NOT_COMPUTABLE
    if not _COMPARE[operator](value, threshold):
        return Outcome.BREACH
    if abs(value - threshold) <= abs(threshold) * Decimal(str(margin)):
        return Outcome.NEAR_BREACH
    return Outcome.PASS


def formula(covenant: Covenant, config: CovenantsConfig) -> str:
    return config.ratios[covenant.ratio].formula()


# -- defining ----------------------------------------------------------------------------------


def define(
    session: Session,
    loan_id: str,
    data: CovenantData,
    config: CovenantsConfig,
    *,
    actor: str,
) -> Covenant:
    """Attach a computable covenant to a loan (validated against the configuration)."""
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    if data.ratio not in config.ratios:
        raise InvalidInput(
            f"ratio {data.ratio!r} is not defined; known: {', '.join(sorted(config.ratios))}",
            field="ratio",
        )
    if data.operator not in OPERATORS:
        raise InvalidInput(
            f"operator {data.operator!r} is not one of {', '.join(OPERATORS)}", field="operator"
        )
    if data.frequency not in config.frequencies:
        raise InvalidInput(
            f"frequency {data.frequency!r} is not one of {', '.join(sorted(config.frequencies))}",
            field="frequency",
        )
    if data.approval_condition_id is not None:
        condition = session.get(ApprovalCondition, data.approval_condition_id)
        if condition is None or condition.loan_id != loan_id:
            raise InvalidInput(
                f"approval condition {data.approval_condition_id} is not one of loan {loan_id}",
                field="approval_condition_id",
            )
    covenant = Covenant(
        loan_id=loan_id,
        approval_condition_id=data.approval_condition_id,
        ratio=data.ratio,
        operator=data.operator,
        threshold=data.threshold,
        frequency=data.frequency,
        tested_from=data.tested_from or loan.disbursed_on,
        description=data.description,
        created_by=actor,
    )
    session.add(covenant)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="covenant.defined",
        object_type="loan",
        object_id=loan_id,
        detail={
            "covenant_id": covenant.id,
            "ratio": covenant.ratio,
            "formula": formula(covenant, config),
            "operator": covenant.operator,
            "threshold": str(covenant.threshold),
            "frequency": covenant.frequency,
            "tested_from": covenant.tested_from.isoformat(),
        },
    )
    return covenant


# -- testing ---------------------------------------------------------------------------------


def _locked_covenants(session: Session, query: Any) -> list[Covenant]:
    """Covenant rows locked in id order (a stable lock order for concurrent statements)."""
    return list(session.scalars(query.order_by(Covenant.id).with_for_update(of=Covenant)))


def covenants_of_customer(session: Session, customer_id: str, as_of: date) -> list[Covenant]:
    """The covenants of the customer's active loans (not yet matured), locked."""
    return _locked_covenants(
        session,
        select(Covenant)
        .join(Loan, Loan.id == Covenant.loan_id)
        .where(Loan.customer_id == customer_id, Loan.maturity_on >= as_of),
    )


def _test_row(session: Session, covenant_id: int, period_end: date) -> CovenantTest | None:
    return session.scalars(
        select(CovenantTest).where(
            CovenantTest.covenant_id == covenant_id, CovenantTest.period_end == period_end
        )
    ).one_or_none()


def _record_test(
    session: Session,
    covenant: Covenant,
    statement: FinancialStatement,
    config: CovenantsConfig,
    now: datetime,
    actor: str,
) -> CovenantTest | None:
    """Test ``covenant`` on ``statement`` for the period it falls in; None when the statement
    is before the covenant's first period or a later statement of the period was tested."""
    period_end = period_end_for(statement.period_end, covenant.frequency, config)
    if period_end < period_end_for(covenant.tested_from, covenant.frequency, config):
        return None
    row = _test_row(session, covenant.id, period_end)
    if (
        row is not None
        and row.statement_period_end is not None
        and row.statement_period_end > statement.period_end
    ):
        return None
    value, figures = compute(config.ratios[covenant.ratio], statement)
    margin = config.margin_for(covenant.ratio)
    outcome = classify(value, covenant.operator, covenant.threshold, margin)
    if row is None:
        row = CovenantTest(covenant_id=covenant.id, period_end=period_end)
        session.add(row)
    elif row.outcome == Outcome.MISSING_STATEMENT:
        row.missing_recorded_at = row.missing_recorded_at or row.tested_at
    row.statement_id = statement.id
    row.statement_period_end = statement.period_end
    row.outcome = outcome
    row.value = value
    row.operator = covenant.operator
    row.threshold = covenant.threshold
    row.margin = margin
    row.figures = figures
    row.signal_id = None
    row.tested_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="covenant.tested",
        object_type="loan",
        object_id=covenant.loan_id,
        detail={
            "covenant_id": covenant.id,
            "period_end": period_end.isoformat(),
            "statement_id": statement.id,
            "formula": formula(covenant, config),
            "value": None if value is None else str(value),
            "operator": covenant.operator,
            "threshold": str(covenant.threshold),
            "outcome": str(outcome),
        },
    )
    return row


def compute_from_statement(
    session: Session,
    statement: FinancialStatement,
    config: CovenantsConfig,
    *,
    today: date,
    now: datetime,
    actor: str,
) -> list[tuple[Covenant, CovenantTest]]:
    """Compute every covenant of the customer's active loans from ``statement``."""
    tested = []
    for covenant in covenants_of_customer(session, statement.customer_id, today):
        row = _record_test(session, covenant, statement, config, now, actor)
        if row is not None:
            tested.append((covenant, row))
    return tested


def _statements_between(
    session: Session, customer_id: str, after: date, until: date
) -> FinancialStatement | None:
    """The customer's latest statement whose period_end lies in (after, until]."""
    return session.scalars(
        select(FinancialStatement)
        .where(
            FinancialStatement.customer_id == customer_id,
            FinancialStatement.period_end > after,
            FinancialStatement.period_end <= until,
        )
        .order_by(FinancialStatement.period_end.desc())
        .limit(1)
    ).one_or_none()


def catch_up(
    session: Session,
    covenant: Covenant,
    customer_id: str,
    config: CovenantsConfig,
    *,
    today: date,
    now: datetime,
    actor: str,
) -> list[CovenantTest]:
    """Test a covenant on the statements already held for its periods, up to the one under
    way on ``today`` (a covenant defined after its statements arrived)."""
    rows = []
    current = period_end_for(today, covenant.frequency, config)  # the period under way too
    for end in period_ends(covenant.tested_from, current, covenant.frequency, config):
        start = previous_period_end(end, covenant.frequency, config)
        statement = _statements_between(session, customer_id, start, end)
        if statement is not None:
            row = _record_test(session, covenant, statement, config, now, actor)
            if row is not None:
                rows.append(row)
    return rows


def record_missing(
    session: Session,
    config: CovenantsConfig,
    *,
    today: date,
    now: datetime,
    actor: str,
) -> list[tuple[Covenant, CovenantTest]]:
    """Tests that fell due (period end + ``statement_due_days``) before ``today`` with no
    statement of the customer in the period: recorded ``missing_statement`` once each. A
    statement that did arrive but was never tested (none should be) is tested now instead."""
    recorded = []
    covenants = _locked_covenants(
        session,
        select(Covenant).join(Loan, Loan.id == Covenant.loan_id).where(Loan.maturity_on >= today),
    )
    loan_ids = sorted({c.loan_id for c in covenants})
    customers: dict[str, str] = {
        loan_id: customer_id
        for loan_id, customer_id in session.execute(
            select(Loan.id, Loan.customer_id).where(Loan.id.in_(loan_ids))
        )
    }
    for covenant in covenants:
        due_days = config.statement_due_days[covenant.frequency]
        last_due = today - timedelta(days=due_days + 1)
        tested = set(
            session.scalars(
                select(CovenantTest.period_end).where(CovenantTest.covenant_id == covenant.id)
            )
        )
        for end in period_ends(covenant.tested_from, last_due, covenant.frequency, config):
            if end in tested:
                continue
            start = previous_period_end(end, covenant.frequency, config)
            statement = _statements_between(session, customers[covenant.loan_id], start, end)
            if statement is not None:
                late = _record_test(session, covenant, statement, config, now, actor)
                if late is not None:
                    recorded.append((covenant, late))
                continue
            row = CovenantTest(
                covenant_id=covenant.id,
                period_end=end,
                outcome=Outcome.MISSING_STATEMENT,
                operator=covenant.operator,
                threshold=covenant.threshold,
                margin=config.margin_for(covenant.ratio),
                figures={
                    "due_on": (end + timedelta(days=due_days)).isoformat(),
                    "period_start_after": start.isoformat(),
                },
                missing_recorded_at=now,
                tested_at=now,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="covenant.statement_missing",
                object_type="loan",
                object_id=covenant.loan_id,
                detail={
                    "covenant_id": covenant.id,
                    "period_end": end.isoformat(),
                    "due_on": (end + timedelta(days=due_days)).isoformat(),
                },
            )
            recorded.append((covenant, row))
    return recorded


def findings_of(
    tested: Iterable[tuple[Covenant, CovenantTest]], config: CovenantsConfig
) -> list[tuple[CovenantTest, Finding]]:
    """The findings of tests whose outcome has a signal code (breach, near breach, missing)."""
    found = []
    for covenant, row in tested:
        code = config.signal_codes.get(str(row.outcome))
        if code is None:
            continue
        text = formula(covenant, config)
        label = config.ratios[covenant.ratio].label
        if row.outcome == Outcome.MISSING_STATEMENT:
            summary = (
                f"Covenant {covenant.id} ({label} {covenant.operator} {covenant.threshold}): "
                f"no statement for the period ending {row.period_end.isoformat()}"
            )
        else:
            word = "breached" if row.outcome == Outcome.BREACH else "near breach"
            summary = (
                f"Covenant {covenant.id} {word}: {label} {row.value} "
                f"(required {covenant.operator} {covenant.threshold}), "
                f"period ending {row.period_end.isoformat()}"
            )
        evidence = {
            "covenant_id": covenant.id,
            "loan_id": covenant.loan_id,
            "ratio": covenant.ratio,
            "formula": text,
            "operator": covenant.operator,
            "threshold": str(covenant.threshold),
            "value": None if row.value is None else str(row.value),
            "outcome": str(row.outcome),
            "period_end": row.period_end.isoformat(),
            "statement_id": row.statement_id,
            "figures": row.figures,
        }
        found.append((row, Finding(code, summary, evidence)))
    return found


# -- reading ---------------------------------------------------------------------------------


def of_loan(session: Session, loan_id: str) -> list[tuple[Covenant, list[CovenantTest]]]:
    """The loan's covenants, each with its tests newest period first."""
    if session.get(Loan, loan_id) is None:
        raise NotFound(f"loan {loan_id!r} does not exist")
    covenants = list(
        session.scalars(select(Covenant).where(Covenant.loan_id == loan_id).order_by(Covenant.id))
    )
    tests: dict[int, list[CovenantTest]] = {c.id: [] for c in covenants}
    if covenants:
        for row in session.scalars(
            select(CovenantTest)
            .where(CovenantTest.covenant_id.in_(list(tests)))
            .order_by(CovenantTest.period_end.desc(), CovenantTest.id.desc())
        ):
            tests[row.covenant_id].append(row)
    return [(c, tests[c.id]) for c in covenants]


def report_section(
    session: Session, loan_id: str, config: CovenantsConfig | None = None
) -> list[dict[str, Any]]:
    """The loan's covenants and their test history, as the inspection report stores them."""
    config = config or load_config()
    section = []
    for covenant, tests in of_loan(session, loan_id):
        definition = config.ratios.get(covenant.ratio)
        section.append(
            {
                "id": covenant.id,
                "ratio": covenant.ratio,
                "label": definition.label if definition else covenant.ratio,
                "formula": definition.formula() if definition else None,
                "operator": covenant.operator,
                "threshold": str(covenant.threshold),
                "frequency": covenant.frequency,
                "tests": [
                    {
                        "period_end": t.period_end.isoformat(),
                        "outcome": t.outcome,
                        "value": None if t.value is None else str(t.value),
                        "statement_id": t.statement_id,
                        "statement_period_end": (
                            t.statement_period_end.isoformat() if t.statement_period_end else None
                        ),
                        "signal_id": t.signal_id,
                    }
                    for t in tests
                ],
            }
        )
    return section
