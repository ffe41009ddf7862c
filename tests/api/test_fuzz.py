"""Schemathesis over the whole OpenAPI document of the app in process (ASGI, no network).

Every operation is fuzzed — the document's examples, its coverage cases (boundaries, values just
outside every constraint, wrong types) and Hypothesis-generated requests, valid and invalid — and
each generated request is sent with every role's key (integrator, viewer, auditor, admin,
vendor:V001). Each answer must be no 5xx, a documented status, the documented content type and
body shape (``ErrorBody`` for errors), and an invalid request must be refused (4xx): the
document's constraints are the ones validation applies.

Bounded and repeatable: a fixed number of examples per operation, a fixed seed and derandomized
generation, no shrinking, no example database; a time budget for the whole fuzz (operations past it
are not fuzzed and the summary says so). The requests go to a database of their own, so that
what the fuzzer manages to create does not meet the other tests.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
import schemathesis
from fastapi import Depends
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from api.deps import EngineDep, get_services, get_session
from api.main import app
from config.settings import Settings, get_settings
from postloan.application.services import Services

pytestmark = pytest.mark.engine

#: the app's settings as a dependency (string annotations resolve in this module's globals)
SettingsDep = Annotated[Settings, Depends(get_settings)]

ROLES = ("integrator", "viewer", "auditor", "admin", "vendor:V001")
#: Hypothesis examples per operation and generation mode (on top of examples and coverage).
MAX_EXAMPLES = 10
SEED = 20260802
#: The whole fuzz stops sending requests after this many seconds (2 cores, shared).
BUDGET_SECONDS = 170.0
#: ``not_a_server_error`` runs too, in the test itself: a 503 saying the engine could not be
#: reached is documented and counted, not a failure; any other 5xx is.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
)

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "no-shrink": True,
            "database": "none",
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {
            "enabled": False,
            **{name: {"enabled": True} for name in CHECKS},
        },
    }
)

#: What the fuzz did, for the summary: requests, statuses, failures by check, time spent.
STATS: dict[str, Counter] = {
    "requests": Counter(),
    "statuses": Counter(),
    "failures": Counter(),
    "skipped": Counter(),
    "tolerated": Counter(),
}
#: ``POSTLOAN_FUZZ_KEEP_GOING=1``: record every failure instead of stopping an operation at its
#: first (to triage a run; the summary then lists them all and fails).
KEEP_GOING = os.environ.get("POSTLOAN_FUZZ_KEEP_GOING") == "1"
FAILURES: list[str] = []
_started: list[float] = []


@pytest.fixture(scope="module")
def fuzz_database(provisioned, tmp_path_factory) -> str:
    """A migrated database of the fuzz's own."""
    from postloanctl.__main__ import migrate

    url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'fuzz.db'}"
    migrate(provisioned.model_copy(update={"database_url": url}))
    return url


@pytest.fixture(scope="module")
def fuzz_keys(fuzz_database) -> dict[str, str]:
    from postloan.access import service as access
    from postloan.db import unit_of_work

    with unit_of_work(fuzz_database) as session:
        return {
            role: access.issue(session, name=f"fuzz-{role}", role=role, actor="tests")
            for role in ROLES
        }


#: The tables whose rows record the process instance started for them.
PROCESS_TABLES = ("inspection", "rectification", "credit_application", "visit_batch")


def _withdraw_processes(admin, database: str) -> int:  # type: ignore[no-untyped-def]
    """Delete the process instances started for what the fuzz created: their business objects
    live only in the fuzz database, so the workers of later tests must not meet them."""
    from sqlalchemy import text

    from gateway.engine import EngineError
    from postloan.db import unit_of_work

    with unit_of_work(database) as session:
        pids = {
            pid
            for table in PROCESS_TABLES
            for pid in session.scalars(
                text(
                    f"SELECT process_instance_id FROM {table} WHERE process_instance_id IS NOT NULL"
                )
            )
        }
    withdrawn = 0
    for pid in sorted(pids):
        try:
            admin.call(
                "DELETE",
                f"/process-instance/{pid}",
                params={"skipCustomListeners": "true", "skipIoMappings": "true"},
            )
            withdrawn += 1
        except EngineError:
            pass  # already ended
    return withdrawn


