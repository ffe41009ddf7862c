"""Shared fixtures: one real engine per test session, a migrated database, provisioned identities.

The engine is the real Camunda 7.24 jar built from ``engine/`` (started here with ``java``), unless
``POSTLOAN_TEST_ENGINE_URL`` points at one already running. Nothing of the engine is mocked.
"""

from __future__ import annotations

import atexit
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="postloan-tests-"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Which databases the session runs on: the project on ``sqlite`` (default) or ``postgres``
# (POSTLOAN_TEST_DB), the engine on ``h2`` (default) or ``postgres`` (POSTLOAN_TEST_ENGINE_DB).
# PostgreSQL is a throwaway cluster (tests/pgcluster.py) unless POSTLOAN_TEST_POSTGRES_URL names a
# server; tests/postgres/ then use the same server.
_TEST_DB = os.environ.get("POSTLOAN_TEST_DB", "sqlite")
_TEST_ENGINE_DB = os.environ.get("POSTLOAN_TEST_ENGINE_DB", "h2")
assert _TEST_DB in ("sqlite", "postgres"), f"POSTLOAN_TEST_DB={_TEST_DB!r}: sqlite or postgres"
assert _TEST_ENGINE_DB in ("h2", "postgres"), f"POSTLOAN_TEST_ENGINE_DB={_TEST_ENGINE_DB!r}"
_ENGINE_DB_ENV: dict[str, str] = {}
if "postgres" in (_TEST_DB, _TEST_ENGINE_DB):
    import pgcluster

    if not os.environ.get("POSTLOAN_TEST_POSTGRES_URL"):
        _CLUSTER = pgcluster.PostgresCluster().start()
        atexit.register(_CLUSTER.destroy)
        os.environ["POSTLOAN_TEST_POSTGRES_URL"] = _CLUSTER.url
    _PG_SERVER = os.environ["POSTLOAN_TEST_POSTGRES_URL"].rstrip("/") + "/"
    if _TEST_DB == "postgres" and not os.environ.get("POSTLOAN_TEST_DATABASE_URL"):
        os.environ["POSTLOAN_TEST_DATABASE_URL"] = pgcluster.create_database(
            _PG_SERVER, "postloan_suite"
        )
    if _TEST_ENGINE_DB == "postgres":
        pgcluster.create_database(_PG_SERVER, "engine_suite")
        _ENGINE_DB_ENV = pgcluster.engine_env(_PG_SERVER, "engine_suite")

# Settings are read from the environment once per process: fix them before anything imports them.
_ENGINE_PORT = _free_port()
os.environ.setdefault("POSTLOAN_ENV", "test")
os.environ["POSTLOAN_DATA_DIR"] = str(_TMP)
os.environ["POSTLOAN_DATABASE_URL"] = os.environ.get(
    "POSTLOAN_TEST_DATABASE_URL", f"sqlite:///{_TMP / 'postloan.db'}"
)
os.environ["POSTLOAN_ENGINE_URL"] = os.environ.get(
    "POSTLOAN_TEST_ENGINE_URL", f"http://127.0.0.1:{_ENGINE_PORT}/engine-rest"
)
os.environ.setdefault("POSTLOAN_WORKER_LONG_POLL_MS", "5000")
os.environ.setdefault("POSTLOAN_WORKER_SHUTDOWN_GRACE_SECONDS", "5")

from helpers import DEMO_PASSWORDS  # noqa: E402

from config.settings import Settings, get_settings  # noqa: E402
from gateway.engine import EngineGateway  # noqa: E402

SCHEDULER_PROCESS = "inspection_scheduler"


@pytest.fixture(scope="session")
def settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def engine_url(settings: Settings) -> Iterator[str]:
    """A running engine: started for this session (fresh H2 database) unless one was given."""
    if os.environ.get("POSTLOAN_TEST_ENGINE_URL"):
        yield settings.engine_url
        return
    from postloanctl.engine_process import EngineProcess

    engine = EngineProcess(
        _ENGINE_PORT,
        _TMP / "engine",
        _TMP / "engine.log",
        env={"JOB_MAX_WAIT_MS": "1000", **_ENGINE_DB_ENV},
    )
    engine.start()
    try:
        yield engine.url
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A base URL without database name, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5/``:
    ``POSTLOAN_TEST_POSTGRES_URL`` when given (a role allowed to create databases), else a
    private cluster for the session with Debian's server binaries (``tests/pgcluster.py``)."""
    from pgcluster import MISSING, PostgresCluster, server_binaries

    if url := os.environ.get("POSTLOAN_TEST_POSTGRES_URL"):
        yield url.rstrip("/") + "/"
        return
    if server_binaries() is None:
        pytest.fail(MISSING)
    cluster = PostgresCluster().start()
    try:
        yield cluster.url
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def database(settings: Settings) -> str:
    from postloanctl.__main__ import migrate

    migrate(settings)
    return settings.database_url


