"""Credit applications of existing customers: the post-loan dossier, the gate and the decision."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, status

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Currency, Identifier, LoanAmount, PathId, Strict, text
from postloan.application import credit as credit_cases
from postloan.credit import service
from postloan.credit.models import CreditApplication

router = APIRouter(prefix="/credit-applications", tags=["credit applications"])


Product = Annotated[str, *text(64, min_length=1)]


class CreditApplicationIn(Strict):
    customer_id: Identifier
    product: Product
    amount: LoanAmount
    currency: Currency = "CNY"


class CreditApplicationOut(Strict):
    id: str
    customer_id: str
    product: str
    amount: Decimal
    currency: str
    requested_by: str
    status: str
    gate_decision: str | None
    gate_reasons: list[Any]
    dossier: dict[str, Any] | None
    decision: str | None
    decided_by: str | None
    decision_comment: str | None
    quality_rating: str | None
    quality_comment: str | None
    decided_at: datetime | None
    process_instance_id: str | None


def _out(a: CreditApplication) -> CreditApplicationOut:
    return CreditApplicationOut(
        id=a.id,
        customer_id=a.customer_id,
        product=a.product,
        amount=a.amount,
        currency=a.currency,
        requested_by=a.requested_by,
        status=a.status,
        gate_decision=a.gate_decision,
        gate_reasons=list(a.gate_reasons or []),
        dossier=a.dossier,
        decision=a.decision,
        decided_by=a.decided_by,
        decision_comment=a.decision_comment,
        quality_rating=a.quality_rating,
        quality_comment=a.quality_comment,
        decided_at=a.decided_at,
        process_instance_id=a.process_instance_id,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CreditApplicationOut,
    summary="An existing customer applies for credit: assemble its post-loan dossier, "
    "decide the gate, and route it to a credit approver unless blocked",
)
def create_application(
    body: CreditApplicationIn, services: ServicesDep, caller: Integrator
) -> CreditApplicationOut:
    application = credit_cases.create_application(
        services,
        customer_id=body.customer_id,
        product=body.product,
        amount=body.amount,
        currency=body.currency,
        actor=caller.actor,
    )
    return _out(application)


@router.get(
    "/{application_id}",
    response_model=CreditApplicationOut,
    summary="Status, gate decision with its reasons, dossier and the approver's decision",
)
def get_application(
    application_id: PathId, session: SessionDep, caller: Reader
) -> CreditApplicationOut:
    return _out(service.get(session, application_id))
