"""Optional: the diagrams open in bpmn-js / dmn-js and the forms render in form-js 1.8.7
(the version Camunda 7.24 Tasklist embeds), in headless Chromium.

Needs:  apt-get install -y chromium   and   IBM_TELEMETRY_DISABLED=true npm ci --prefix lint/render
Skipped (with the reason) when either is missing; the lint tests in test_lint.py are not optional.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RENDER_DIR = ROOT / "lint" / "render"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser


def test_diagrams_and_forms_render_in_browser(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.fail("node not on PATH")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)")
    if not (RENDER_DIR / "node_modules" / "@bpmn-io" / "form-js").is_dir():
        pytest.fail(
            "render check not installed: IBM_TELEMETRY_DISABLED=true npm ci --prefix lint/render"
        )
    result = subprocess.run(
        ["node", str(RENDER_DIR / "check.js"), str(ROOT / "bpmn")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RENDER_OUT": str(tmp_path), "CHROMIUM": CHROMIUM},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "FAIL" not in output, output
