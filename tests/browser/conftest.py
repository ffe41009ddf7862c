"""Browser fixtures: Debian's Chromium driven by Playwright, one fresh context per person.

Never ``playwright install``: the browser is the system's ``/usr/bin/chromium`` (apt package
``chromium``), or ``POSTLOAN_TEST_CHROMIUM``. Without it these tests fail: ``./scripts/bootstrap --test`` installs it.
On a failure every page still open is saved as a screenshot (and its HTML) in ``artifacts/``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("POSTLOAN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 15_000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    from playwright import sync_api

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run ./scripts/bootstrap --test (apt-get install chromium)"
        )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def api_server(provisioned: Any, database: str) -> Iterator[str]:
    """The API app (api.main) on a free local port, in this process (real engine for the
    login, real database): the base URL the pages are under."""
    from api.main import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="browser-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the API did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def tasklist_url(engine_url: str) -> str:
    return engine_url.removesuffix("/engine-rest") + "/camunda/app/tasklist/default/"


@pytest.fixture
def tasklist(
    chromium_browser: Any, tasklist_url: str, request: pytest.FixtureRequest
) -> Iterator[Callable[[str, str], Any]]:
    """``tasklist(user, password)``: a page logged in to Tasklist in a fresh browser context."""
    opened: list[tuple[str, Any, Any]] = []

    def login(user: str, password: str) -> Any:
        from helpers import sign_in_to_tasklist

        context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page = context.new_page()
        opened.append((user, context, page))
        sign_in_to_tasklist(page, tasklist_url, user, password, DEFAULT_TIMEOUT_MS)
        return page

    yield login

    failed = any(
        getattr(request.node, f"rep_{when}", None) is not None
        and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    for index, (user, context, page) in enumerate(opened):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            stem = ARTIFACTS / f"{request.node.name}-{index}-{user}"
            try:
                page.screenshot(path=f"{stem}.png", full_page=True)
                Path(f"{stem}.html").write_text(page.content(), encoding="utf-8")
            except Exception as e:  # noqa: BLE001 - a screenshot must not hide the failure
                print(f"could not save {stem}: {e}")
        context.close()
