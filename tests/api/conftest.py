"""The fuzz module is not even collected when ``-m`` leaves out the engine tier.

Collecting ``test_fuzz.py`` is what costs: Schemathesis reads the OpenAPI document and builds every
operation's coverage cases then (seconds), and the whole module is ``engine``-marked, so a run whose
marker expression deselects every ``engine`` test (the fast tier's ``not engine and ...``) would
throw it all away. Any expression that could select an ``engine``-marked test still collects it.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

SKIPPABLE = "test_fuzz.py"
_NAME = re.compile(r"[\w:+.\[\]\\/-]+")
_CALL = re.compile(r"([\w:+.\[\]\\/-]+)\s*\(")  # ``name(key=value)`` is left to pytest


def deselects_every(marker: str, markexpr: str) -> bool:
    """True when no test carrying ``marker`` can match ``markexpr``, whatever its other markers."""
    if not markexpr or set(_CALL.findall(markexpr)) - {"and", "or", "not"}:
        return False
    try:
        expression = Expression.compile(markexpr)
    except Exception:
        return False  # pytest reports it
    others = sorted(set(_NAME.findall(markexpr)) - {"and", "or", "not", marker})
    if len(others) > 12:
        return False
    for values in itertools.product((False, True), repeat=len(others)):
        present = {marker: True, **dict(zip(others, values, strict=True))}
        if expression.evaluate(lambda name, present=present, **_: present.get(name, False)):
            return False
    return True


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name == SKIPPABLE and deselects_every("engine", config.option.markexpr):
        return True
    return None
