"""Fixtures of the inspection-plan tests.

The API and the workers evaluate the ``inspection_plan`` decision and start inspections with
their technical users; the grants below are what ``config/identities.yaml`` must give them
(DECISION_DEFINITION READ + CREATE_INSTANCE for both; the workers also start processes). They
are applied here until that file has them, so these tests exercise the real authorization check.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.engine import EngineGateway
from gateway.provision import ProvisionReport, _ensure_grant  # noqa: PLC2701

PLAN_GRANTS = {
    "svc-api": [
        {"resource": "DECISION_DEFINITION", "id": "*", "permissions": ["READ", "CREATE_INSTANCE"]},
    ],
    "svc-workers": [
        {"resource": "DECISION_DEFINITION", "id": "*", "permissions": ["READ", "CREATE_INSTANCE"]},
        {"resource": "PROCESS_DEFINITION", "id": "*",
         "permissions": ["READ", "READ_INSTANCE", "UPDATE_INSTANCE", "CREATE_INSTANCE"]},
        {"resource": "PROCESS_INSTANCE", "id": "*", "permissions": ["CREATE", "READ", "UPDATE"]},
    ],
}


@pytest.fixture(scope="session")
def plan_grants(admin: EngineGateway) -> None:
    report = ProvisionReport()
    for user, rules in PLAN_GRANTS.items():
        for rule in rules:
            _ensure_grant(admin, rule, report, user_id=user)


@pytest.fixture(scope="session")
def api_engine(provisioned, plan_grants) -> EngineGateway:  # noqa: ANN001
    """The engine as the API's technical user (what the endpoints use)."""
    return EngineGateway(provisioned.engine_url, provisioned.engine_api_user,
                         provisioned.engine_api_password.get_secret_value())


@pytest.fixture
def session(database: str):  # noqa: ANN201
    from postloan.db import get_session_factory

    s = get_session_factory(database)()
    yield s
    s.rollback()
    s.close()


@pytest.fixture(scope="session")
def plan_api(api: Any, plan_grants: None) -> Any:
    """The API client, once the technical users have the rights the plans need."""
    return api
