"""The engine's REST basic authentication caches verified passwords without weakening the check.

A password verified within the TTL is not hashed again (engine/app, CachingHttpBasicAuthentication-
Provider); these tests pin what must not change: another password is checked, a changed password
refuses the old one at once, a wrong one is refused every time. Each test has its own user: the
engine delays a user's next login after a failed one.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from config.settings import Settings

pytestmark = pytest.mark.engine


def _new_user(settings: Settings, password: str) -> str:
    user_id = f"authcache-{uuid.uuid4().hex[:10]}"
    response = requests.post(
        f"{settings.engine_url}/user/create",
        json={
            "profile": {"id": user_id, "firstName": "Auth", "lastName": "Cache"},
            "credentials": {"password": password},
        },
        auth=(settings.engine_admin_user, settings.engine_admin_password.get_secret_value()),
        timeout=10,
    )
    assert response.status_code == 204, response.text
    return user_id


def _status(settings: Settings, user: str, password: str) -> int:
    # GET /version needs nothing but authentication: its status is the password check's answer.
    return requests.get(
        f"{settings.engine_url}/version", auth=(user, password), timeout=10
    ).status_code


def test_a_cached_password_does_not_let_another_password_in(provisioned: Settings) -> None:
    user = _new_user(provisioned, "right-password-1")
    assert _status(provisioned, user, "right-password-1") == 200
    assert _status(provisioned, user, "right-password-1") == 200  # from the cache
    assert _status(provisioned, user, "right-password-2") == 401
    assert _status(provisioned, user, "right-password-1 ") == 401
    assert _status(provisioned, user + "x", "right-password-1") == 401


def test_a_changed_password_refuses_the_old_one_at_once(provisioned: Settings) -> None:
    user = _new_user(provisioned, "old-password")
    for _ in range(3):
        assert _status(provisioned, user, "old-password") == 200
    response = requests.put(
        f"{provisioned.engine_url}/user/{user}/credentials",
        json={
            "password": "new-password",
            "authenticatedUserPassword": provisioned.engine_admin_password.get_secret_value(),
        },
        auth=(provisioned.engine_admin_user, provisioned.engine_admin_password.get_secret_value()),
        timeout=10,
    )
    assert response.status_code == 204, response.text
    assert _status(provisioned, user, "new-password") == 200
    assert _status(provisioned, user, "old-password") == 401
    assert _status(provisioned, user, "old-password") == 401


def test_a_deleted_user_is_refused_at_once(provisioned: Settings) -> None:
    user = _new_user(provisioned, "some-password")
    assert _status(provisioned, user, "some-password") == 200
    response = requests.delete(
        f"{provisioned.engine_url}/user/{user}",
        auth=(provisioned.engine_admin_user, provisioned.engine_admin_password.get_secret_value()),
        timeout=10,
    )
    assert response.status_code == 204, response.text
    assert _status(provisioned, user, "some-password") == 401


def test_a_wrong_password_is_401_every_time(provisioned: Settings) -> None:
    user = _new_user(provisioned, "good-password")
    assert _status(provisioned, user, "good-password") == 200  # a success is cached...
    for _ in range(5):  # ...a failure never is (the lockout allows 10 attempts)
        assert _status(provisioned, user, "bad-password") == 401
