"""The lint catches inspection_plan outputs the code cannot use (postloan/dmn-output-types):
a string frequency, a unit the code does not know, a wrong typeRef; the real table passes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from config.settings import ROOT

DMN = ROOT / "bpmn" / "inspection_plan.dmn"


def lint(folder: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not (ROOT / "lint" / "node_modules").is_dir():
        pytest.fail("the lint needs node and lint/node_modules (npm ci --prefix lint)")
    return subprocess.run(
        ["node", str(ROOT / "lint" / "run.js"), str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_real_table_passes(tmp_path: Path):
    (tmp_path / "inspection_plan.dmn").write_text(DMN.read_text(encoding="utf-8"))
    result = lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dmn-output-types" not in result.stdout


@pytest.mark.parametrize(
    ("old", "new", "element", "says"),
    [
        (
            '<outputEntry id="LiteralExpression_Default_Frequency">\n          <text>3</text>',
            '<outputEntry id="LiteralExpression_Default_Frequency">\n          <text>"3"</text>',
            "LiteralExpression_Default_Frequency",
            "is not a number",
        ),
        (
            'name="frequency" typeRef="integer"',
            'name="frequency" typeRef="string"',
            "Output_Frequency",
            "the code reads it as integer",
        ),
        (
            '<outputEntry id="LiteralExpression_MicroSmall_FrequencyUnit">\n'
            '          <text>"months"</text>',
            '<outputEntry id="LiteralExpression_MicroSmall_FrequencyUnit">\n'
            '          <text>"fortnights"</text>',
            "LiteralExpression_MicroSmall_FrequencyUnit",
            "is not one of days, weeks, months",
        ),
        (
            '<outputEntry id="LiteralExpression_NewCustomer_FirstInspectionDays">\n'
            "          <text>15</text>",
            '<outputEntry id="LiteralExpression_NewCustomer_FirstInspectionDays">\n'
            "          <text>0</text>",
            "LiteralExpression_NewCustomer_FirstInspectionDays",
            "below 1",
        ),
        (
            'name="first_inspection_days"',
            'name="first_inspection_deadline"',
            "inspection_plan",
            "has no output first_inspection_days",
        ),
    ],
)
def test_an_output_the_code_cannot_use_is_an_error(tmp_path: Path, old, new, element, says):
    xml = DMN.read_text(encoding="utf-8")
    assert xml.count(old) == 1, old
    (tmp_path / "inspection_plan.dmn").write_text(xml.replace(old, new), encoding="utf-8")
    result = lint(tmp_path)
    lines = [line for line in result.stdout.splitlines() if "[postloan/dmn-output-types]" in line]
    assert result.returncode == 1, result.stdout + result.stderr
    assert any(element in line and says in line for line in lines), result.stdout
