"""End to end: the README's "Try it" runs as written against a fresh ``postloanctl up``.

Every ```sh block of the section is run with bash, in order (variables it sets, like ``H``,
carry to the next blocks); where a ```json block follows it, that is the response the README
shows and the real one must match it: "…" stands for what the README leaves out, dates and
timestamps may differ (the example works on any date), whitespace is layout. The README's
``localhost:8000`` (API) and ``localhost:8080`` (engine) become this stack's free ports.
The run takes several minutes on a loaded machine (marked ``e2e`` and ``engine``); the\ncheck of the parser and the matcher is in the fast tier.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.ops.upstack import up_stack

README = Path(__file__).resolve().parent.parent.parent / "README.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def try_it_steps(text: str) -> list[tuple[str, str | None]]:
    """(commands, shown response or None) for each ```sh block of "## Try it", in order."""
    section = text.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    blocks = [(lang, body) for lang, body in BLOCK.findall(section)]
    steps: list[tuple[str, str | None]] = []
    for i, (lang, body) in enumerate(blocks):
        if lang != "sh":
            continue
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        steps.append((body, after[1] if after and after[0] == "json" else None))
    return steps


def normal(text: str) -> str:
    return re.sub(r"\s+", "", DATE.sub("<date>", text))


def matches(shown: str, real: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in normal(shown).split("…"))
    return re.fullmatch(pattern, normal(real), re.S) is not None


def test_the_readme_parser_and_matcher_hold_what_they_claim() -> None:
    steps = try_it_steps(README.read_text(encoding="utf-8"))
    assert len(steps) >= 5 and sum(shown is not None for _, shown in steps) >= 5, steps
    assert matches('{"id": "C9001", …}', '{"id":"C9001","name":"Wuxi"}')
    assert matches('{"due_on": "2026-01-05"}', '{"due_on": "2031-07-30"}')
    assert not matches('{"id": "C9001", …}', '{"id":"C9002","name":"Wuxi"}')
    assert not matches('{"status": 201}', '{"status": 409}')


@pytest.mark.e2e
@pytest.mark.engine
def test_try_it_runs_as_the_readme_shows(tmp_path: Path) -> None:
    steps = try_it_steps(README.read_text(encoding="utf-8"))
    with up_stack(tmp_path) as stack:
        stack.start()
        ports = {
            "localhost:8000": f"127.0.0.1:{stack.api_port}",
            "localhost:8080": f"127.0.0.1:{stack.engine_port}",
        }
        prelude: list[str] = []
        for number, (commands, shown) in enumerate(steps, start=1):
            for readme, real in ports.items():
                commands = commands.replace(readme, real)
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", "\n".join([*prelude, commands])],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert run.returncode == 0, (number, commands, run.stdout, run.stderr)
            if shown is not None:
                assert matches(shown, run.stdout), (
                    f"step {number} of the README's Try it:\n{commands}\n"
                    f"README shows:\n{shown}\nreal response:\n{run.stdout}"
                )
            prelude += [line for line in commands.splitlines() if ASSIGNMENT.match(line)]
