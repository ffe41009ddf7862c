from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import AfterValidator

from api.deps import Integrator, Reader, ServicesDep, SessionDep
from api.schemas import Identifier, Name, PathId, ScheduledDate, Strict, text
from postloan.application import addresses as address_cases
from postloan.application import customers as customer_cases
from postloan.customers import references, service
from postloan.customers.address import RegisteredAddress
from postloan.customers.models import Customer

router = APIRouter(prefix="/customers", tags=["customers"])

Industry = Annotated[str, *text(100, min_length=1)]
#: a registered address as written on the business licence
AddressText = Annotated[str, *text(300, min_length=1)]


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
    #: the registered address as written; its WGS84 coordinates (latitude -90..90, longitude
    #: -180..180, both or neither: 422 naming the field) place it for the vendor GPS check
    registered_address: AddressText | None = None
    latitude: float | None = None
    longitude: float | None = None
    #: the day the credit rating stops being valid, and the day the annual review is due: a
    #: prevent_lapse task opens before each (lead times in config/reminders.yaml)
    rating_valid_until: ScheduledDate | None = None
    annual_review_due_on: ScheduledDate | None = None


class CustomerOut(Strict):
    id: str
    name: str
    segment: str
    industry: str
    branch: str
    account_manager: str
    credit_rating: str
    registered_address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    rating_valid_until: date | None = None
    annual_review_due_on: date | None = None

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
            registered_address=c.registered_address,
            latitude=c.latitude,
            longitude=c.longitude,
            rating_valid_until=c.rating_valid_until,
            annual_review_due_on=c.annual_review_due_on,
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


class RegisteredAddressIn(Strict):
    """The registered address and its WGS84 coordinates (both or neither; latitude -90..90,
    longitude -180..180). Sending neither coordinate clears them: the GPS check then has nothing
    to compare visits with."""

    registered_address: AddressText | None = None
    latitude: float | None = None
    longitude: float | None = None


@router.put("/{customer_id}/registered-address", response_model=CustomerOut)
def register_address(
    customer_id: PathId, body: RegisteredAddressIn, services: ServicesDep, caller: Integrator
) -> CustomerOut:
    """Record or replace the customer's registered address (audited with the one it replaces).
    The vendor GPS check compares every outsourced visit's fix with these coordinates."""
    customer = address_cases.register_address(
        services,
        customer_id,
        RegisteredAddress(body.registered_address, body.latitude, body.longitude),
        actor=caller.actor,
    )
    return CustomerOut.of(customer)
