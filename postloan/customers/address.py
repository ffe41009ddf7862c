"""A customer's registered address and its coordinates, which the vendor GPS check relies on.

The coordinates are WGS84 degrees, both or neither: a latitude without its longitude places the
customer nowhere, and the GPS check (``postloan.vendors.authenticity``) would then compare visits
with a wrong point. REST (``POST /customers``, ``PUT /customers/{id}/registered-address``) and the
bulk importer apply :func:`problem` alike, so a file row obeys the same rule as a call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy.orm import Session

from postloan import audit
from postloan.customers.models import Customer
from postloan.errors import InvalidInput, NotFound

LATITUDE_RANGE = (-90.0, 90.0)
LONGITUDE_RANGE = (-180.0, 180.0)


@dataclass(frozen=True)
class RegisteredAddress:
    """What is recorded: the address as written and where it is (both coordinates, or none)."""

    address: str | None
    latitude: float | None
    longitude: float | None


def problem(latitude: float | None, longitude: float | None) -> tuple[str, str] | None:
    """(field, why) when the coordinates are unusable, else None."""
    for name, value, (low, high) in (
        ("latitude", latitude, LATITUDE_RANGE),
        ("longitude", longitude, LONGITUDE_RANGE),
    ):
        if value is not None and (not math.isfinite(value) or not low <= value <= high):
            return name, f"must be a number from {low:g} to {high:g} (WGS84 degrees)"
    if latitude is not None and longitude is None:
        return "longitude", "is required when latitude is given (both coordinates or neither)"
    if longitude is not None and latitude is None:
        return "latitude", "is required when longitude is given (both coordinates or neither)"
    return None


def check(latitude: float | None, longitude: float | None) -> None:
    """Raise ``InvalidInput`` naming the field when :func:`problem` finds one."""
    found = problem(latitude, longitude)
    if found is not None:
        field, why = found
        raise InvalidInput(f"{field} {why}", field=field)


def home_of(customer: Customer | None) -> tuple[float, float] | None:
    """The registered coordinates of a customer, or None when it has none."""
    if customer is None or customer.latitude is None or customer.longitude is None:
        return None
    return customer.latitude, customer.longitude


def set_registered_address(
    session: Session, customer_id: str, data: RegisteredAddress, *, actor: str
) -> Customer:
    """Record (or replace) a customer's registered address; the previous one is in the audit."""
    check(data.latitude, data.longitude)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id!r} does not exist")
    before = {
        "address": customer.registered_address,
        "latitude": customer.latitude,
        "longitude": customer.longitude,
    }
    customer.registered_address = data.address
    customer.latitude, customer.longitude = data.latitude, data.longitude
    audit.record(
        session,
        actor=actor,
        action="customer.address_registered",
        object_type="customer",
        object_id=customer_id,
        detail={
            "address": data.address,
            "latitude": data.latitude,
            "longitude": data.longitude,
            "before": before,
        },
    )
    session.flush()
    return customer
