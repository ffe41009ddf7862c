"""pyproject.toml declares what the lock installs, and its `postloan` command is postloanctl."""

from __future__ import annotations

import importlib
import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pins() -> dict[str, str]:
    """requirements.in: the direct dependencies with their exact versions."""
    pins = {}
    for line in (ROOT / "requirements.in").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (version,) = [s.version for s in requirement.specifier if s.operator == "=="]
            pins[canonicalize_name(requirement.name)] = version
    return pins


def _declared() -> dict[str, Requirement]:
    lines = PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def test_pyproject_and_the_lock_name_the_same_direct_dependencies():
    # wheel only builds the editable install of this project (scripts/bootstrap)
    assert sorted(_declared()) == sorted(set(_pins()) - {"wheel"})


def test_every_locked_version_is_within_the_declared_range():
    pins, declared = _pins(), _declared()
    outside = {
        name: (pins[name], str(r.specifier))
        for name, r in declared.items()
        if not r.specifier.contains(pins[name], prereleases=True)
    }
    assert outside == {}


def test_the_postloan_command_is_postloanctls_main():
    target = PROJECT["scripts"]["postloan"]
    module, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module), attribute)
    from postloanctl.__main__ import main

    assert command is main
    with pytest.raises(SystemExit) as exit_:
        command(["--help"])
    assert exit_.value.code == 0


def test_the_installed_command_matches_pyproject():
    """scripts/bootstrap installs the project (editable): its metadata names the same target."""
    installed = importlib.metadata.entry_points(group="console_scripts", name="postloan")
    if not installed:
        pytest.skip("the project is not installed in this environment (scripts/bootstrap does)")
    (entry_point,) = installed
    assert entry_point.value == PROJECT["scripts"]["postloan"]
    from postloanctl.__main__ import main

    assert entry_point.load() is main
