"""Diagram lint: the project's diagrams pass, and each project rule can fail.

Needs the Node lint project installed once:  npm ci --prefix lint
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
LINT_DIR = ROOT / "lint"
RUNNER = LINT_DIR / "run.js"

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def _require_lint_installed() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the diagram lint needs Node >= 20")
    if not (LINT_DIR / "node_modules" / "bpmnlint").is_dir():
        pytest.fail(
            "lint/node_modules is missing: run `npm ci --prefix lint` from the repository root first"
        )


def run_lint(*targets: Path) -> subprocess.CompletedProcess[str]:
    _require_lint_installed()
    return subprocess.run(
        ["node", str(RUNNER), *map(str, targets)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the project's own diagrams -------------------------------------------------------------


def test_project_diagrams_pass_lint_without_warnings() -> None:
    result = run_lint(BPMN_DIR)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert " 0 error(s), 0 warning(s)" in output, output


def test_lint_defaults_to_bpmn_folder() -> None:
    result = run_lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s)" in result.stdout


def test_each_form_id_matches_file_name() -> None:
    forms = sorted(BPMN_DIR.glob("*.form"))
    assert forms, "no .form files in bpmn/"
    for form in forms:
        schema = json.loads(form.read_text(encoding="utf-8"))
        assert schema["id"] == form.stem, form.name
        assert schema["type"] == "default", form.name
        # Camunda 7.24 Tasklist embeds form-js 1.8.x, whose schemaVersion is 16
        assert schema["schemaVersion"] <= 16, form.name
        assert schema["executionPlatform"] == "Camunda Platform", form.name
        assert schema["executionPlatformVersion"] == "7.24.0", form.name


def test_every_form_ref_resolves() -> None:
    form_ids = {json.loads(f.read_text(encoding="utf-8"))["id"] for f in BPMN_DIR.glob("*.form")}
    refs = []
    for diagram in sorted(BPMN_DIR.glob("*.bpmn")):
        tree = ET.parse(diagram)
        for element in tree.iter():
            ref = element.get(f"{{{CAMUNDA_NS}}}formRef")
            if ref is not None:
                refs.append((diagram.name, element.get("id"), ref))
    assert refs, "no camunda:formRef found in any diagram"
    unresolved = [r for r in refs if r[2] not in form_ids]
    assert not unresolved, f"formRefs without a .form of that id: {unresolved}"


def test_inspection_process_contract() -> None:
    """Ids that workers, the API and the engine plugin rely on."""
    tree = ET.parse(BPMN_DIR / "post_loan_inspection.bpmn")
    process = tree.find(f"{{{BPMN_NS}}}process")
    assert process is not None
    assert process.get("id") == "post_loan_inspection"
    assert process.get("isExecutable") == "true"
    assert process.get(f"{{{CAMUNDA_NS}}}historyTimeToLive") == "180"
    ids = {e.get("id"): e for e in process.iter() if e.get("id")}
    topics = {
        "load_context": "inspection.load-context",
        "check_repayment": "inspection.check-repayment",
        "finalize_inspection": "inspection.finalize",
    }
    for task_id, topic in topics.items():
        assert ids[task_id].get(f"{{{CAMUNDA_NS}}}topic") == topic
    assert ids["perform_inspection"].get(f"{{{CAMUNDA_NS}}}candidateGroups") == "account-managers"
    assert ids["review_inspection"].get(f"{{{CAMUNDA_NS}}}candidateGroups") == "postloan-officers"
    assert ids["classify_loan"].get(f"{{{CAMUNDA_NS}}}decisionRef") == "risk_classification"
    for needed in (
        "inspection_requested",
        "loan_not_found",
        "inspection_cancelled",
        "rework_join",
        "review_outcome",
        "rework_requested",
        "review_approved",
        "inspection_completed",
    ):
        assert needed in ids, needed


def test_risk_classification_decision_has_ttl() -> None:
    text = (BPMN_DIR / "risk_classification.dmn").read_text(encoding="utf-8")
    assert re.search(
        r'<decision id="risk_classification"[^>]*camunda:historyTimeToLive="180"', text
    )


# --- negative tests: each project rule can fail ---------------------------------------------


def _diagram(
    *,
    task: str = '<bpmn:serviceTask id="work" name="Work" camunda:type="external" camunda:topic="t">',
    task_end: str = "</bpmn:serviceTask>",
    process_attrs: str = 'camunda:historyTimeToLive="180"',
    with_di: bool = True,
) -> str:
    di = (
        """
  <bpmndi:BPMNDiagram id="Diagram_1">
    <bpmndi:BPMNPlane id="Plane_1" bpmnElement="p">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="work_di" bpmnElement="work"><dc:Bounds x="200" y="78" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118" /><di:waypoint x="200" y="118" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118" /><di:waypoint x="360" y="118" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>"""
        if with_di
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="defs" targetNamespace="http://example.org/test">
  <bpmn:process id="p" name="P" isExecutable="true" {process_attrs}>
    <bpmn:startEvent id="start" name="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {task}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    {task_end}
    <bpmn:endEvent id="end" name="End"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>{di}
</bpmn:definitions>
"""


