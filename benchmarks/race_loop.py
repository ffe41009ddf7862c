"""Race loop: run one engine test many times in a row and count passes and failures.

A flaky engine test is a race in a diagram (issue 9 part 4); this script shows whether it is closed.
One pytest session parametrizes the test ``--count`` times (this file is also the pytest plugin
that does it, enabled by ``POSTLOAN_RACE_LOOP_COUNT``), so one engine and one worker process serve
every round, one after another.

    .venv/bin/python benchmarks/race_loop.py [--count 20] [TEST_NODE_ID]

Not a CI test: it takes a few minutes (engine start-up plus ``count`` runs of the test).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEST = (
    "tests/rectification/test_rectification_flow.py::"
    "test_past_dates_escalate_at_once_and_a_kept_restriction_stays"
)
COUNT_ENV = "POSTLOAN_RACE_LOOP_COUNT"


# -- pytest plugin (loaded with ``-p race_loop`` by main) --------------------------------------


def pytest_generate_tests(metafunc):  # noqa: ANN001, ANN201 — pytest hook
    count = int(os.environ.get(COUNT_ENV, "0") or 0)
    if count > 1:
        # The same trick as pytest-repeat: a parametrized fixture the test does not name.
        metafunc.fixturenames.append("race_round")
        metafunc.parametrize(
            "race_round",
            range(1, count + 1),
            ids=[f"round{i:02d}" for i in range(1, count + 1)],
            indirect=True,
        )


@pytest.fixture
def race_round(request):  # noqa: ANN001, ANN201
    """The round number; a fixture so each round is its own test item with fresh fixtures."""
    return request.param


# -- script ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("test", nargs="?", default=DEFAULT_TEST, help="pytest node id")
    parser.add_argument("--count", type=int, default=20, help="rounds in one session")
    args = parser.parse_args()

    report = Path(tempfile.mkdtemp(prefix="postloan-race-")) / "rounds.xml"
    env = {
        **os.environ,
        COUNT_ENV: str(args.count),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "race_loop",
        "-q",
        f"--junitxml={report}",
        args.test,
    ]
    print("running:", " ".join(command), f"({COUNT_ENV}={args.count})", flush=True)
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started

    passed, failed, errors = [], [], []
    if report.exists():
        for case in ET.parse(report).iter("testcase"):
            name = case.get("name", "")
            seconds = float(case.get("time", 0))
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            skipped = case.find("skipped")
            if problem is not None:
                (failed if problem.tag == "failure" else errors).append(
                    (name, seconds, (problem.get("message") or "")[:300])
                )
            elif skipped is None:
                passed.append((name, seconds))
    for name, seconds in passed:
        print(f"  pass  {name}  {seconds:6.1f} s")
    for name, seconds, message in failed + errors:
        print(f"  FAIL  {name}  {seconds:6.1f} s  {message}")
    total = len(passed) + len(failed) + len(errors)
    print(
        f"{args.test}: {len(passed)} passed, {len(failed)} failed, {len(errors)} errors "
        f"of {total} rounds (asked {args.count}) in {elapsed:.0f} s; "
        f"pytest exit {proc.returncode}"
    )
    if total != args.count:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
    return 0 if len(passed) == args.count else 1


if __name__ == "__main__":
    raise SystemExit(main())
