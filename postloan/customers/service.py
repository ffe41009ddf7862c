"""Customers: registration and look-up."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from postloan import audit
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


def register(session: Session, data: CustomerData, *, actor: str) -> Customer:
    """Create a customer; an existing id is a conflict (updates are not silently merged)."""
    if session.get(Customer, data.id) is not None:
        raise Conflict(f"customer {data.id!r} already exists", field="id")
    customer = Customer(**asdict(data))
    session.add(customer)
    audit.record(
        session, actor=actor, action="customer.registered", object_type="customer",
        object_id=data.id, detail={"segment": data.segment, "branch": data.branch},
    )
    session.flush()
    return customer


def get(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id!r} does not exist")
    return customer
