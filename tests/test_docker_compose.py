"""docker-compose.yml stays valid for users with Docker (no Docker engine is needed to check)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {
    "POSTGRES_PASSWORD": "p",
    "ENGINE_ADMIN_PASSWORD": "a",
    "WORKERS_ENGINE_PASSWORD": "w",
    "API_ENGINE_PASSWORD": "i",
    "ORIGINATION_WEBHOOK_SECRET": "o",
    "PAGE_SESSION_SECRET": "s",
}


def test_compose_file_validates():
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose missing: run ./scripts/bootstrap --test")
    result = subprocess.run(
        [tool, "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={**os.environ, **SECRETS},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["services"]["engine"]["image"] == "camunda/camunda-bpm-platform:run-7.24.0"
    assert {"postgres", "engine", "setup", "api", "workers"} <= set(config["services"])


#: Services that run once and end (restarting them would repeat them forever).
ONE_SHOT = {"setup"}


def test_every_long_running_service_is_restarted_when_it_dies():
    """A crash is not an outage: Docker restarts a dead engine, database, API or worker."""
    tool = shutil.which("docker-compose") or pytest.fail("docker-compose missing")
    result = subprocess.run(
        [tool, "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={**os.environ, **SECRETS},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    policies = {name: s.get("restart", "no") for name, s in services.items()}
    assert {n for n, p in policies.items() if p == "no"} == ONE_SHOT, policies
    assert all(
        policies[n] in ("always", "unless-stopped") or policies[n].startswith("on-failure")
        for n in set(services) - ONE_SHOT
    ), policies
    assert {"postgres", "engine", "api", "workers"} <= set(services) - ONE_SHOT


def test_compose_refuses_to_start_without_secrets():
    tool = shutil.which("docker-compose") or pytest.fail("docker-compose missing")
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    result = subprocess.run(
        [tool, "-f", str(ROOT / "docker-compose.yml"), "config"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr


def test_run_image_registers_the_four_eyes_plugin_from_the_mounted_jar():
    bpm = yaml.safe_load((ROOT / "engine" / "run" / "default.yml").read_text())["camunda.bpm"]
    plugins = bpm["run"]["process-engine-plugins"]
    assert any(p["plugin-class"] == "org.postloan.engine.foureyes.FourEyesPlugin" for p in plugins)
    assert bpm["run"]["auth"]["enabled"] is True and bpm["authorization"]["enabled"] is True
