"""Handlers of the classification steps of ``post_loan_inspection``.

``inspection.classification-inputs`` prepares the inputs of the business rule task
``classify_loan`` (decision ``risk_classification``); ``inspection.propose-classification``
records its result: an upgrade applies at once, a downgrade waits for ``confirm_classification``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from postloan.classification import service as classifier
from postloan.classification.rules import DECISION_KEY
from postloan.decisions import DecisionTable
from postloan.errors import InvalidInput, NotFound
from postloan.inspections import service as inspections
from postloan.loans.models import Loan
from workers.runtime import ExternalTask, TopicRouter
from workers.support import WORKER_ACTOR, in_transaction, services

router = TopicRouter()


def _table() -> DecisionTable:
    return services().engine.table(DECISION_KEY)


@router.topic("inspection.classification-inputs")
@in_transaction
def classification_inputs(session: Session, task: ExternalTask, inspection_id: str) -> dict:
    """Days past due, debtor's NPL share, restructuring observation and the current class."""
    try:
        loan_id = inspections.get(session, inspection_id).loan_id
    except NotFound as exc:
        raise LookupError(
            f"{exc.detail}: the process refers to an inspection the project "
            "database does not hold; restore it, then retry the incident"
        ) from exc
    inputs = classifier.classification_inputs(session, loan_id, date.today(), _table())
    return {
        "days_past_due": int(inputs["days_past_due"]),
        "debtor_npl_share": float(inputs["debtor_npl_share"]),
        "in_restructuring_observation": bool(inputs["in_restructuring_observation"]),
        "current_class": inputs["current_class"],
    }


@router.topic("inspection.propose-classification")
@in_transaction
def propose_classification(
    session: Session,
    task: ExternalTask,
    inspection_id: str,
    classification: dict | None,
    debtor_npl_share: float | None,
    days_past_due: int | None = None,
    in_restructuring_observation: bool | None = None,
    current_class: str | None = None,
) -> dict:
    """Record the table's class for the loan; a downgrade is proposed for confirmation.

    The class was decided on the inputs gathered a few steps before; if a repayment (or the
    scan) has changed those facts since, the table is evaluated again on the facts now."""
    if not classification:
        raise ValueError(
            f"decision risk_classification gave no result for inspection "
            f"{inspection_id}: a rule must match every input; fix and deploy the "
            "table, then retry the incident"
        )
    try:
        loan_id = inspections.get(session, inspection_id).loan_id
    except NotFound as exc:
        raise LookupError(
            f"{exc.detail}: the process refers to an inspection the project "
            "database does not hold; restore it, then retry the incident"
        ) from exc
    decided_on = {
        k: v
        for k, v in {
            "days_past_due": days_past_due,
            "in_restructuring_observation": in_restructuring_observation,
            "current_class": current_class,
            "debtor_npl_share": debtor_npl_share,
        }.items()
        if v is not None
    }
    try:
        change, _ = classifier.propose_decided(
            session,
            loan_id,
            classification,
            decided_on,
            "inspection",
            WORKER_ACTOR,
            table=_table(),
            as_of=date.today(),
        )
    except InvalidInput as exc:
        raise ValueError(
            f"decision risk_classification gave an unusable result for inspection "
            f"{inspection_id}: {exc.detail}; fix and deploy the table, then retry "
            "the incident"
        ) from exc
    loan = session.get(Loan, loan_id)
    assert loan is not None
    previous = change.from_class if change is not None else loan.risk_class
    return {
        "classification_downgrade": change is not None and change.status == "proposed",
        "previous_class": previous,
        "classification_change_id": change.id if change is not None else None,
    }
