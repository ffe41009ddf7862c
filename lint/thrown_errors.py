"""The BPMN error codes each external-task topic can throw, read from the workers' source.

    .venv/bin/python lint/thrown_errors.py           # writes lint/thrown-errors.json
    .venv/bin/python lint/thrown_errors.py --check   # exit 1 when the file is stale

The diagram lint (rule ``postloan/thrown-errors-caught``) reads the JSON and reports a task whose
topic can throw a code no error event catches. The source is read, not imported: a handler
registered with ``@<router>.topic("...")`` throws every ``raise BusinessError("CODE", ...)`` in
its own body and in the functions of ``workers`` it calls (module functions, directly or through
``from workers.x import f`` / ``from workers import x``), transitively. A code that is not a
string literal cannot be checked and is refused.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = ROOT / "workers"
OUTPUT = Path(__file__).resolve().parent / "thrown-errors.json"
ERROR_CLASS = "BusinessError"

FuncRef = tuple[str, str]  # (module, function name)


class AnalysisError(Exception):
    """The source throws a BPMN error the analysis cannot name."""


@dataclass
class _Function:
    raises: set[str] = field(default_factory=set)
    calls: set[FuncRef] = field(default_factory=set)


def _topic_of(node: ast.FunctionDef) -> str | None:
    for decorator in node.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "topic"
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
            and isinstance(decorator.args[0].value, str)
        ):
            return decorator.args[0].value
    return None


def _is_error_class(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == ERROR_CLASS) or (
        isinstance(func, ast.Attribute) and func.attr == ERROR_CLASS
    )


def _module_name(path: Path, package_root: Path) -> str:
    parts = path.relative_to(package_root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _analyse_module(
    path: Path,
    module: str,
    package: str,
    functions: dict[FuncRef, _Function],
    topics: dict[str, FuncRef],
) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    local = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    imported: dict[str, FuncRef] = {}  # name -> (module, function)
    modules: dict[str, str] = {}  # alias -> module
    for node in tree.body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and (node.module == package or node.module.startswith(package + "."))
        ):
            for alias in node.names:
                name = alias.asname or alias.name
                imported[name] = (node.module, alias.name)
                modules[name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(package + ".") and alias.asname:
                    modules[alias.asname] = alias.name

    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        info = functions.setdefault((module, node.name), _Function())
        topic = _topic_of(node) if isinstance(node, ast.FunctionDef) else None
        if topic is not None:
            topics[topic] = (module, node.name)
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Raise)
                and isinstance(inner.exc, ast.Call)
                and (_is_error_class(inner.exc.func))
            ):
                args = inner.exc.args
                if not args or not (
                    isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)
                ):
                    raise AnalysisError(
                        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:"
                        f"{inner.lineno}: the code of {ERROR_CLASS} must be a string literal, "
                        "or the lint cannot check that a diagram catches it"
                    )
                info.raises.add(args[0].value)
            elif isinstance(inner, ast.Call):
                func = inner.func
                if isinstance(func, ast.Name):
                    if func.id in local:
                        info.calls.add((module, func.id))
                    elif func.id in imported:
                        info.calls.add(imported[func.id])
                elif (
                    isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.value.id in modules
                ):
                    info.calls.add((modules[func.value.id], func.attr))


def thrown_errors(package_root: Path = WORKERS) -> dict[str, list[str]]:
    """Topic -> sorted error codes its handler can throw (every topic, codes or none)."""
    package = package_root.name
    functions: dict[FuncRef, _Function] = {}
    topics: dict[str, FuncRef] = {}
    for path in sorted(package_root.rglob("*.py")):
        _analyse_module(path, _module_name(path, package_root), package, functions, topics)

    def codes(ref: FuncRef, seen: set[FuncRef]) -> set[str]:
        if ref in seen or ref not in functions:
            return set()
        seen.add(ref)
        found = set(functions[ref].raises)
        for callee in functions[ref].calls:
            found |= codes(callee, seen)
        return found

    return {topic: sorted(codes(ref, set())) for topic, ref in sorted(topics.items())}


def render(topics: dict[str, list[str]]) -> str:
    document = {
        "generated_by": "lint/thrown_errors.py from workers/ (do not edit; run it again)",
        "topics": topics,
    }
    return json.dumps(document, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the JSON is stale")
    args = parser.parse_args(argv)
    text = render(thrown_errors())
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(
                f"{OUTPUT.relative_to(ROOT)} is stale: run .venv/bin/python lint/thrown_errors.py",
                file=sys.stderr,
            )
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