@pytest.fixture(scope="module")
def fuzz_app(fuzz_database, fuzz_keys, admin, request) -> Iterator[object]:
    """The app on the fuzz database, for this module only (the other tests keep theirs): the
    request's session and the use cases' units of work alike."""
    from postloan.db import get_session_factory

    def fuzz_session() -> Iterator[object]:
        session = get_session_factory(fuzz_database)()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def fuzz_services(settings: SettingsDep, engine: EngineDep) -> Services:
        return get_services(settings.model_copy(update={"database_url": fuzz_database}), engine)

    app.dependency_overrides[get_session] = fuzz_session
    app.dependency_overrides[get_services] = fuzz_services
    try:
        yield app
    finally:
        app.dependency_overrides.pop(get_session, None)
        app.dependency_overrides.pop(get_services, None)
        withdrawn = _withdraw_processes(admin, fuzz_database)
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print(f"\nfuzz: withdrew {withdrawn} process instances it had started")


#: The document as the app serves it (read in process when the tests are collected; the requests
#: are sent once ``fuzz_app`` points the app at the fuzz database).
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


def _unreachable_engine(response) -> bool:  # type: ignore[no-untyped-def]
    """A documented 503: the engine could not be reached in time (a shared machine's engine
    can be slow). An engine that *refused* a call is not excused: that may be a bug."""
    if response.status_code != 503:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return body.get("error") in ("engine_unavailable", "unavailable") and (
        "unreachable" in body.get("detail", "") or "cannot be reached" in body.get("detail", "")
    )


@schema.parametrize()
def test_fuzz_every_operation_with_every_role(case, fuzz_app, fuzz_keys):
    if not _started:
        _started.append(time.monotonic())
    label = f"{case.operation.method.upper()} {case.operation.path}"
    if time.monotonic() - _started[0] > BUDGET_SECONDS:
        STATS["skipped"][label] += 1
        return
    for role in ROLES:
        response = case.call(headers={"Authorization": f"Bearer {fuzz_keys[role]}"})
        STATS["requests"][label] += 1
        STATS["statuses"][f"{response.status_code // 100}xx"] += 1
        try:
            if response.status_code >= 500 and not _unreachable_engine(response):
                raise AssertionError(f"server error {response.status_code}: {response.text}")
            if _unreachable_engine(response):
                STATS["tolerated"]["503 engine unreachable"] += 1
            case.validate_response(response, excluded_checks=[not_a_server_error])
        except (AssertionError, FailureGroup) as exc:
            kinds = [type(f).__name__ for f in getattr(exc, "exceptions", [exc])]
            for kind in kinds:
                STATS["failures"][kind] += 1
            FAILURES.append(
                f"{label} as {role}: {response.status_code} {', '.join(kinds)}: "
                f"{str(exc).splitlines()[0][:300]}  {_curl(case, response)}"
            )
            if not KEEP_GOING:
                raise


def _curl(case, response) -> str:  # type: ignore[no-untyped-def]
    if not KEEP_GOING:
        return ""
    return (
        f"[{case.method} {case.formatted_path} query={case.query} body={case.body!r}"[:400]
        + f" -> {response.text[:300]}]"
    )


def test_fuzz_summary(fuzz_app, capsys):
    """The fuzz ran over every operation (and says how much it sent and what it found)."""
    operations = {f"{m.upper()} {p}" for p, ops in app.openapi()["paths"].items() for m in ops}
    requests = sum(STATS["requests"].values())
    with capsys.disabled():
        print(
            f"\nfuzz: {requests} requests over {len(STATS['requests'])} of "
            f"{len(operations)} operations; statuses {dict(sorted(STATS['statuses'].items()))}"
            f"; failures {dict(STATS['failures'])}; tolerated {dict(STATS['tolerated'])}"
            f"; skipped past the time budget "
            f"{sum(STATS['skipped'].values())}; "
            f"{time.monotonic() - _started[0] if _started else 0:.0f} s"
        )
        for line in FAILURES[:300]:
            print(f"  {line}")
    if not requests:
        pytest.skip("the fuzz did not run in this session (selected alone)")
    assert set(STATS["requests"]) | set(STATS["skipped"]) == operations
    assert requests >= len(operations) * len(ROLES)
    assert not FAILURES, f"{len(FAILURES)} failures (listed above)"
