from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, status

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Identifier, Name, PathId, Strict, text
from postloan.application import customers as customer_cases
from postloan.customers import service
from postloan.customers.models import Customer

router = APIRouter(prefix="/customers", tags=["customers"])

Industry = Annotated[str, *text(100, min_length=1)]
#: the bank's internal rating grade, e.g. ``BBB`` or ``A-``
Rating = Annotated[str, *text(10, min_length=1)]


class CustomerIn(Strict):
    id: Identifier
    name: Name
    segment: Literal["corporate", "sme", "micro", "retail"]
    industry: Industry
    branch: Identifier
    account_manager: Identifier
    credit_rating: Rating


class CustomerOut(Strict):
    id: str
    name: str
    segment: str
    industry: str
    branch: str
    account_manager: str
    credit_rating: str

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls(
            id=c.id,
            name=c.name,
            segment=c.segment,
            industry=c.industry,
            branch=c.branch,
            account_manager=c.account_manager,
            credit_rating=c.credit_rating,
        )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
def create_customer(body: CustomerIn, services: ServicesDep, caller: Integrator) -> CustomerOut:
    customer = customer_cases.register_customer(
        services, service.CustomerData(**body.model_dump()), actor=caller.actor
    )
    return CustomerOut.of(customer)


@router.get("/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: PathId, session: SessionDep, caller: Reader) -> CustomerOut:
    return CustomerOut.of(service.get(session, customer_id))
