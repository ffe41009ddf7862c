"""What the inspection's forms show, read fresh from the database right before each task.

The ``prepare_perform_form`` and ``prepare_review_form`` steps of ``post_loan_inspection`` call
these (workers/form_context.py); the content is the domain's (postloan/inspections/form_context.py).
Read-only: running a step twice (an external task delivered again) only reads again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from postloan.application.services import Services
from postloan.inspections import form_context
from postloan.inspections import service as inspections
from postloan.loans.models import Loan


@dataclass(frozen=True)
class FormVariables:
    """The variables a form step sets: its context and the links of the form."""

    context: dict[str, Any]
    links: form_context.Links


def _links(session: Session, inspection_id: str, public_api_base: str) -> form_context.Links:
    loan = session.get(Loan, inspections.get(session, inspection_id).loan_id)
    customer_id = loan.customer_id if loan is not None else ""
    return form_context.Links.for_inspection(public_api_base, inspection_id, customer_id)


def prepare_perform_form(
    services: Services,
    inspection_id: str,
    *,
    proposed_classification: Mapping[str, Any] | None,
    public_api_base: str,
) -> FormVariables:
    """``form_context`` of the perform form: loan, customer, class, findings, signals, trigger,
    approval conditions (NotFound when the inspection or its loan is gone)."""
    with services.uow() as session:
        context = form_context.perform_context(
            session, inspection_id, proposed=proposed_classification
        )
        return FormVariables(context, _links(session, inspection_id, public_api_base))


def prepare_review_form(
    services: Services,
    inspection_id: str,
    *,
    conclusion: str | None,
    public_api_base: str,
) -> FormVariables:
    """``review_context`` of the review form: the recorded points in words, the signals and the
    consistency warnings of the inspector's conclusion."""
    with services.uow() as session:
        context = form_context.review_context(session, inspection_id, conclusion=conclusion)
        return FormVariables(context, _links(session, inspection_id, public_api_base))
