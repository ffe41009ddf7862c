"""Fixtures of the inspection-plan tests.

The technical users' rights to evaluate decisions and start inspections come from
``config/identities.yaml`` as provisioned, so these tests exercise the real authorization check.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.engine import EngineGateway


@pytest.fixture(scope="session")
def api_engine(provisioned) -> EngineGateway:  # noqa: ANN001
    """The engine as the API's technical user (what the endpoints use)."""
    return EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )


@pytest.fixture
def session(database: str):  # noqa: ANN201
    from postloan.db import get_session_factory

    s = get_session_factory(database)()
    yield s
    s.rollback()
    s.close()


@pytest.fixture(scope="session")
def plan_api(api: Any) -> Any:
    """The API client as an integrator."""
    return api
