"""Customers: register one (core banking sends them before their loans)."""

from __future__ import annotations

from collections.abc import Collection

from postloan.application.ports import UserDirectory
from postloan.application.services import Services
from postloan.customers import references, service
from postloan.customers.models import Customer
from postloan.errors import InvalidInput


def unknown_account_managers(directory: UserDirectory, users: Collection[str]) -> set[str]:
    """Which of ``users`` the engine does not know in group account-managers (one look-up for
    all the distinct names; the directory caches briefly)."""
    wanted = set(users)
    if not wanted:
        return set()
    known = directory.members_of(references.ACCOUNT_MANAGERS_GROUP, wanted)
    return references.unknown_account_managers(wanted, known)


def register_customer(services: Services, data: service.CustomerData, *, actor: str) -> Customer:
    """Register a customer in its own transaction; raises the domain's errors (a known id is
    a conflict, bad fields invalid input). The account manager must be a user the engine knows
    in group account-managers (422 naming ``account_manager``; 503 when the engine cannot
    say), or the first inspection would be assigned to nobody."""
    if unknown_account_managers(services.engine, [data.account_manager]):
        raise InvalidInput(
            references.account_manager_problem(data.account_manager), field="account_manager"
        )
    with services.transaction() as session:
        return service.register(session, data, actor=actor)
