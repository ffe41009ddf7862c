"""Customers: registration and look-up."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postloan import audit
from postloan.bounds import id_taken_message
from postloan.customers import address
from postloan.customers.models import Customer
from postloan.errors import Conflict, NotFound


@dataclass(frozen=True)
class CustomerData:
    id: str
    name: str
    segment: str
    industry: str
    branch: str
    account_manager: str
    credit_rating: str
    #: the registered address and its WGS84 coordinates (both or neither; see ``address``)
    registered_address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    #: when the credit rating stops being valid, when the annual review is due (reminders)
    rating_valid_until: date | None = None
    annual_review_due_on: date | None = None


def register(session: Session, data: CustomerData, *, actor: str) -> Customer:
    """Create a customer; an existing id is a conflict (updates are not silently merged), also
    one that differs only in case."""
    address.check(data.latitude, data.longitude)
    stored = taken_id(session, data.id)
    if stored is not None:
        raise Conflict(id_taken_message("customer", data.id, stored), field="id")
    customer = Customer(**asdict(data))
    session.add(customer)
    audit.record(
        session,
        actor=actor,
        action="customer.registered",
        object_type="customer",
        object_id=data.id,
        detail={"segment": data.segment, "branch": data.branch},
    )
    try:
        session.flush()
    except IntegrityError as exc:  # registered concurrently
        session.rollback()
        raise Conflict(f"customer {data.id!r} was registered concurrently", field="id") from exc
    return customer


def taken_id(session: Session, customer_id: str) -> str | None:
    """The stored id equal to ``customer_id`` ignoring case, if any."""
    return session.scalar(select(Customer.id).where(func.lower(Customer.id) == customer_id.lower()))


def get(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id!r} does not exist")
    return customer
