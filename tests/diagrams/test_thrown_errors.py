"""The BPMN error codes workers throw, per topic (lint/thrown-errors.json), and the lint rule
``postloan/thrown-errors-caught`` that checks each has a catcher in the diagrams."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.diagrams.test_lint import LINT_DIR, _assert_fails, _diagram, _lint_one, run_lint

sys.path.insert(0, str(LINT_DIR))
import thrown_errors  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_json_is_up_to_date_with_the_workers() -> None:
    """Fails when a worker throws (or stops throwing) a code and the JSON was not regenerated:
    run `.venv/bin/python lint/thrown_errors.py`."""
    generated = thrown_errors.render(thrown_errors.thrown_errors())
    assert thrown_errors.OUTPUT.read_text(encoding="utf-8") == generated
    assert thrown_errors.main(["--check"]) == 0


def test_every_registered_topic_is_listed() -> None:
    from workers.registry import all_handlers

    listed = json.loads(thrown_errors.OUTPUT.read_text(encoding="utf-8"))["topics"]
    assert set(listed) == set(all_handlers())


def _package(tmp_path: Path, modules: dict[str, str]) -> Path:
    package = tmp_path / "workers"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name, source in modules.items():
        (package / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return package


def test_codes_follow_helpers_within_and_across_modules(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "common": """
            def _item(x):
                if not x:
                    raise BusinessError("ITEM_NOT_FOUND", "gone")
                return _deeper(x)

            def _deeper(x):
                raise BusinessError("DEEPER", "x")
        """,
            "area": """
            from workers.common import _item
            from workers import common

            @router.topic("area.direct")
            def direct(x):
                raise BusinessError("DIRECT", "x")

            @router.topic("area.helper")
            def helper(x):
                return _item(x)

            @router.topic("area.module")
            def module(x):
                return common._deeper(x)

            @router.topic("area.failure-only")
            def failure_only(x):
                raise LookupError("not a business error")
        """,
        },
    )
    assert thrown_errors.thrown_errors(package) == {
        "area.direct": ["DIRECT"],
        "area.failure-only": [],
        "area.helper": ["DEEPER", "ITEM_NOT_FOUND"],
        "area.module": ["DEEPER"],
    }


def test_a_code_that_is_not_a_literal_is_refused(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "area": """
        @router.topic("area.dynamic")
        def dynamic(code):
            raise BusinessError(code, "which one?")
    """
        },
    )
    with pytest.raises(thrown_errors.AnalysisError, match="string literal"):
        thrown_errors.thrown_errors(package)


# --- the lint rule ----------------------------------------------------------------------------


def _thrown_by(topic: str) -> list[str]:
    return json.loads(thrown_errors.OUTPUT.read_text(encoding="utf-8"))["topics"][topic]


def test_fixture_with_an_uncaught_code_is_flagged() -> None:
    assert "LOAN_NOT_FOUND" in _thrown_by("inspection.load-context"), (
        "the fixture relies on load-context throwing LOAN_NOT_FOUND: pick another topic"
    )
    result = run_lint(FIXTURES / "uncaught_business_error.bpmn")
    _assert_fails(result, "postloan/thrown-errors-caught", "load_context")
    assert "LOAN_NOT_FOUND" in result.stdout
    assert " 1 error(s)" in result.stdout, result.stdout  # nothing else is wrong with it


_TASK = (
    '<bpmn:serviceTask id="work" name="Work" camunda:type="external" '
    'camunda:topic="inspection.load-context">'
)


def _with_boundary(error_ref: str, errors: str) -> str:
    xml = _diagram(task=_TASK)
    boundary = f"""
    <bpmn:boundaryEvent id="caught" name="Caught" attachedToRef="work">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:errorEventDefinition id="caught_def" {error_ref} />
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end2" name="Handled"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="caught" targetRef="end2" />
  </bpmn:process>{errors}"""
    di = """
      <bpmndi:BPMNShape id="caught_di" bpmnElement="caught"><dc:Bounds x="232" y="140" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end2_di" bpmnElement="end2"><dc:Bounds x="360" y="200" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3"><di:waypoint x="250" y="176" /><di:waypoint x="250" y="218" /><di:waypoint x="360" y="218" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>"""
    return xml.replace("  </bpmn:process>", boundary, 1).replace("    </bpmndi:BPMNPlane>", di, 1)


def test_task_without_any_catcher_is_flagged(tmp_path: Path) -> None:
    _assert_fails(
        _lint_one(tmp_path, _diagram(task=_TASK)), "postloan/thrown-errors-caught", "work"
    )


def test_boundary_event_with_the_code_passes(tmp_path: Path) -> None:
    xml = _with_boundary(
        'errorRef="e1"',
        '\n  <bpmn:error id="e1" name="Loan not found" errorCode="LOAN_NOT_FOUND" />',
    )
    result = _lint_one(tmp_path, xml)
    assert result.returncode == 0, result.stdout + result.stderr


def test_catch_all_boundary_event_passes(tmp_path: Path) -> None:
    result = _lint_one(tmp_path, _with_boundary("", ""))
    assert result.returncode == 0, result.stdout + result.stderr


def test_boundary_event_with_another_code_is_flagged(tmp_path: Path) -> None:
    xml = _with_boundary(
        'errorRef="e1"', '\n  <bpmn:error id="e1" name="Other" errorCode="OTHER" />'
    )
    _assert_fails(_lint_one(tmp_path, xml), "postloan/thrown-errors-caught", "work")
