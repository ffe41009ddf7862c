"""Fixtures of the rectification tests: the engine as the API's technical user, an auditor's
client, and a customer with a loan to raise items against."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import new_loan

from gateway.engine import EngineGateway


@pytest.fixture(scope="session")
def api_engine(provisioned) -> EngineGateway:  # noqa: ANN001
    return EngineGateway(
        provisioned.engine_url,
        provisioned.engine_api_user,
        provisioned.engine_api_password.get_secret_value(),
    )


@pytest.fixture(scope="session")
def auditor_api(api, api_keys) -> Any:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from api.main import app

    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {api_keys['auditor']}"
    return client


@pytest.fixture
def customer_loan(api) -> tuple[str, str]:  # noqa: ANN001
    loan_id = new_loan(api, account_manager="am_li")
    return api.get(f"/api/v1/loans/{loan_id}").json()["customer_id"], loan_id
