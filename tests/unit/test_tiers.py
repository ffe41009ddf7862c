"""Test tiers: every test that uses the engine, Chromium or PostgreSQL carries that tier's marker.

The fast tier (`pytest -m "not engine and not browser and not postgres and not e2e"`) relies on
it; tests/conftest.py adds the markers from the fixtures a test uses, and this checks the whole
collection (not only the tests selected by `-m`).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _root_conftest(config: pytest.Config) -> ModuleType:
    for plugin in config.pluginmanager.get_plugins():
        if Path(getattr(plugin, "__file__", None) or "/").resolve() == TESTS / "conftest.py":
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


def test_every_test_using_a_tier_fixture_carries_its_marker(request: pytest.FixtureRequest):
    root = _root_conftest(request.config)
    items = request.config.stash[root.ALL_ITEMS]
    assert len(items) >= len(request.session.items)
    unmarked = [
        f"{item.nodeid} uses {fixture} but is not marked {marker}"
        for item in items
        for fixture, marker in root.TIER_FIXTURES.items()
        if fixture in getattr(item, "fixturenames", ()) and not item.get_closest_marker(marker)
    ]
    assert unmarked == []


def test_the_tier_fixtures_exist(request: pytest.FixtureRequest):
    """A renamed fixture would silently leave its tests in the fast tier."""
    defined = "\n".join(path.read_text(encoding="utf-8") for path in TESTS.rglob("conftest.py"))
    tier_fixtures = _root_conftest(request.config).TIER_FIXTURES
    assert [name for name in tier_fixtures if f"def {name}(" not in defined] == []


def test_the_markers_are_registered(request: pytest.FixtureRequest):
    registered = {line.split(":")[0] for line in request.config.getini("markers")}
    assert {"engine", "browser", "postgres", "e2e"} <= registered