def _lint_one(
    tmp_path: Path, xml: str, forms: dict[str, dict] | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "broken.bpmn").write_text(xml, encoding="utf-8")
    for name, schema in (forms or {}).items():
        (tmp_path / name).write_text(json.dumps(schema), encoding="utf-8")
    return run_lint(tmp_path)


def _form(form_id: str) -> dict:
    return {"id": form_id, "type": "default", "schemaVersion": 16, "components": []}


USER_TASK_OK = (
    '<bpmn:userTask id="work" name="Work" camunda:candidateGroups="g" '
    'camunda:formRef="f" camunda:formRefBinding="latest">'
)


def test_negative_baseline_passes(tmp_path: Path) -> None:
    """The template the negative tests break is itself clean, so each failure below is the rule's."""
    result = _lint_one(tmp_path, _diagram())
    assert result.returncode == 0, result.stdout + result.stderr
    result = _lint_one(
        tmp_path,
        _diagram(task=USER_TASK_OK, task_end="</bpmn:userTask>"),
        forms={"f.form": _form("f")},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _assert_fails(result: subprocess.CompletedProcess[str], rule: str, element: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    line = next((ln for ln in output.splitlines() if f"[{rule}]" in ln), None)
    assert line is not None, f"rule {rule} not reported:\n{output}"
    assert element in line and "error" in line, line


def test_external_task_without_topic_fails(tmp_path: Path) -> None:
    xml = _diagram(task='<bpmn:serviceTask id="work" name="Work" camunda:type="external">')
    _assert_fails(_lint_one(tmp_path, xml), "postloan/external-task-topic", "work")


def test_service_task_without_implementation_fails(tmp_path: Path) -> None:
    xml = _diagram(task='<bpmn:serviceTask id="work" name="Work">')
    _assert_fails(_lint_one(tmp_path, xml), "postloan/service-task-implementation", "work")


def test_user_task_without_assignee_or_candidates_fails(tmp_path: Path) -> None:
    xml = _diagram(task='<bpmn:userTask id="work" name="Work">', task_end="</bpmn:userTask>")
    _assert_fails(_lint_one(tmp_path, xml), "postloan/user-task-assignment", "work")


def test_form_ref_to_missing_form_fails(tmp_path: Path) -> None:
    xml = _diagram(task=USER_TASK_OK, task_end="</bpmn:userTask>")
    _assert_fails(_lint_one(tmp_path, xml), "postloan/form-ref-resolves", "work")


def test_form_ref_to_form_with_other_id_fails(tmp_path: Path) -> None:
    xml = _diagram(task=USER_TASK_OK, task_end="</bpmn:userTask>")
    result = _lint_one(tmp_path, xml, forms={"f.form": _form("something_else")})
    _assert_fails(result, "postloan/form-ref-resolves", "work")
    # and the form itself is reported for not matching its file name
    _assert_fails(result, "postloan/form-schema", "something_else")


def test_missing_di_fails(tmp_path: Path) -> None:
    _assert_fails(_lint_one(tmp_path, _diagram(with_di=False)), "postloan/complete-di", "defs")


def test_partially_missing_di_fails(tmp_path: Path) -> None:
    xml = re.sub(r'\s*<bpmndi:BPMNEdge id="f2_di".*?</bpmndi:BPMNEdge>', "", _diagram(), flags=re.S)
    _assert_fails(_lint_one(tmp_path, xml), "postloan/complete-di", "f2")


def test_missing_history_time_to_live_fails(tmp_path: Path) -> None:
    xml = _diagram(process_attrs="")
    _assert_fails(_lint_one(tmp_path, xml), "postloan/history-time-to-live", "p")


def test_decision_without_history_time_to_live_fails(tmp_path: Path) -> None:
    dmn = (BPMN_DIR / "risk_classification.dmn").read_text(encoding="utf-8")
    broken = dmn.replace(' camunda:historyTimeToLive="180"', "")
    assert broken != dmn
    (tmp_path / "broken.dmn").write_text(broken, encoding="utf-8")
    _assert_fails(run_lint(tmp_path), "postloan/dmn-history-time-to-live", "risk_classification")


def test_form_schema_too_new_for_tasklist_fails(tmp_path: Path) -> None:
    schema = _form("newer")
    schema["schemaVersion"] = 18
    (tmp_path / "newer.form").write_text(json.dumps(schema), encoding="utf-8")
    _assert_fails(run_lint(tmp_path), "postloan/form-schema", "newer")