@pytest.fixture(scope="session")
def provisioned(settings: Settings, engine_url: str) -> Settings:
    """Identities, authorizations, filters and the real diagrams of ``bpmn/``, deployed.

    The scheduler's own timer (every 10 minutes) is suspended for the session: when it fired, it
    started the routine inspections of every due loan in the shared database, whose checks raised
    signals into whichever test was then counting a customer's signals or tasks (CI saw a signal
    handling test wait in vain for its confirmation task). Tests that need a scheduler run start
    ``inspection_scheduler`` themselves; ``test_the_scheduler_timer_is_suspended_for_the_tests``
    checks the suspension holds."""
    from gateway.provision import provision

    provision(settings)
    EngineGateway(
        settings.engine_url,
        settings.engine_admin_user,
        settings.engine_admin_password.get_secret_value(),
    ).call(
        "PUT",
        "/job-definition/suspended",
        json={
            "processDefinitionKey": SCHEDULER_PROCESS,
            "suspended": True,
            "includeJobs": True,
        },
    )
    return settings


@pytest.fixture(scope="session")
def admin(provisioned: Settings) -> EngineGateway:
    return EngineGateway(
        provisioned.engine_url,
        provisioned.engine_admin_user,
        provisioned.engine_admin_password.get_secret_value(),
    )


@pytest.fixture(scope="session")
def as_user(provisioned: Settings) -> Callable[[str], EngineGateway]:
    """The engine as one of the demo people, with their own credentials and rights."""

    def make(user: str) -> EngineGateway:
        return EngineGateway(provisioned.engine_url, user, DEMO_PASSWORDS[user])

    return make


@pytest.fixture(scope="session")
def workers(provisioned: Settings, database: str) -> Iterator[Any]:
    """The real workers (every registered handler) running in this process on a thread."""
    from workers.__main__ import build_worker

    worker = build_worker()
    thread = threading.Thread(target=worker.run, name="test-workers", daemon=True)
    thread.start()
    yield worker
    worker.stop()
    thread.join(timeout=30)


@pytest.fixture(scope="session")
def api_keys(database: str) -> dict[str, str]:
    from postloan.access import service as access
    from postloan.db import unit_of_work

    keys = {}
    with unit_of_work(database) as session:
        for role in ("integrator", "viewer", "auditor", "admin", "vendor:V001"):
            keys[role] = access.issue(session, name=f"test-{role}", role=role, actor="tests")
    return keys


@pytest.fixture(scope="session")
def api(provisioned: Settings, database: str, api_keys: dict[str, str]) -> Any:
    """The FastAPI app in process (real database, real engine), authenticated as an integrator."""
    from fastapi.testclient import TestClient

    from api.main import app

    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {api_keys['integrator']}"
    return client


# -- test tiers -----------------------------------------------------------------------------------
# A test is in a tier by what it uses, so the fast tier (`-m "not engine and not browser and not
# postgres and not e2e"`) never starts the engine, Chromium or PostgreSQL: a test whose fixtures
# (their whole closure: `api` and `workers` depend on `provisioned`) include one of these carries
# the marker even when its module forgot it. tests/unit/test_tiers.py checks it over the suite.
TIER_FIXTURES = {
    "engine_url": "engine",
    "provisioned": "engine",
    "admin": "engine",
    "as_user": "engine",
    "workers": "engine",
    "api": "engine",
    "chromium_browser": "browser",
    "postgres_server": "postgres",
}
ALL_ITEMS = pytest.StashKey[list[pytest.Item]]()


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker in sorted({TIER_FIXTURES[f] for f in used & TIER_FIXTURES.keys()}):
            if item.get_closest_marker(marker) is None:
                item.add_marker(marker)
    config.stash[ALL_ITEMS] = list(items)
