from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import AfterValidator

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Identifier, Name, PathId, Strict, text
from postloan.application import customers as customer_cases
from postloan.customers import references, service
from postloan.customers.models import Customer

router = APIRouter(prefix="/customers", tags=["customers"])

Industry = Annotated[str, *text(100, min_length=1)]


def _known(problem: Callable[[str], str | None]) -> AfterValidator:
    """A field validator refusing a value the reference check finds a problem with (422)."""

    def check(value: str) -> str:
        why = problem(value)
        if why is not None:
            raise ValueError(why)
        return value

    return AfterValidator(check)


#: the bank's internal rating grade of ``rating_scale`` (config/products.yaml), e.g. ``BBB`` or
#: ``A-``, or a credit-bureau score within ``credit_score_range``
Rating = Annotated[str, *text(10, min_length=1), _known(references.rating_problem)]
#: a branch of config/branches.yaml
Branch = Annotated[Identifier, _known(references.branch_problem)]


class CustomerIn(Strict):
    id: Identifier
    name: Name
    segment: Literal["corporate", "sme", "micro", "retail"]
    industry: Industry
    branch: Branch
    #: an engine user in group account-managers (checked with the engine, 422 otherwise)
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
