"""``make bench``: every side-by-side benchmark of the system in one command, then one table of
each measured ratio against its target.

Each benchmark is a script of its own (run alone for its details) that compares in the same run,
so the machine's noise cancels out, and writes its numbers as JSON with a ``targets`` list of
``{"name", "value", "target", "ok"}``. This runs them one after the other (never two at once: they
would measure each other), prints each one's output as it goes, then the summary, and writes it to
``var/bench/summary.json``.

    .venv/bin/python benchmarks/bench.py [--quick] [--only workers_side_by_side,api_latency]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"

#: name -> extra arguments of a full run (the script's own defaults are the issue's sizes)
BENCHMARKS: dict[str, list[str]] = {
    "workers_side_by_side": [],
    "engine_fetch": [],
    "inspection_path": [],
    "campaign": [],
    "api_latency": ["--db", "both"],
}


def _machine() -> dict[str, object]:
    try:
        import os

        cores = os.cpu_count()
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration, ValueError):  # pragma: no cover - not Linux
        cores, mem_kb = None, 0
    return {
        "cores": cores,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def run(names: list[str], quick: bool) -> dict[str, object]:
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    for name in names:
        script = ROOT / "benchmarks" / f"{name}.py"
        out = OUT / f"{name}.json"
        out.unlink(missing_ok=True)
        args = [sys.executable, str(script), "--json", str(out), *BENCHMARKS[name]]
        if quick:
            args.append("--quick")
        print(f"\n=== {name}: {' '.join(args[1:])}", flush=True)
        t0 = time.monotonic()
        rc = subprocess.call(args, cwd=ROOT)
        took = time.monotonic() - t0
        data = json.loads(out.read_text()) if out.exists() else {}
        results[name] = {"rc": rc, "seconds": round(took, 1), "targets": data.get("targets", [])}
    return results


def summary_lines(results: dict[str, object]) -> list[str]:
    rows = [("benchmark", "measure", "value", "target", "")]
    for name, result in results.items():
        assert isinstance(result, dict)
        if result["rc"] != 0 or not result["targets"]:
            rows.append((name, f"FAILED (exit {result['rc']})", "", "", "✗"))
            continue
        for t in result["targets"]:
            value = t["value"]
            shown = f"{value:.3g}" if isinstance(value, float) else str(value)
            rows.append((name, t["name"], shown, str(t["target"]), "✓" if t["ok"] else "✗"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    started = datetime.now(UTC)
    results = run(names, args.quick)
    lines = summary_lines(results)
    print("\n" + "\n".join(lines))
    summary = {
        "started": started.isoformat(),
        "machine": _machine(),
        "quick": args.quick,
        "results": results,
    }
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nwritten: {OUT / 'summary.json'}")
    failed = [n for n, r in results.items() if isinstance(r, dict) and r["rc"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
