"""The engine's REST API is closed to strangers, and people only see what their groups allow."""

from __future__ import annotations

import pytest
import requests

from gateway.engine import EngineError, EngineGateway

pytestmark = pytest.mark.engine


def test_engine_rest_without_credentials_is_401(engine_url: str) -> None:
    assert requests.get(f"{engine_url}/engine", timeout=5).status_code == 401


def test_engine_rest_with_wrong_password_is_401(provisioned) -> None:
    # Not a demo user: the engine delays a user's next login after a failed one.
    bad = EngineGateway(provisioned.engine_url, "nobody-here", "wrong-password")
    with pytest.raises(EngineError) as err:
        bad.call("GET", "/task")
    assert err.value.status == 401


def test_technical_users_are_not_admins(provisioned) -> None:
    workers = EngineGateway(
        provisioned.engine_url,
        provisioned.engine_worker_user,
        provisioned.engine_worker_password.get_secret_value(),
    )
    with pytest.raises(EngineError) as err:
        workers.call(
            "POST",
            "/user/create",
            json={"profile": {"id": "intruder"}, "credentials": {"password": "x"}},
        )
    assert err.value.status == 403


def test_staff_see_filters_and_reach_tasklist(as_user) -> None:
    filters = as_user("am_li").call("GET", "/filter", params={"resourceType": "Task"})
    assert {"My tasks", "My groups' tasks"} <= {f["name"] for f in filters}


def test_provisioning_twice_changes_nothing(provisioned) -> None:
    from gateway.provision import provision

    report = provision(provisioned)
    assert report.created == []
    assert not (report.deployment.get("deployedProcessDefinitions") or {})
