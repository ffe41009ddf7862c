"""Fixtures of the inspection-plan tests.

The technical users' rights to evaluate decisions and start inspections come from
``config/identities.yaml`` as provisioned, so these tests exercise the real authorization check.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlite_template import sqlite_template

from gateway.engine import EngineGateway

__all__ = ["sqlite_template"]  # the fast scheduling tests' fresh databases


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


@pytest.fixture(autouse=True, scope="session")
def roomy_scheduling(settings, tmp_path_factory):  # noqa: ANN001, ANN201
    """The engine tests here share one database and three account managers with every other
    test of the session, whose loans stay open: the scheduler they run gets room enough (the
    configured capacity is what tests/plans/test_scheduling*.py check)."""
    path = tmp_path_factory.mktemp("scheduling") / "scheduling.yaml"
    path.write_text(
        "capacity: {max_open_per_person: 100000, max_new_per_person_per_day: 100000}\n"
        "catch_up: {lead_days: 0, max_due_per_person_per_day: 100000,"
        " reason: 'Catch-up inspection: {plan_reason}'}\n"
        "incident: {repeat_after_hours: 24}\n",
        encoding="utf-8",
    )
    # The settings object of the moment, and any made later (a test that clears the settings
    # cache makes a new one from the environment): both read the roomy file.
    from config.settings import get_settings

    current = get_settings()
    before = (settings.scheduling_file, current.scheduling_file)
    env_before = os.environ.get("POSTLOAN_SCHEDULING_FILE")
    os.environ["POSTLOAN_SCHEDULING_FILE"] = str(path)
    settings.scheduling_file = current.scheduling_file = path
    yield path
    settings.scheduling_file, current.scheduling_file = before
    if env_before is None:
        os.environ.pop("POSTLOAN_SCHEDULING_FILE", None)
    else:
        os.environ["POSTLOAN_SCHEDULING_FILE"] = env_before
