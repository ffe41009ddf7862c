"""Decision tables (DMN) evaluated in Python, for work too large for one engine call per item.

The engine evaluates the same tables in the processes (business rule tasks); the portfolio scan
evaluates them here, row by row for hundreds of thousands of loans, from the XML the engine has
deployed. Only what the project's tables use is supported — input entries made of simple unary
tests (``-``, literals, ``< 5``, ``[1..90]``, lists, ``not(...)``) and literal outputs — and
anything else is refused when the table is loaded, never silently mis-evaluated. A test keeps the
two evaluations in agreement on every rule of every table.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Test = Callable[[Any], bool]


class UnsupportedExpression(ValueError):
    """A DMN expression outside the supported subset (use the engine for that table)."""


@dataclass(frozen=True)
class Rule:
    rule_id: str
    tests: tuple[Test, ...]
    outputs: dict[str, Any]


@dataclass(frozen=True)
class DecisionTable:
    key: str
    hit_policy: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    rules: tuple[Rule, ...]

    def evaluate(self, variables: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The outputs of the matching rules, as the table's hit policy selects them."""
        values = [_lookup(variables, expr) for expr in self.inputs]
        matched = [r for r in self.rules if all(t(v) for t, v in zip(r.tests, values, strict=True))]
        if self.hit_policy == "FIRST":
            matched = matched[:1]
        elif self.hit_policy in ("UNIQUE", "ANY") and len(matched) > 1:
            if self.hit_policy == "UNIQUE":
                ids = ", ".join(r.rule_id for r in matched)
                raise ValueError(f"decision {self.key}: several rules match ({ids}) under UNIQUE")
            matched = matched[:1]
        return [dict(r.outputs) for r in matched]

    def single(self, variables: Mapping[str, Any]) -> dict[str, Any] | None:
        results = self.evaluate(variables)
        return results[0] if results else None


def _lookup(variables: Mapping[str, Any], expression: str) -> Any:
    value: Any = variables
    for part in expression.strip().split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(node: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in node if _local(c.tag) == name]


def _text(node: ET.Element | None) -> str:
    if node is None:
        return ""
    found = [c for c in node if _local(c.tag) == "text"]
    return (found[0].text or "").strip() if found else ""


_LITERAL_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def literal(text: str) -> Any:
    """A FEEL literal: string, number, boolean or null."""
    text = text.strip()
    if (m := _LITERAL_STRING.match(text)) is not None:
        return m.group(1).replace('\\"', '"')
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", ""):
        return None
    raise UnsupportedExpression(f"not a literal: {text!r}")


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth, in_string = 0, False
    for ch in text:
        if ch == '"':
            in_string = not in_string
        if not in_string:
            if ch in "([":
                depth += 1
            elif ch in ")]" and depth:
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append("".join(current))
                current = []
                continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


_RANGE = re.compile(r"^([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])$")
_COMPARISON = re.compile(r"^(<=|>=|<|>)\s*(.+)$")


def unary_tests(text: str) -> Test:
    """Compile an input entry (unary tests) into a predicate."""
    text = text.strip()
    if text in ("", "-"):
        return lambda _v: True
    if text.startswith("not(") and text.endswith(")"):
        inner = unary_tests(text[4:-1])
        return lambda v: v is not None and not inner(v)
    parts = _split_top_level(text)
    if len(parts) > 1:
        tests = [unary_tests(p) for p in parts]
        return lambda v: any(t(v) for t in tests)
    if (m := _RANGE.match(text)) is not None:
        low, high = literal(m.group(2)), literal(m.group(3))
        low_open, high_open = m.group(1) in "](", m.group(4) in "[)"

        def in_range(v: Any) -> bool:
            if v is None:
                return False
            above = v > low if low_open else v >= low
            below = v < high if high_open else v <= high
            return bool(above and below)

        return in_range
    if (m := _COMPARISON.match(text)) is not None:
        op, bound = m.group(1), literal(m.group(2))
        compare = {
            "<": lambda v: v < bound,
            "<=": lambda v: v <= bound,
            ">": lambda v: v > bound,
            ">=": lambda v: v >= bound,
        }[op]
        return lambda v: v is not None and bool(compare(v))
    value = literal(text)
    return lambda v: v == value


def load_tables(xml: str | bytes) -> dict[str, DecisionTable]:
    """Every decision table of a DMN document, by decision id (its key in the engine)."""
    root = ET.fromstring(xml)
    tables: dict[str, DecisionTable] = {}
    for decision in _children(root, "decision"):
        found = _children(decision, "decisionTable")
        if not found:
            raise UnsupportedExpression(f"decision {decision.get('id')} is not a decision table")
        table = found[0]
        inputs = tuple(_text(_children(i, "inputExpression")[0]) for i in _children(table, "input"))
        for expr in inputs:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", expr):
                raise UnsupportedExpression(f"input expression {expr!r} is not a variable")
        outputs = tuple(o.get("name") or "" for o in _children(table, "output"))
        rules = []
        for rule in _children(table, "rule"):
            entries = [_text(e) for e in _children(rule, "inputEntry")]
            values = [literal(_text(e)) for e in _children(rule, "outputEntry")]
            rules.append(
                Rule(
                    rule.get("id") or "",
                    tuple(unary_tests(e) for e in entries),
                    dict(zip(outputs, values, strict=True)),
                )
            )
        tables[decision.get("id") or ""] = DecisionTable(
            key=decision.get("id") or "",
            hit_policy=table.get("hitPolicy", "UNIQUE"),
            inputs=inputs,
            outputs=outputs,
            rules=tuple(rules),
        )
    return tables
