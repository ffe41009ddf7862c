"""Handlers that prepare what the inspection's forms show, right before each human task.

Thin adapters over postloan/application/form_context.py: the variables in, ``form_context`` /
``review_context`` and the links of the form (``report_url``, ``dossier_url``) out.
"""

from __future__ import annotations

from config.settings import get_settings
from postloan.application import form_context as cases
from postloan.errors import NotFound
from workers.runtime import ExternalTask, TopicRouter
from workers.support import services

router = TopicRouter()


def _restore(exc: NotFound) -> LookupError:
    return LookupError(
        f"{exc.detail}: the process refers to a record the project database does not hold; "
        "restore it, then retry the incident"
    )


def _out(key: str, prepared: cases.FormVariables) -> dict:
    return {
        key: prepared.context,
        "report_url": prepared.links.report_url,
        "dossier_url": prepared.links.dossier_url,
    }


@router.topic("inspection.prepare-perform-form")
def prepare_perform_form(
    task: ExternalTask, inspection_id: str | None, classification: dict | None
) -> dict:
    """``form_context`` of the perform form (customer, loan, class, findings, signals, trigger,
    approval conditions), read again before every perform task, also after a rework."""
    try:
        prepared = cases.prepare_perform_form(
            services(),
            inspection_id or task.business_key or "",
            proposed_classification=classification,
            public_api_base=get_settings().public_api_base,
        )
    except NotFound as exc:
        raise _restore(exc) from exc
    return _out("form_context", prepared)


@router.topic("inspection.prepare-review-form")
def prepare_review_form(
    task: ExternalTask, inspection_id: str | None, inspection_conclusion: str | None
) -> dict:
    """``review_context`` of the review form: the points in words, signals, consistency
    warnings of the conclusion."""
    try:
        prepared = cases.prepare_review_form(
            services(),
            inspection_id or task.business_key or "",
            conclusion=inspection_conclusion,
            public_api_base=get_settings().public_api_base,
        )
    except NotFound as exc:
        raise _restore(exc) from exc
    return _out("review_context", prepared)
