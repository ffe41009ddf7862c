"""Customers: register one (core banking sends them before their loans)."""

from __future__ import annotations

from postloan.application.services import Services
from postloan.customers import service
from postloan.customers.models import Customer


def register_customer(services: Services, data: service.CustomerData, *, actor: str) -> Customer:
    """Register a customer in its own transaction; raises the domain's errors (a known id is
    a conflict, bad fields invalid input)."""
    with services.transaction() as session:
        return service.register(session, data, actor=actor)
