"""Customers' registered addresses: record or replace one (the vendor GPS check compares visits
with it)."""

from __future__ import annotations

from postloan.application.services import Services
from postloan.customers import address
from postloan.customers.models import Customer


def register_address(
    services: Services, customer_id: str, data: address.RegisteredAddress, *, actor: str
) -> Customer:
    """Record or replace a customer's registered address and coordinates (audited), in its own
    transaction; bad coordinates are invalid input naming the field, an unknown customer 404."""
    with services.transaction() as session:
        return address.set_registered_address(session, customer_id, data, actor=actor)
