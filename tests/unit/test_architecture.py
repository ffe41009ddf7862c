"""The layers of docs/architecture.md, checked on the source's syntax trees (not its text).

- ``postloan/`` (domain core and application layer) imports no adapter: not ``gateway``,
  ``api``, ``workers``, fastapi, requests or pycamunda.
- A route (``api/*.py`` except the wiring ``deps``/``main``) or a worker handler module
  (``workers/*.py`` except the entry point ``__main__`` and the wiring ``registry``/``support``)
  neither imports a gateway module nor calls ``.commit()`` / ``.rollback()``: the use case owns
  the transaction and reaches the engine through the application's ports.

``DEBT`` lists what still breaks the second rule, each with the use case it waits for; the
list may only shrink (an entry that no longer breaks it fails the test too).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = ("gateway", "api", "workers", "fastapi", "requests", "pycamunda")
WIRING = {
    "api/deps.py",
    "api/main.py",
    "workers/__main__.py",
    "workers/registry.py",
    "workers/support.py",
}

#: (module, what) still to move into postloan/application: none left; keep it empty.
DEBT: set[tuple[str, str]] = set()


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _transaction_calls(tree: ast.AST) -> set[str]:
    return {
        f".{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    }


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def violations_of_adapters(root: Path = ROOT) -> set[tuple[str, str]]:
    found = set()
    for folder in ("api", "workers"):
        for path in sorted((root / folder).glob("*.py")):
            name = path.relative_to(root).as_posix()
            if name in WIRING or path.name == "__init__.py":
                continue
            tree = _tree(path)
            if any(m == "gateway" or m.startswith("gateway.") for m in _imports(tree)):
                found.add((name, "import gateway"))
            for call in _transaction_calls(tree):
                found.add((name, ".commit()" if call == ".commit()" else ".rollback()"))
    return found


def test_the_domain_core_and_the_application_layer_import_no_adapter():
    bad = []
    for path in sorted((ROOT / "postloan").rglob("*.py")):
        for module in _imports(_tree(path)):
            if module.split(".")[0] in FORBIDDEN_IN_CORE:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert bad == []


def test_routes_and_handlers_neither_import_gateway_nor_end_transactions():
    found = violations_of_adapters()
    assert found - DEBT == set(), "new breaches of the layers (see docs/architecture.md)"
    assert DEBT - found == set(), "paid off: remove these from DEBT"


def test_the_check_sees_an_import_and_a_commit(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "workers").mkdir()
    (tmp_path / "api" / "loans.py").write_text(
        "from gateway import processes\n\ndef route(session):\n    session.commit()\n"
    )
    (tmp_path / "workers" / "credit.py").write_text(
        "import gateway.engine\n\ndef handler(s):\n    s.rollback()\n"
    )
    (tmp_path / "workers" / "clean.py").write_text(
        "# session.commit() in a comment is no call\ntext = 'import gateway'\n"
    )
    assert violations_of_adapters(tmp_path) == {
        ("api/loans.py", "import gateway"),
        ("api/loans.py", ".commit()"),
        ("workers/credit.py", "import gateway"),
        ("workers/credit.py", ".rollback()"),
    }
